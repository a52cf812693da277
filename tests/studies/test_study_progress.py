"""A study's progress lines: one per run start and end, counted in plan order, with an estimate."""

import re

from kd_testing import CAPACITY_GAP_GIN, KD_ONLY, TINY_STUDY, run_experiment

from kd_efficacy.studies.study_progress import StudyProgress


def _lines(text):
    return [line for line in text.splitlines() if re.match(r"\[kd_efficacy\] \[\d+/\d+\] ", line)]


def test_study_prints_start_and_end_lines_and_a_rerun_prints_skipped(tmp_path, capsys):
    study = tmp_path / "gap"
    run_experiment([CAPACITY_GAP_GIN], TINY_STUDY + [KD_ONLY], study)
    lines = _lines(capsys.readouterr().out)
    ends = [line for line in lines if ": done in " in line]
    assert len(ends) == 3 and sum(": training" in line for line in lines) == 3
    assert all(re.search(r"val acc \d\.\d\d \(test \d\.\d\d\)", line) for line in ends)
    assert ends[0].startswith("[kd_efficacy] [1/3] ") and "2 runs left, about " in ends[0]
    assert ends[-1].startswith("[kd_efficacy] [3/3] ") and ends[-1].endswith("0 runs left")

    run_experiment([CAPACITY_GAP_GIN], TINY_STUDY + [KD_ONLY], study)
    lines = _lines(capsys.readouterr().out)
    assert len(lines) == 3 and all("skipped (already complete)" in line for line in lines)
    assert lines[0].endswith("2 runs left, estimate pending")


def test_resumed_failed_and_blocked_lines(tmp_path, capsys):
    progress = StudyProgress(["teacher/a", "kd/b", "kd/c"])
    progress.start("teacher/a", finished_epochs=3)
    progress.ended("teacher/a", "failed", str(tmp_path))
    progress.ended("kd/b", "blocked", str(tmp_path))
    progress.ended("other/run", "not_run", str(tmp_path))  # not this process's: no line
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[kd_efficacy] [1/3] teacher/a: resuming after epoch 3"
    assert re.fullmatch(
        r".*\[1/3\] teacher/a: failed after \d+ s; 2 runs left, estimate pending", lines[1]
    )
    assert lines[2].endswith(
        "[2/3] kd/b: blocked (a teacher it needs did not train); 1 run left, estimate pending"
    )
    assert len(lines) == 3


def test_a_run_another_process_held_and_finished_is_done_there(tmp_path, capsys):
    progress = StudyProgress(["teacher/a", "kd/b"])
    progress.start("teacher/a", finished_epochs=0)
    progress.held("teacher/a")
    progress.ended("teacher/a", "skipped", str(tmp_path))  # complete when seen again
    progress.ended("kd/b", "skipped", str(tmp_path))  # complete before this process started
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("teacher/a: held by another process; trying again later")
    assert (
        lines[2]
        == "[kd_efficacy] [1/2] teacher/a: done by another process; 1 run left, estimate pending"
    )
    assert lines[3].endswith("[2/2] kd/b: skipped (already complete); 0 runs left")
