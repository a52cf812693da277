"""The bad-input catalogue: every user error the package knows about, through the real entry point.

Each case runs ``python -m kd_efficacy.run`` with gin files, bindings and flags, and must exit with
status 2 after one line on stderr, ``error: ...``, that names the problem and the fix, with no
traceback; no existing directory may change, and a fresh --model_dir must be left as it was
(absent), so the corrected command can use it. All cases are launched up front, about one per
core, while the tests read outcomes; through tests/preloaded_cli.py, each a fresh process forked
after TensorFlow's import (~5 s of CPU a case otherwise: 229 s for 42 cases against 32 s, measured
side by side on the 2-core machine), so the whole catalogue runs in CI.

Not covered here: a global batch that does not split over the replicas needs several devices
(tests/distribute/test_mirrored.py checks ``check_batch``).
"""

import concurrent.futures
import dataclasses
import hashlib
import json
import os

import numpy as np
import preloaded_cli
import pytest
import tensorflow as tf
from kd_testing import TINY_STUDY, last_line

GIN = {
    "teacher": "quickstart/teacher.gin",
    "student": "quickstart/student.gin",
    "capacity_gap": "experiments/capacity_gap/digits.gin",
    "early_stopping": "experiments/early_stopping/digits.gin",
    "sequential": "experiments/sequential/digits.gin",
    "ensemble": "experiments/ensemble/digits.gin",
    "train_leaves": "datasets/digits.gin schedules/digits.gin runs/train.gin",
}
SMALL_STUDY = "; ".join(TINY_STUDY)
TEACHER_OK = "TEACHER_DIR = '{root}/teacher'"
OWN = "import tests.models.user_models"  # registers the test's own model builders


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    config: str  # a GIN key, or literal command-line arguments (space-separated)
    bindings: str  # ';'-separated; "{root}" is the fixture world
    problem: str  # a substring of the message naming the problem
    fix: str  # a substring naming the fix
    model_dir: str = "{fresh}"  # a new directory per case, which must not exist afterwards
    env: tuple = ()  # extra environment variables

    def args(self, root, fresh):
        files = GIN.get(self.config)
        args = [f"--gin_file=gin_configs/{f}" for f in files.split()] if files else []
        args += self.config.split() if files is None else []
        args += [f"--gin_bindings={b.strip()}" for b in self.bindings.split(";") if b.strip()]
        args += [f"--model_dir={self.model_dir}"]
        return [a.replace("{root}", root).replace("{fresh}", fresh) for a in args]


TF_CONFIG_BAD = (("TF_CONFIG", '{"cluster": {}}'),)
# fmt: off
CASES = [
    # gin and flags
    Case("gin_binding_typo", "teacher", "recipe.epochz = 3", "epochz", "check the spelling"),
    Case("gin_unknown_configurable", "teacher", "trainer.model = 'x'", "trainer", "spelling"),
    Case("gin_missing_file", "--gin_file=gin_configs/teachr.gin", "", "not found", "looked in"),
    Case("gin_undefined_macro", "teacher", "train.model = %MODELL", "MODELL", "define it"),
    Case("gin_required_unset", "train_leaves", "", "MODEL is not set", "bind it"),
    Case("gin_syntax_error", "teacher", "EPOCHS = [", "bad gin config", "check"),
    Case("no_gin_file", "", "", "no --gin_file", "e.g. --gin_file="),
    Case("flag_typo", "--gin_fil=x.gin", "", "gin_fil", "the flags are"),
    Case("positional_argument", "--gin_file=gin_configs/quickstart/teacher.gin EPOCHS=3", "",
         "unexpected arguments", "--gin_bindings"),
    # types at the gin boundary (config_types.py), one case per kind of value
    Case("int_given_a_string", "teacher", "EPOCHS = 'three'", "EPOCHS = 'three' (recipe.epochs)",
         "expected an integer >= 1"),
    Case("int_given_a_float", "teacher", "GLOBAL_BATCH_SIZE = 32.5",
         "GLOBAL_BATCH_SIZE = 32.5 (recipe.global_batch_size)", "expected an integer >= 1"),
    Case("float_given_none", "student", f"{TEACHER_OK}; KD_WEIGHT = None",
         "KD_WEIGHT = None (kd.kd_weight)", "expected a number >= 0"),
    Case("float_given_a_string", "teacher", "BASE_LR = 'fast'", "BASE_LR = 'fast'",
         "expected a number > 0"),
    Case("bool_given_an_int", "teacher", "recipe.nesterov = 1", "recipe.nesterov = 1",
         "expected True or False"),
    Case("unknown_precision", "teacher", "PRECISION = 'fp8'", "PRECISION = 'fp8'",
         "'float32', 'mixed_bfloat16' or 'mixed_float16'"),
    Case("optional_given_a_string", "student", f"{TEACHER_OK}; STOP_KD_EPOCH = 'x'",
         "STOP_KD_EPOCH = 'x' (distill.stop_kd_epoch)", "an integer >= 1 or None"),
    Case("list_given_an_int", "capacity_gap", f"{SMALL_STUDY}; SEEDS = 0",
         "SEEDS = 0 (capacity_gap.seeds)", "a list of distinct integers >= 0"),
    Case("list_of_wrong_items", "ensemble", "SEEDS = ['a']", "SEEDS = ['a'] (ensemble.seeds)",
         "('a' is not an integer >= 0)"),
    Case("dict_given_a_list", "capacity_gap", f"{SMALL_STUDY}; VARIANTS = ['kd']",
         "VARIANTS = ['kd'] (capacity_gap.variants)", "a dict from variant names"),
    Case("duplicate_teachers", "capacity_gap",
         "TEACHERS = ['resnet8', 'resnet8']; STUDENT = 'resnet8'; SEEDS = [0]",
         "TEACHERS = ['resnet8', 'resnet8'] (capacity_gap.teachers) lists 'resnet8' twice",
         "give each value once in TEACHERS"),
    Case("parallel_runs_zero", "capacity_gap", f"{SMALL_STUDY}; parallel_runs.processes = 0",
         "parallel_runs.processes = 0", ">= 1"),
    Case("duplicate_seeds", "early_stopping", "SEEDS = [0, 1, 0]", "lists 0 twice",
         "give each value once in SEEDS"),
    # models
    Case("unknown_model", "teacher", "MODEL = 'mobilenet'", "unknown model", "known models"),
    Case("bad_wrn_depth", "teacher", "MODEL = 'wrn_15_2'", "6n+4", "known models"),
    # your own models (tests/models/user_models.py; the other breakages: test_own_model.py)
    Case("own_model_softmax", "teacher", f"{OWN}; MODEL = 'broken_softmax'",
         "'broken_softmax' (tests.models.user_models.broken_softmax) outputs probabilities",
         "drop the final softmax"),
    Case("own_model_module_missing", "teacher", "import no_such_models; MODEL = 'my_cnn'",
         "cannot be imported (No module named 'no_such_models')", "put its package on PYTHONPATH"),
    Case("own_teacher_not_imported", "student", "TEACHER_DIR = '{root}/teacher_own_model'",
         "teacher_own_model: unknown model 'my_cnn'", "import its module in the gin file"),
    # data
    Case("unknown_dataset", "teacher", "DATASET = 'cifar11'", "cifar11", "use"),
    Case("image_folder_missing", "teacher", "DATASET = 'image_folder:{root}/nowhere'",
         "does not exist", "use image_folder:"),
    Case("image_folder_without_train", "teacher", "DATASET = 'image_folder:{root}/no_train'",
         "missing folder", "put images in train/"),
    Case("image_folder_empty_split", "teacher", "DATASET = 'image_folder:{root}/empty'",
         "no images", "put .jpg"),
    Case("image_folder_class_mismatch", "teacher", "DATASET = 'image_folder:{root}/mismatch'",
         "class folders differ", "same class folders"),
    Case("bad_validation_fraction", "teacher", "recipe.validation_fraction = 1.5",
         "validation_fraction = 1.5", "a number in (0, 1)"),
    Case("batch_larger_than_data", "teacher", "GLOBAL_BATCH_SIZE = 5000", "exceeds",
         "batch size <="),
    Case("bad_lr_schedule", "teacher", "recipe.lr_schedule = 'cosin'", "'cosin'",
         "'cosine', 'step' or 'constant'"),
    Case("snapshot_epoch_beyond_run", "teacher", "SNAPSHOT_EPOCHS = [99]", "[99]",
         "[1, EPOCHS=15]"),
    # teachers
    Case("teacher_dir_missing", "student", "TEACHER_DIR = '{root}/nowhere'", "no complete run",
         "train the teacher first"),
    Case("teacher_incomplete", "student", "TEACHER_DIR = '{root}/teacher_incomplete'",
         "no complete run", "train the teacher first"),
    Case("teacher_epoch_not_kept", "student", f"{TEACHER_OK}; TEACHER_EPOCH = 7", "no snapshot",
         "train.snapshot_epochs"),
    Case("teacher_class_mismatch", "student", "TEACHER_DIR = '{root}/teacher_100_classes'",
         "predicts 100 classes", "distill on the dataset"),
    Case("teacher_shape_mismatch", "student", "TEACHER_DIR = '{root}/teacher_rgb32'",
         "(32, 32, 3)", "same dataset and image_size"),
    # KD parameters
    Case("temperature_zero", "student", f"{TEACHER_OK}; TEMPERATURE = 0",
         "TEMPERATURE = 0 (kd.temperature)", "a number > 0"),
    Case("negative_kd_weight", "student", f"{TEACHER_OK}; KD_WEIGHT = -1", "KD_WEIGHT = -1",
         "a number >= 0"),
    Case("stop_kd_epoch_at_end", "student", f"{TEACHER_OK}; STOP_KD_EPOCH = 15",
         "STOP_KD_EPOCH=15", "use None"),
    Case("bad_teacher_epoch", "student", f"{TEACHER_OK}; TEACHER_EPOCH = 'first'", "'first'",
         "'last', 'best' or an integer >= 1"),
    # studies
    Case("chain_of_one_model", "sequential", "CHAIN = ['resnet8']", "needs a teacher",
         "e.g. CHAIN ="),
    Case("ensemble_of_one", "ensemble", "CHAIN = ['resnet20', 'resnet8']", "at least 2",
         "chain of at least 3"),
    Case("teacher_epoch_beyond_teacher", "early_stopping", f"{SMALL_STUDY}; TEACHER_EPOCHS = [99]",
         "[99]", "EPOCHS"),
    Case("study_teacher_class_mismatch", "capacity_gap",
         f"{SMALL_STUDY}; teacher/recipe.dataset = 'image_folder:{{root}}/three_classes'; "
         "teacher/recipe.global_batch_size = 4; teacher/recipe.validation_fraction = 0.5",
         "predicts 3 classes", "distill on the dataset"),
    Case("study_dir_of_another_config", "capacity_gap", SMALL_STUDY, "holds another experiment",
         "use a new --model_dir", model_dir="{root}/other_study"),
    Case("study_run_dir_of_another_spec", "capacity_gap", SMALL_STUDY, "holds a different run",
         "use a new --model_dir", model_dir="{root}/study_with_foreign_run"),
    Case("unknown_only_run", "capacity_gap", f"{SMALL_STUDY}; experiment.only_run = 'nope'",
         "only_run 'nope'", "use one of"),
    # strategies and precision
    Case("unknown_strategy", "teacher", "STRATEGY = 'tpu'", "STRATEGY = 'tpu'", "'mirrored'"),
    Case("multi_worker_without_tf_config", "teacher", "STRATEGY = 'multi_worker'",
         "needs TF_CONFIG", "set TF_CONFIG"),
    Case("multi_worker_bad_tf_config", "teacher", "STRATEGY = 'multi_worker'",
         "TF_CONFIG is not usable", "set it to", env=TF_CONFIG_BAD),
    Case("mixed_float16_on_cpu", "teacher", "PRECISION = 'mixed_float16'", "needs a GPU",
         "use 'float32'"),
    # model_dir
    Case("model_dir_of_another_experiment", "teacher", "", "holds another experiment",
         "use a new --model_dir", model_dir="{root}/other_run"),
    Case("model_dir_unwritable", "teacher", "", "not writable", "choose another --model_dir",
         model_dir="{root}/a_file/run"),
]
# fmt: on


def _png(path, label):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = np.full((8, 8, 3), 40 * label, np.uint8)
    tf.io.write_file(path, tf.io.encode_png(image))


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def _teacher(root, name, num_classes=10, input_shape=(8, 8, 1), complete=True, model="resnet8"):
    """A teacher run directory as the checks see it (they read result.json and snapshot names)."""
    directory = os.path.join(root, name)
    _write(os.path.join(directory, "run.json"), json.dumps({"task": "train", "model": "resnet8"}))
    _write(os.path.join(directory, "metrics.jsonl"), '{"epoch": 1}\n{"epoch": 2}\n')
    for snapshot in ("last", "best", "epoch_0002"):
        _write(os.path.join(directory, "snapshots", f"{snapshot}.weights.h5"), "weights")
    if complete:
        model = {
            "name": model,
            "input_shape": list(input_shape),
            "num_classes": num_classes,
            "mean": [0.3] * input_shape[-1],
            "std": [0.37] * input_shape[-1],
        }
        result = {"status": "complete", "config_hash": "0123456789abcdef", "model": model}
        _write(os.path.join(directory, "result.json"), json.dumps(result))


def build_world(root):
    """Existing directories the cases point at; none of them may change."""
    _teacher(root, "teacher")
    _teacher(root, "teacher_incomplete", complete=False)
    _teacher(root, "teacher_100_classes", num_classes=100)
    _teacher(root, "teacher_rgb32", input_shape=(32, 32, 3))
    _teacher(root, "teacher_own_model", model="my_cnn")  # a user's builder, not imported here
    _write(os.path.join(root, "other_run", "config.gin"), "MODEL = 'resnet110'\n")
    _write(os.path.join(root, "other_run", "run.json"), "{}\n")
    _write(os.path.join(root, "other_study", "config.gin"), "experiment.task = @sequential\n")
    foreign = os.path.join(root, "study_with_foreign_run", "runs", "teacher", "resnet8_s0")
    _write(os.path.join(foreign, "run.json"), json.dumps({"task": "train", "model": "resnet8"}))
    _write(os.path.join(root, "a_file"), "not a directory\n")
    os.makedirs(os.path.join(root, "no_train", "test", "a"))
    for split in ("train", "test"):
        os.makedirs(os.path.join(root, "empty", split, "a"))
    _write(os.path.join(root, "mismatch", "train", "a", "x.png"), "")
    _write(os.path.join(root, "mismatch", "test", "b", "x.png"), "")
    for label, name in enumerate("abc"):
        for i in range(4):
            _png(os.path.join(root, "three_classes", "train", name, f"{i}.png"), label)
        _png(os.path.join(root, "three_classes", "test", name, "0.png"), label)


def tree_digest(root):
    """Hash of every path, file content and mode under ``root``."""
    digest = hashlib.sha256()
    for here, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files) + [""]:
            path = os.path.join(here, name)
            digest.update(path.encode() + oct(os.stat(path).st_mode).encode())
            if name:
                with open(path, "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()


def _command(item, root, fresh):
    # No GPU, so that the GPU-only errors fire on any CI machine.
    return item.args(root, fresh), {"CUDA_VISIBLE_DEVICES": "", **dict(item.env)}


def _selected(session):
    """The cases this session runs (after `-m` deselection), so only they are launched."""
    return {
        item.callspec.params["item"].id
        for item in session.items
        if getattr(item, "originalname", "") == "test_bad_input_is_one_clear_line"
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    root = str(tmp_path_factory.mktemp("existing"))
    build_world(root)
    before = tree_digest(root)
    fresh_root = str(tmp_path_factory.mktemp("fresh"))
    workers = max(2, min(8, os.cpu_count() or 2))  # about one per core
    cases = [c for c in CASES if c.id in _selected(request.session)]
    fresh = {c.id: os.path.join(fresh_root, c.id) for c in cases}
    launched = preloaded_cli.run_all(
        [_command(c, root, fresh[c.id]) for c in cases], jobs=workers, timeout=600
    )
    futures = {c.id: future for c, future in zip(cases, launched)}
    yield {"root": root, "before": before, "futures": futures, "fresh": fresh}


def test_catalogue_is_large_and_distinct():
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({(c.config, c.bindings, c.model_dir, c.env) for c in CASES}) == len(CASES)


@pytest.mark.parametrize("item", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_line(world, item):
    done, fresh = world["futures"][item.id].result(), world["fresh"][item.id]
    stderr = done.stderr.strip()
    last = last_line(stderr)
    assert done.returncode == 2, f"exit {done.returncode}; stderr tail:\n{stderr[-3000:]}"
    assert "Traceback" not in done.stderr, stderr[-3000:]
    assert last.startswith("error: "), last
    assert item.problem in last and item.fix in last, last
    assert not os.path.exists(fresh), f"{os.listdir(fresh)} left in a refused fresh model_dir"


def test_no_existing_directory_changed(world):
    concurrent.futures.wait(world["futures"].values())
    assert tree_digest(world["root"]) == world["before"]
