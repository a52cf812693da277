"""``--help`` lists the flags and an example, for ``-m kd_efficacy.run`` and the script."""

import shutil
import subprocess
import sys

import pytest
from kd_testing import REPO_ROOT, cli_env

EXPECTED = ("--gin_file", "--gin_bindings", "--model_dir", "--verbosity", "--helpfull")
EXAMPLE = "python -m kd_efficacy.run --gin_file=gin_configs/quickstart/teacher.gin"


def _help(command):
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=cli_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    for flag in EXPECTED:
        assert flag in done.stdout
    assert EXAMPLE in done.stdout


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_module_help_lists_flags_and_example(flag):
    _help([sys.executable, "-m", "kd_efficacy.run", flag])


def test_console_script_help_lists_flags_and_example():
    script = shutil.which("kd-efficacy")
    if script is None:
        pytest.skip("the kd-efficacy console script is not on PATH (package not pip-installed)")
    _help([script, "--help"])
