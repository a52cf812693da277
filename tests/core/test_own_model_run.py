"""Your own model through the real entry point: the documented example (docs/examples/my_models.py
and my_run.gin, run as written) trains as a teacher and teaches a registered builder of
tests/models/user_models.py; a broken builder is refused before the run directory exists.
(One-line CLI errors: tests/reliability/test_bad_inputs.py.)"""

import json
import os
import sys

import pytest
from kd_testing import (
    REPO_ROOT,
    STUDENT_GIN,
    TINY_RUN,
    assert_cli_ok,
    assert_run_contract,
    run_cli,
    run_experiment,
)

from kd_efficacy.errors import ConfigError
from kd_efficacy.models import custom
from tests.models import user_models  # the module the gin files import, registered in-process

EXAMPLES = os.path.join(REPO_ROOT, "docs", "examples")
sys.path.insert(0, EXAMPLES)  # as the documented PYTHONPATH=docs/examples does for the CLI
import my_models  # noqa: E402  (registers my_cnn in this process: students load the teacher)

# Less than TINY_RUN: these tests are about which model is built, not about training.
SMALL = [*TINY_RUN, "recipe.train_set_metrics = False"]
OWN_MODEL_GIN = """\
import tests.models.user_models
include 'gin_configs/quickstart/teacher.gin'
MODEL = '{model}'
"""


@pytest.fixture(scope="module")
def own_teacher(tmp_path_factory):
    """``my_cnn`` trained by the documented command (docs/examples/my_run.gin)."""
    directory = tmp_path_factory.mktemp("own_model") / "teacher"
    env = {"PYTHONPATH": os.pathsep.join([REPO_ROOT, EXAMPLES])}
    assert_cli_ok(run_cli("docs/examples/my_run.gin", SMALL, directory, env=env))
    return directory


def test_an_own_model_trains_from_gin_with_the_run_contract(own_teacher):
    result = assert_run_contract(own_teacher, load_export=True)
    assert result["model"]["name"] == "my_cnn"
    assert json.loads((own_teacher / "run.json").read_text())["model"] == "my_cnn"
    assert custom.lookup("my_cnn") is my_models.my_cnn


def test_an_own_model_teaches_and_learns(own_teacher, tmp_path):
    student = tmp_path / "student"
    bindings = [*SMALL, f"TEACHER_DIR = '{own_teacher}'", "STUDENT = 'user_sequential'"]
    run_experiment([STUDENT_GIN], bindings, student)
    result = assert_run_contract(student)
    assert result["model"]["name"] == "user_sequential"
    assert (
        result["teachers"][0]["config_hash"]
        == json.loads((own_teacher / "result.json").read_text())["config_hash"]
    )


def test_a_teacher_whose_builder_is_not_imported_is_refused_before_the_run(
    own_teacher, tmp_path, monkeypatch
):
    monkeypatch.delitem(custom._BUILDERS, "my_cnn")  # as in a process without the import
    student = tmp_path / "student"
    with pytest.raises(ConfigError, match="unknown model 'my_cnn'.*import its module"):
        run_experiment([STUDENT_GIN], [f"TEACHER_DIR = '{own_teacher}'"], student)
    assert not student.exists()


def test_a_builder_breaking_the_contract_is_refused_before_the_run(tmp_path):
    config = tmp_path / "broken.gin"
    config.write_text(OWN_MODEL_GIN.format(model="broken_shape"))
    directory = tmp_path / "run"
    with pytest.raises(ConfigError, match="'broken_shape' .* shape \\(11,\\) per image"):
        run_experiment([str(config)], [], directory)
    assert not directory.exists()
    assert user_models.broken_shape is custom.lookup("broken_shape")
