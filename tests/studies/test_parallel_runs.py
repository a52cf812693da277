"""``parallel_runs.processes``: a study's command starts helper processes that share its runs.

End to end through the CLI: the same tiny study trained one run at a time and by two processes
(the command and one helper) gives bit-identical results, each run trained once, one report, a
helper log and no study-level file written twice. Then the decisions of ``helper_count``: how
many helpers, and the hosts and uses where more than one process is refused.
"""

import collections
import json
import signal
import subprocess
import sys
import time

import gin
import pytest
import tensorflow as tf
from kd_testing import (
    CAPACITY_GAP_GIN,
    KD_ONLY,
    TINY_RUN,
    TINY_STUDY,
    assert_cli_ok,
    assert_study_contract,
    last_line,
    run_cli,
    start_cli,
)

from kd_efficacy import atomic_io, run_dir, run_lock
from kd_efficacy.context import RunContext
from kd_efficacy.errors import EXIT_PREEMPTED, ConfigError
from kd_efficacy.studies import parallel_runs, plan

STUDY = [*TINY_RUN, *TINY_STUDY, KD_ONLY, "TEACHERS = ['resnet8', 'resnet14']"]


def _results(study):
    return {
        str(p.parent.relative_to(study / run_dir.RUNS_DIR)): json.loads(p.read_text())
        for p in study.glob(f"{run_dir.RUNS_DIR}/**/{run_dir.RESULT_JSON}")
    }


def _timeless(values):
    return {k: v for k, v in values.items() if "seconds" not in k}


def test_two_processes_train_each_run_once_bit_identical_to_one(tmp_path):
    alone, shared = tmp_path / "alone", tmp_path / "shared"
    assert_cli_ok(run_cli(CAPACITY_GAP_GIN, STUDY, alone))
    done = assert_cli_ok(run_cli(CAPACITY_GAP_GIN, [*STUDY, "parallel_runs.processes = 2"], shared))

    assert "1 helper process(es) share this study" in done.stdout
    assert "a helper exited" not in done.stdout  # the helper ended with status 0
    helper_log = (shared / run_dir.HELPER_LOGS_DIR / "helper_1.log").read_text()
    assert "teacher/resnet8_s0" in helper_log  # the helper planned the same study
    assert "study done" not in helper_log  # ... and left the report to the study's process
    log = atomic_io.read_json_lines(shared / run_dir.STUDY_LOG)
    trained = sorted(e["run"] for e in log if e["action"] == "trained")
    expected, got = _results(alone), _results(shared)
    assert trained == sorted(expected) == sorted(got)  # each run trained once, by one process
    for name, result in expected.items():
        for block in ("test", "last", "best"):  # every value but the wall times
            assert _timeless(got[name][block]) == _timeless(result[block]), (name, block)
    assert sorted(assert_study_contract(shared)) == sorted(expected)


@pytest.fixture
def processes():
    """Binds ``parallel_runs.processes`` for a test; the recorded command line is restored."""
    saved = parallel_runs._command

    def bind(n, command=("--gin_file=x.gin",)):
        gin.bind_parameter("parallel_runs.processes", n)
        parallel_runs._command = None if command is None else list(command)

    yield bind
    gin.clear_config()
    parallel_runs._command = saved


def test_helper_count_is_processes_minus_one_capped_by_the_runs_to_train(processes, monkeypatch):
    ctx = RunContext(model_dir="unused")
    processes(1)
    assert parallel_runs.helper_count(ctx, 9) == 0
    processes(3)
    assert parallel_runs.helper_count(ctx, 9) == 2
    assert parallel_runs.helper_count(ctx, 2) == 1  # one run for each process, no idle helper
    assert parallel_runs.helper_count(ctx, 0) == 0  # a complete study starts nobody
    assert parallel_runs.helper_count(ctx, 1) == 0  # ... nor does one run left
    assert parallel_runs.helper_count(RunContext(model_dir="unused", only_run="a"), 9) == 0
    monkeypatch.setenv(parallel_runs.HELPER_ENV, "1")
    assert parallel_runs.helper_count(ctx, 9) == 0  # a helper starts no helpers of its own


def test_helpers_are_counted_by_fits_a_pack_being_one():
    run = collections.namedtuple("Run", "name")
    b, c = run("b"), run("c")
    packs = {"b": [b, c], "c": [b, c]}  # packing.groups' shape: b and c train in one fit
    assert plan._fits(packs, ["a", "b", "c", "d"]) == 3
    assert plan._fits(packs, ["b", "c"]) == 1  # one pack left: no helper starts
    assert plan._fits(packs, ["c", "d"]) == 2  # a pack's remaining member, one fit


def test_more_than_one_process_is_refused_where_it_cannot_work(processes, monkeypatch):
    ctx = RunContext(model_dir="unused")
    processes(2, command=None)  # the study called from Python, not from the command line
    with pytest.raises(ConfigError, match="run the study with python -m kd_efficacy.run"):
        parallel_runs.helper_count(ctx, 9)
    processes(2)
    real = tf.config.list_physical_devices
    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind=None: ["gpu"] if kind == "GPU" else real()
    )
    with pytest.raises(ConfigError, match="--launcher=ray"):
        parallel_runs.helper_count(ctx, 9)
    assert parallel_runs.helper_count(ctx, 0) == 0  # nothing to share: nothing refused


@pytest.mark.slow  # ~1 min; the stop path is the lone study's (test_preemption) plus stop()
def test_a_preempted_study_stops_its_helpers_and_the_same_command_resumes(tmp_path):
    study = tmp_path / "study"
    bindings = [*STUDY, "EPOCHS = 6", "parallel_runs.processes = 2"]
    proc = start_cli(CAPACITY_GAP_GIN, bindings, study, stderr=subprocess.PIPE)
    helper_log = study / run_dir.HELPER_LOGS_DIR / "helper_1.log"
    deadline = time.time() + 300
    while time.time() < deadline and ": training" not in _text(helper_log):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=400)
    assert proc.returncode == EXIT_PREEMPTED, stderr[-3000:]
    assert "preempted" in last_line(stderr)
    # The helper was stopped too: it says so last, and no run is left leased to a live process.
    assert "preempted" in _text(helper_log).strip().splitlines()[-1]
    runs = [p.parent for p in study.glob(f"{run_dir.RUNS_DIR}/**/{run_dir.PLANNED_JSON}")]
    assert runs and all(run_lock.holder(r) is None for r in runs)
    assert not (study / run_dir.REPORT_MD).exists()
    assert_cli_ok(run_cli(CAPACITY_GAP_GIN, bindings, study, timeout=600))
    assert_study_contract(study)


def _text(path):
    return path.read_text() if path.exists() else ""


_HELPER = """
import sys, time
from kd_efficacy import preemption
from kd_efficacy.studies import parallel_runs
with preemption.stop_on_sigterm():
    parallel_runs.watch_parent()
    open(sys.argv[1] + ".ready", "w").close()
    try:
        time.sleep(300)
    except preemption.Preempted as e:
        open(sys.argv[1], "w").write(str(e))
"""

_STUDY_PROCESS = """
import os, subprocess, sys, time
from kd_efficacy.studies import parallel_runs
env = {**os.environ, parallel_runs.HELPER_ENV: "1", parallel_runs.PARENT_ENV: str(os.getpid())}
subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], env=env)
time.sleep(300)
"""


def test_a_helper_stops_as_preempted_when_its_study_process_is_killed(tmp_path):
    stopped = tmp_path / "stopped"
    parent = subprocess.Popen([sys.executable, "-c", _STUDY_PROCESS, _HELPER, str(stopped)])
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (tmp_path / "stopped.ready").exists():
            time.sleep(0.1)
        assert (tmp_path / "stopped.ready").exists()
        assert not stopped.exists()
        parent.kill()  # SIGKILL: nothing is passed on to the helper
        parent.wait()
        deadline = time.time() + 60
        while time.time() < deadline and not stopped.exists():
            time.sleep(0.1)
        assert stopped.read_text() == "received SIGTERM"
    finally:
        parent.kill()
