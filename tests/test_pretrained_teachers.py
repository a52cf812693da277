"""Pretrained teachers (pretrained.py, import_teacher.py), offline.

These machines cannot download weights, so the three kinds of source are built here without
them: a keras-hub ResNet classifier with random weights saved as a local preset directory, a
``keras.applications`` model with ``weights=none``, and a small saved ``.keras`` model of this
package. A study with all three as teachers runs through the real CLI and the digits gin file.
"""

import os

import keras
import numpy as np
import pytest
from kd_testing import (
    CAPACITY_GAP_GIN,
    assert_cli_ok,
    assert_imported_contract,
    assert_study_contract,
    run_cli,
    run_experiment,
)

from kd_efficacy import import_teacher, models, pretrained, run_dir
from kd_efficacy.errors import ConfigError
from kd_efficacy.input_adapter import InputAdapter

DIGITS = "gin_configs/datasets/digits.gin"
IMPORT_GIN = "gin_configs/runs/import_teacher.gin"
APPLICATION = "keras_applications:MobileNetV3Small?weights=none&image_size=32"


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """{kind: source string} of a tiny teacher of each kind (random weights, 10 classes)."""
    import keras_hub

    root = tmp_path_factory.mktemp("sources")
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 16],  # keras-hub requires 64 first; one block per stage
        stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2],
        block_type="basic_block",
        use_pre_activation=False,
        image_shape=(None, None, 3),
    )
    converter = keras_hub.layers.ResNetImageConverter(
        image_size=(32, 32), scale=[1 / (255 * s) for s in (0.229, 0.224, 0.225)],
        offset=[-m / s for m, s in zip((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))],
    )  # fmt: skip
    preprocessor = keras_hub.models.ResNetImageClassifierPreprocessor(image_converter=converter)
    classifier = keras_hub.models.ResNetImageClassifier(
        backbone=backbone, num_classes=10, preprocessor=preprocessor
    )
    classifier.save_to_preset(str(root / "hub_preset"))
    saved = models.build("resnet8", input_shape=(8, 8, 1), num_classes=10)
    saved.save(str(root / "teacher.keras"))
    return {
        "keras_hub": f"keras_hub:{root / 'hub_preset'}",
        "keras_applications": APPLICATION,
        "saved_model": f"saved_model:{root / 'teacher.keras'}",
    }


def _study(teachers, variants):
    return [
        f"TEACHERS = {teachers!r}",
        "STUDENT = 'resnet8'",
        "SEEDS = [0]",
        f"VARIANTS = {variants}",
        "EPOCHS = 2",
        "GLOBAL_BATCH_SIZE = 32",
        "recipe.max_train_examples = 64",
        "recipe.train_set_metrics = False",
        "experiment.verbose = 0",
    ]


def test_a_study_runs_with_a_saved_teacher_through_the_cli(sources, tmp_path):
    """The short variant of the next test: one source kind, full KD only (3 runs); then the
    imported teacher's directory as a TEACHER_DIR."""
    bindings = _study({"saved": sources["saved_model"]}, "{'kd': ('last', None)}")
    assert_cli_ok(run_cli(CAPACITY_GAP_GIN, bindings, tmp_path, timeout=600))
    rows = assert_study_contract(tmp_path)
    teacher_dir = tmp_path / "runs" / "teacher" / "saved_s0"
    teacher = run_dir.read_result(teacher_dir)
    assert (
        float(rows["kd/saved/resnet8_s0"]["teacher_val_accuracy"])
        == (teacher["last"]["val_accuracy"])
    )
    assert teacher["model"]["adapter"]["size"] == [8, 8]  # its own input: our images, unresized
    # Our own resnet8 (0-1 inputs, same weights) gives the same logits through the teacher.
    saved = keras.saving.load_model(sources["saved_model"].partition(":")[2])
    imported = import_teacher.load(str(teacher_dir))
    images = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(imported(images), saved(images), rtol=1e-5, atol=1e-5)
    student = [f"TEACHER_DIR = '{teacher_dir}'", "STUDENT = 'resnet8'", "TEACHER_EPOCH = 1"]
    with pytest.raises(
        ConfigError, match="is pretrained, not trained here.*train the teacher here"
    ):
        run_experiment([DIGITS, "gin_configs/runs/distill.gin"], student, tmp_path / "student")


@pytest.mark.slow  # 10 runs: ~8 min on 2 shared cores
def test_a_study_runs_with_each_kind_of_source_through_the_cli(sources, tmp_path):
    teachers = {f"from_{kind}": source for kind, source in sources.items()}
    bindings = _study(teachers, "{'kd': ('last', None), 'eskd': ('last', 1)}")
    done = assert_cli_ok(run_cli(CAPACITY_GAP_GIN, bindings, tmp_path, timeout=900))
    assert "imported keras_hub:" in done.stdout
    rows = assert_study_contract(tmp_path)  # imported teachers: assert_imported_contract
    assert len(rows) == 3 + 1 + 6  # 3 imports, scratch, full KD and ESKD from each
    for kind in sources:
        teacher = run_dir.read_result(tmp_path / "runs" / "teacher" / f"from_{kind}_s0")
        assert teacher["task"] == "import_teacher" and teacher["model"]["num_classes"] == 10
        assert teacher["model"]["source"]["kind"] == kind
        student = rows[f"kd/from_{kind}/resnet8_s0"]
        # The student read the imported teacher's own measured accuracy.
        assert float(student["teacher_val_accuracy"]) == teacher["last"]["val_accuracy"]
        assert rows[f"eskd/from_{kind}/resnet8_s0"]["stop_kd_epoch"] == "1"
    hub = run_dir.read_result(tmp_path / "runs" / "teacher" / "from_keras_hub_s0")
    assert hub["model"]["adapter"]["size"] == [32, 32] and hub["model"]["adapter"]["to_rgb"]


def test_a_study_asking_for_an_early_stopped_pretrained_teacher_is_refused(sources, tmp_path):
    bindings = [
        f"TEACHERS = {{'pre': '{sources['saved_model']}'}}",
        "STUDENT = 'resnet8'",
        "SEEDS = [0]",
        "VARIANTS = {'kd': ('last', None), 'early_teacher': (1, None)}",
    ]
    with pytest.raises(ConfigError, match="pretrained.*TEACHER_EPOCH=1.*epoch_N.keras"):
        run_experiment([CAPACITY_GAP_GIN], bindings, tmp_path)
    assert not os.path.exists(tmp_path / "runs")  # refused before anything was written


def test_teacher_and_dataset_classes_must_agree(tmp_path):
    three = models.build("resnet8", input_shape=(8, 8, 1), num_classes=3)
    three.save(str(tmp_path / "three.keras"))
    source = [f"SOURCE = 'saved_model:{tmp_path / 'three.keras'}'"]
    with pytest.raises(ConfigError, match="predicts 3 classes but the dataset has 10"):
        run_experiment([DIGITS, IMPORT_GIN], source, tmp_path / "teacher")


@pytest.mark.parametrize(
    "source, match",
    [
        ("torch_hub:resnet50", "is not one of keras_hub"),
        ("keras_applications:ResNet51", "has no model 'ResNet51'"),
        ("keras_applications:ResNet50?alpha=1", "option 'alpha=1' is not one of"),
        ("keras_applications:ResNet50?image_size=big", "image_size must be a positive integer"),
        ("keras_hub:resnet_50_imagenet?weights=none", "weights= applies to keras_applications"),
        ("saved_model:/no/such/teacher.keras", "neither a .keras file nor a SavedModel"),
    ],
)
def test_bad_sources_are_one_line(source, match):
    with pytest.raises(ConfigError, match=match):
        pretrained.check(source)


def test_identity_is_known_before_import_and_follows_the_file(tmp_path):
    path = tmp_path / "t.keras"
    models.build("resnet8", input_shape=(8, 8, 1), num_classes=10).save(str(path))
    first = pretrained.identity(f"saved_model:{path}")
    models.build("resnet8", input_shape=(8, 8, 1), num_classes=10).save(str(path))
    assert pretrained.identity(f"saved_model:{path}")["file_hash"] != first["file_hash"]
    hub = pretrained.identity("keras_hub:hf://timm/resnet34.tv_in1k")  # no download
    assert hub == {
        "kind": "keras_hub",
        "name": "hf://timm/resnet34.tv_in1k",
        "options": {},
        "preprocessing": "preset",
    }
    assert pretrained.identity("keras_applications:ResNet152")["preprocessing"] == "caffe"


@pytest.mark.parametrize(
    "mode, preprocess",
    [
        ("caffe", keras.applications.resnet.preprocess_input),
        ("tf", keras.applications.mobilenet_v2.preprocess_input),
        ("torch", keras.applications.densenet.preprocess_input),
    ],
)
def test_adapter_matches_keras_preprocess_input(mode, preprocess):
    images = np.random.default_rng(0).uniform(size=(2, 5, 5, 3)).astype("float32")
    adapter = InputAdapter(**import_teacher.preprocessing_rule(mode))
    expected = preprocess(255.0 * images.copy())
    np.testing.assert_allclose(adapter(images), expected, rtol=1e-4, atol=1e-3)


def test_adapter_matches_a_keras_hub_image_converter():
    import keras_hub

    converter = keras_hub.layers.ResNetImageConverter(
        image_size=(6, 6), scale=[1 / 58.4, 1 / 57.1, 1 / 57.4], offset=[-2.1, -2.0, -1.8]
    )
    images = np.random.default_rng(0).uniform(size=(2, 6, 6, 3)).astype("float32")
    adapter = InputAdapter(**import_teacher.converter_rule(converter))
    np.testing.assert_allclose(adapter(images), converter(255.0 * images), rtol=1e-4, atol=1e-4)


def test_a_savedmodel_directory_is_imported_as_a_self_contained_teacher(tmp_path):
    from kd_efficacy import teachers

    original = models.build("resnet8", input_shape=(8, 8, 1), num_classes=10)
    original.export(str(tmp_path / "exported"), verbose=False)
    source = [f"SOURCE = 'saved_model:{tmp_path / 'exported'}'"]
    run_experiment([DIGITS, IMPORT_GIN], source, tmp_path / "teacher")
    assert_imported_contract(tmp_path / "teacher")
    os.rename(tmp_path / "exported", tmp_path / "moved")  # the run keeps its own copy
    teacher = teachers.load(str(tmp_path / "teacher"), "last")
    images = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(teacher(images), original(images), rtol=1e-5, atol=1e-5)
