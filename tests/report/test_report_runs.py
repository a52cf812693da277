"""Reports from tiny real runs: figures, mimicry metrics, TensorBoard scalars and HParams, rebuild.

One early-stopping study (digits, 2 epochs, 128 examples, batch 32; one teacher, one seed, one
early teacher snapshot, one ESKD point: 5 runs) is shared by every test of this module, and by the
study test of tests/studies/test_studies.py (``early_stopping_study`` in conftest.py).
"""

import glob
import os
import shutil

import pytest
import tensorflow as tf
from tensorboard.plugins.hparams import metadata as hparams_metadata

from kd_efficacy import atomic_io, hparams_logging, run_dir
from kd_efficacy.report import __main__ as report_main
from kd_efficacy.report import summary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = (
    "capacity_gap_kd",
    "capacity_gap_eskd_1",
    "capacity_gap_teacher_epoch_1",
    "curves_kd",
    "curves_eskd_1",
    "curves_teacher_epoch_1",
    "kd_vs_eskd",
    "teacher_epoch",
)


@pytest.fixture(scope="module")
def study(early_stopping_study):  # conftest.py: shared with tests/studies/test_studies.py
    return early_stopping_study


def _events(directory):
    """{tag: [(step, value tensor, metadata)]} from the event files directly in ``directory``."""
    found = {}
    for path in glob.glob(os.path.join(directory, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                found.setdefault(value.tag, []).append((event.step, value.tensor, value.metadata))
    return found


def test_figures_are_real_pngs_embedded_in_the_report(study):
    report = (study / "report.md").read_text()
    for name in FIGURES:
        path = study / "figures" / f"{name}.png"
        assert path.exists(), name
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 10_000, name
        assert f"](figures/{name}.png)" in report, name
    for heading in ("## What ran", "## Teachers", "## Students: test accuracy by teacher"):
        assert heading in report
    assert "config.gin" in report and "sha256" in report and "CPU only" in report
    assert "not comparable" in report  # digits is not the paper's ImageNet setup


def test_metrics_hold_the_teachers_accuracy_and_train_set_terms(study):
    teacher = run_dir.read_result(study / "runs/teacher/resnet8_s0")
    kd_dir = study / "runs/kd/resnet8/resnet8_s0"
    result = run_dir.read_result(kd_dir)
    assert result["teacher_test_accuracy"] == pytest.approx(teacher["test"]["accuracy"], abs=1e-6)
    assert result["teacher_val_accuracy"] == pytest.approx(
        teacher["last"]["val_accuracy"], abs=1e-6
    )
    rows = atomic_io.read_json_lines(kd_dir / "metrics.jsonl")
    assert [r["teacher_test_accuracy"] for r in rows] == [result["teacher_test_accuracy"]] * 2
    assert all("train_eval_kd" in r and "train_eval_agreement" in r for r in rows)
    # The early-stopped teacher's validation accuracy is its epoch-1 snapshot's.
    early = run_dir.read_result(study / "runs/teacher_epoch_1/resnet8/resnet8_s0")
    teacher_rows = atomic_io.read_json_lines(study / "runs/teacher/resnet8_s0/metrics.jsonl")
    epoch_1 = teacher_rows[0]["val_accuracy"]
    assert early["teacher_val_accuracy"] == pytest.approx(epoch_1, abs=1e-6)
    assert run_dir.read_result(study / "runs/scratch/resnet8_s0")["teacher_test_accuracy"] is None
    # summary.csv: the same numbers under the split-named columns.
    found = {r["run"]: r for r in summary.read_csv(study / "summary.csv")}
    row = found["teacher_epoch_1/resnet8/resnet8_s0"]
    assert float(row["teacher_val_accuracy"]) == pytest.approx(epoch_1, abs=1e-6)
    assert float(row["teacher_test_accuracy"]) == pytest.approx(early["teacher_test_accuracy"])
    assert float(row["test_kd"]) == pytest.approx(early["test"]["kd"])
    assert float(row["val_accuracy"]) == pytest.approx(early["last"]["val_accuracy"])
    assert list(found[row["run"]]) == list(summary.COLUMNS)
    # TensorBoard: train-set terms and the teacher's level, under Keras' tag names.
    train_eval = _events(kd_dir / "logs/train_eval")
    assert {"epoch_accuracy", "epoch_kd", "epoch_agreement"} <= set(train_eval)
    assert [step for step, *_ in train_eval["epoch_kd"]] == [0, 1]
    level = _events(kd_dir / "logs/teacher")["epoch_accuracy"]
    value = tf.make_ndarray(level[0][1])
    assert float(value) == pytest.approx(result["teacher_val_accuracy"], abs=1e-6)


def test_hparams_and_final_metrics_read_back_from_event_files(study):
    kd_dir = study / "runs/eskd_1/resnet8/resnet8_s0"
    events = _events(kd_dir / "logs")
    sessions = [
        metadata
        for tag, entries in events.items()
        for _, _, metadata in entries
        if metadata.plugin_data.plugin_name == hparams_metadata.PLUGIN_NAME
        and tag == hparams_metadata.SESSION_START_INFO_TAG
    ]
    assert sessions
    info = hparams_metadata.parse_session_start_info_plugin_data(sessions[0].plugin_data.content)
    hparams = {k: v for k, v in info.hparams.items()}
    assert hparams["model"].string_value == "resnet8"
    assert hparams["teacher"].string_value == "resnet8"
    assert hparams["role"].string_value == "eskd_1"
    assert hparams["temperature"].number_value == 4.0
    assert hparams["kd_weight"].number_value == pytest.approx(0.9)
    assert hparams["stop_kd_epoch"].number_value == 1
    assert hparams["teacher_epoch"].string_value == "last"
    assert hparams["dataset"].string_value == "digits"
    assert hparams["epochs"].number_value == 2
    result = run_dir.read_result(kd_dir)
    final = tf.make_ndarray(events["final/test_accuracy"][0][1])
    assert float(final) == pytest.approx(result["test"]["accuracy"], abs=1e-6)
    scratch = _events(study / "runs/scratch/resnet8_s0/logs")
    assert "final/test_accuracy" in scratch and "final/teacher_test_accuracy" not in scratch


def _session_hparams(logs_dir):
    """{name: python value} of the HParams session in a run's logs/."""
    (entry,) = _events(logs_dir)[hparams_metadata.SESSION_START_INFO_TAG]
    info = hparams_metadata.parse_session_start_info_plugin_data(entry[2].plugin_data.content)
    return {
        k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind"))
        for k, v in info.hparams.items()
    }


def test_study_logdir_declares_the_hparams_columns_every_run_fits(study):
    """``tensorboard --logdir <study>``: one hparams_config, in the study's logs/, whose columns
    are the runs' hyperparameters (domains: the values the plan uses) and metrics that exist."""
    events = _events(study / run_dir.STUDY_LOGS_DIR)
    (entry,) = events[hparams_metadata.EXPERIMENT_TAG]
    experiment = hparams_metadata.parse_experiment_plugin_data(entry[2].plugin_data.content)
    domains = {
        info.name: {getattr(v, v.WhichOneof("kind")) for v in info.domain_discrete.values}
        for info in experiment.hparam_infos
    }
    for name in ("model", "teacher", "role", "seed", "temperature", "kd_weight"):
        assert name in domains, name
    assert {"stop_kd_epoch", "teacher_epoch", "epochs", "base_lr"} <= set(domains)
    run_dirs = sorted(
        os.path.dirname(p) for p in glob.glob(f"{study}/runs/**/run.json", recursive=True)
    )
    roles = {run_dir.read_planned(d)["role"] for d in run_dirs}
    assert domains["role"] == roles == {"teacher", "scratch", "kd", "eskd_1", "teacher_epoch_1"}
    assert domains["stop_kd_epoch"] == {0, 1} and domains["teacher_epoch"] == {"none", "last", "1"}
    for directory in run_dirs:  # every session's value is one of its column's declared values
        for name, value in _session_hparams(os.path.join(directory, run_dir.LOGS_DIR)).items():
            assert value in domains[name], (directory, name, value)
    declared = {(m.name.tag, m.name.group) for m in experiment.metric_infos}
    assert declared == {(tag, group) for tag, group, _ in hparams_logging.METRICS}
    for tag, group in declared:  # no column that no run fills
        logged = [_events(os.path.join(d, run_dir.LOGS_DIR, group)) for d in run_dirs]
        assert any(tag in found for found in logged), (tag, group)


def test_report_figures_are_image_summaries_in_the_study_logdir(study):
    events = _events(study / run_dir.STUDY_LOGS_DIR)
    complete = sum(r["status"] == "complete" for r in summary.read_csv(study / "summary.csv"))
    for name in FIGURES:
        (entry,) = events[f"figures/{name}"]
        step, tensor, _ = entry
        width, height, png = tf.make_ndarray(tensor)
        assert png[:8] == PNG_MAGIC and int(width) > 100 and int(height) > 100, name
        drawn = tf.io.decode_png((study / "figures" / f"{name}.png").read_bytes(), channels=4)
        assert (tf.io.decode_png(png, channels=4).numpy() == drawn.numpy()).all(), name
        assert step == complete == 5


def _tables(text):
    return [line for line in text.splitlines() if line.startswith("|")]


def test_rebuilding_from_copied_run_directories_gives_the_same_report(study, tmp_path):
    copy = tmp_path / "gathered"
    shutil.copytree(study, copy)
    for name in ("summary.csv", "report.md"):
        os.remove(copy / name)
    shutil.rmtree(copy / "figures")
    assert report_main.main([str(copy)]) == 0
    original = (study / "report.md").read_text()
    rebuilt = (copy / "report.md").read_text()
    assert _tables(rebuilt) == _tables(original) and len(_tables(original)) > 10
    assert rebuilt == original  # sentences, figure links and "what ran" too
    assert summary.read_csv(copy / "summary.csv") == summary.read_csv(study / "summary.csv")
    assert sorted(os.listdir(copy / "figures")) == sorted(os.listdir(study / "figures"))
    # The rebuild replaced the figure events (one file) and left the HParams config alone.
    logs = os.listdir(copy / run_dir.STUDY_LOGS_DIR)
    assert len([n for n in logs if n.endswith(run_dir.FIGURES_EVENTS_SUFFIX)]) == 1
    assert len([n for n in logs if n.endswith(run_dir.HPARAMS_CONFIG_SUFFIX)]) == 1
