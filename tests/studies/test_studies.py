"""Every study end to end at tiny scale (digits, 2 epochs, 128 examples).

The models are the smallest that keep each study's shape (resnet8 wherever a name need not
differ) and train-set metrics are off except where a test reads them: each run's cost here is
mostly its model's build and tracing, so this is what keeps the file short enough for CI.
"""

import csv
import json
import os

import pytest
from kd_testing import CAPACITY_GAP_GIN, assert_study_contract, run_experiment

from kd_efficacy import atomic_io, run_dir

LADDER = [
    "STUDENT = 'resnet8'",
    "SEEDS = [0]",
    "VARIANTS = {'kd': ('last', None), 'eskd': ('last', 1), 'early': (1, None)}",
]


# Three links, the last two of one name (their indices tell them apart): the cheapest chain in
# which a link teaches the next.
CHAIN = [
    "CHAIN = ['resnet14', 'resnet8', 'resnet8']",
    "SEEDS = [0]",
    "recipe.train_set_metrics = False",
]


def _log(study_dir):
    return atomic_io.read_json_lines(os.path.join(study_dir, "study_log.jsonl"))


def test_capacity_gap_plans_every_variant_of_every_teacher(tmp_path):
    """Planning only (no training): two teachers give each variant twice; CI trains one teacher."""
    from kd_efficacy import sweep

    bindings = [*LADDER, "TEACHERS = ['resnet8', 'resnet14']"]
    per_run, _ = sweep.commands([CAPACITY_GAP_GIN], bindings, str(tmp_path / "cg"))
    names = sorted(command.split('only_run = "')[1].split('"')[0] for _, command in per_run)
    students = [
        f"{v}/{t}/resnet8_s0" for v in ("kd", "eskd", "early") for t in ("resnet8", "resnet14")
    ]
    expected = ["teacher/resnet8_s0", "teacher/resnet14_s0", "scratch/resnet8_s0", *students]
    assert names == sorted(expected)


# CI trains one teacher (5 runs); the two-teacher ladder (9 runs) is slow, its plan checked above.
@pytest.mark.parametrize(
    "teachers", [["resnet14"], pytest.param(["resnet8", "resnet14"], marks=pytest.mark.slow)]
)
def test_capacity_gap_with_eskd_and_early_teacher(tmp_path, teachers):
    study = tmp_path / "cg"
    bindings = [*LADDER, f"TEACHERS = {teachers}"]
    run_experiment([CAPACITY_GAP_GIN], bindings, study)
    rows = list(assert_study_contract(study).values())  # every planned run complete
    roles = sorted(r["role"] for r in rows)
    n = len(teachers)
    assert roles == sorted(["teacher"] * n + ["scratch"] + ["kd", "eskd", "early"] * n)
    kd_rows = [r for r in rows if r["role"] == "kd"]
    assert {r["teacher"] for r in kd_rows} == set(teachers)
    assert all(float(r["train_kd"]) >= 0 and float(r["test_kd"]) >= 0 for r in kd_rows)
    report = (study / "report.md").read_text()
    assert "## Students" in report and "resnet14" in report
    # Snapshots: exactly the requested teacher epoch, plus last and best.
    snapshots = sorted(os.listdir(study / "runs/teacher/resnet14_s0/snapshots"))
    assert snapshots == ["best.weights.h5", "epoch_0001.weights.h5", "last.weights.h5"]
    # ESKD: KD weight is 0 after STOP_KD_EPOCH=1 and the loss is then plain CE.
    metrics = atomic_io.read_json_lines(study / "runs/eskd/resnet14/resnet8_s0/metrics.jsonl")
    assert metrics[0]["kd_weight"] == pytest.approx(0.9)
    assert metrics[1]["kd_weight"] == 0.0
    assert metrics[1]["loss"] == pytest.approx(metrics[1]["ce"], rel=1e-5)
    assert metrics[0]["loss"] != pytest.approx(metrics[0]["ce"], rel=1e-3)
    # Early-stopped teacher: the student's spec names snapshot epoch 1.
    with open(study / "runs/early/resnet14/resnet8_s0/run.json") as f:
        assert json.load(f)["teachers"][0]["epoch"] == "1"
    # A rerun trains nothing.
    before = len(_log(study))
    run_experiment([CAPACITY_GAP_GIN], bindings, study)
    assert {e["action"] for e in _log(study)[before:]} == {"skipped"}


def test_sequential_chain_links_teach_the_next(tmp_path):
    study = tmp_path / "seq"
    run_experiment(
        ["gin_configs/experiments/sequential/digits.gin"],
        CHAIN,
        study,
    )
    rows = assert_study_contract(study)
    assert set(rows) == {
        "teacher/resnet14_s0",
        "chain/s0/1_resnet8",
        "chain/s0/2_resnet8",
        "direct/resnet8_s0",
        "scratch/resnet8_s0",
    }
    link2 = study / "runs/chain/s0/2_resnet8"
    with open(link2 / "run.json") as f:
        teacher = json.load(f)["teachers"][0]
    link1 = study / "runs/chain/s0/1_resnet8"
    assert os.path.normpath(link2 / teacher["dir"]) == str(link1)
    assert teacher["config_hash"] == run_dir.read_result(link1)["config_hash"]
    assert rows["chain/s0/2_resnet8"]["teacher"] == "resnet8"  # link 1, not the chain's head


def test_ensemble_study_reports_three_ensembles(tmp_path):
    study = tmp_path / "ens"
    run_experiment(
        ["gin_configs/experiments/ensemble/digits.gin"],
        CHAIN,
        study,
    )
    assert_study_contract(study)
    with open(study / "ensembles.csv") as f:
        ensembles = list(csv.DictReader(f))
    assert sorted(e["group"] for e in ensembles) == ["chain", "distilled", "independent"]
    for e in ensembles:
        assert e["size"] == "2"
        assert 0 <= float(e["disagreement"]) <= 1
        assert 0 <= float(e["ensemble_accuracy"]) <= 1
    taught = study / "runs/ensemble_taught/resnet8_s0/run.json"
    with open(taught) as f:
        assert len(json.load(f)["teachers"]) == 2  # the independent ensemble teaches
    assert "## Ensembles" in (study / "report.md").read_text()


def test_early_stopping_study_variants(
    early_stopping_study,
):  # conftest.py; the report reads it too
    roles = sorted(r["role"] for r in assert_study_contract(early_stopping_study).values())
    assert roles == ["eskd_1", "kd", "scratch", "teacher", "teacher_epoch_1"]


def test_sweep_waves_order_dependencies_and_only_run_trains_one(tmp_path):
    from kd_efficacy import sweep

    study = tmp_path / "seq"
    files = ["gin_configs/experiments/sequential/digits.gin"]
    binds = CHAIN
    per_run, final = sweep.commands(files, binds, str(study))
    waves = {}
    for index, command in per_run:
        waves.setdefault(index, []).append(command.split('only_run = "')[1].split('"')[0])
    assert waves == {
        0: ["teacher/resnet14_s0", "scratch/resnet8_s0"],
        1: ["chain/s0/1_resnet8", "direct/resnet8_s0"],
        2: ["chain/s0/2_resnet8"],
    }
    assert "only_run" not in final and not study.exists()  # planning writes nothing
    run_experiment(files, binds + ['experiment.only_run = "teacher/resnet14_s0"'], study)
    assert [e["run"] for e in _log(study) if e["action"] == "trained"] == ["teacher/resnet14_s0"]
