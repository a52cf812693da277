"""The paper-scale ImageNet experiment files run unchanged at smoke scale on a generated image
folder (72 px PNGs: the ImageNet geometry), through the command line.

Only the data source and the sizes are overridden; the ImageNet dataset leaf (random-resized crop,
center-crop eval), the ImageNet ResNets and the studies are the ones the paper-scale run uses.
"""

import os

import numpy as np
import pytest
import tensorflow as tf
from kd_testing import assert_cli_ok, assert_study_contract, run_cli

from kd_efficacy import run_dir

EXPERIMENTS = os.path.join("gin_configs", "experiments")


def _image_folder(root, classes=2, train=4, test=2, size=72):
    rng = np.random.default_rng(0)
    for split, count in (("train", train), ("test", test)):
        for c in range(classes):
            directory = root / split / f"class{c}"
            directory.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                (directory / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())
    return root


def _run(gin_file, folder, model_dir, bindings):
    smoke = [
        f"DATASET = 'image_folder:{folder}'",
        "recipe.image_size = 64",
        "GLOBAL_BATCH_SIZE = 4",
        "recipe.validation_fraction = 0.5",  # 4 images per class: keep 2 to train, 2 to validate
        "recipe.lr_boundaries = []",
        "SEEDS = [0]",
        "TEACHERS = ['imagenet_resnet18']",
        "experiment.verbose = 0",
        *bindings,
    ]
    assert_cli_ok(run_cli(gin_file, smoke, model_dir, timeout=600))
    rows = assert_study_contract(model_dir)  # every run complete, finite metrics
    return [run_dir.read_result(os.path.join(model_dir, "runs", name)) for name in rows]


def _check(results, roles):
    assert sorted(r["model"]["name"] for r in results) == ["imagenet_resnet18"] * len(roles)
    for result in results:
        assert result["model"]["input_shape"] == [64, 64, 3]
        assert result["model"]["num_classes"] == 2


@pytest.mark.slow
def test_capacity_gap_imagenet_runs_at_smoke_scale(tmp_path):
    folder = _image_folder(tmp_path / "images")
    gin_file = os.path.join(EXPERIMENTS, "capacity_gap", "imagenet_resnet18.gin")
    results = _run(gin_file, folder, tmp_path / "study", ["EPOCHS = 1"])
    _check(results, ["teacher", "scratch", "kd"])


@pytest.mark.slow
def test_eskd_imagenet_runs_at_smoke_scale(tmp_path):
    folder = _image_folder(tmp_path / "images")
    gin_file = os.path.join(EXPERIMENTS, "early_stopping", "imagenet_resnet18.gin")
    results = _run(gin_file, folder, tmp_path / "study", ["EPOCHS = 2", "STOP_KD_EPOCHS = [1]"])
    _check(results, ["teacher", "scratch", "kd", "eskd_1"])


def test_pretrained_teacher_imagenet_file_passes_preflight(tmp_path):
    """The pretrained-teacher ImageNet study parses, plans and passes preflight offline: its
    keras-hub teachers are named, not downloaded, until their import runs."""
    from kd_testing import run_experiment

    from kd_efficacy.report import paper

    folder = _image_folder(tmp_path / "images")
    gin_file = os.path.join(EXPERIMENTS, "pretrained_teachers", "imagenet_resnet18.gin")
    smoke = [
        f"DATASET = 'image_folder:{folder}'",
        "recipe.image_size = 64",
        "GLOBAL_BATCH_SIZE = 4",
        "recipe.validation_fraction = 0.5",
        "experiment.plan_only = True",
    ]
    ready = run_experiment([gin_file], smoke, tmp_path / "study", tiny=False)
    roles = [run.role for run in ready.runs]
    assert roles.count("teacher") == 4 and roles.count("scratch") == 3
    assert roles.count("kd") == roles.count("eskd") == 12
    teachers = [ready.specs[r.name] for r in ready.runs if r.role == "teacher"]
    assert all(s["task"] == "import_teacher" for s in teachers)
    assert {s["source"]["kind"] for s in teachers} == {"keras_hub"}
    # The report's paper table finds its teachers by these names (report/paper.py).
    assert {t for t, _ in paper.DISTILLED} <= {s["model"] for s in teachers}
    assert not os.path.exists(tmp_path / "study" / "runs")  # planning writes nothing
