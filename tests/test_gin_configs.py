"""Every gin file parses, starts with its header comment, and every runnable one is complete."""

import glob
import os

import gin
import pytest
from kd_testing import REPO_ROOT as ROOT

from kd_efficacy import config_types, run
from kd_efficacy.errors import ConfigError

ALL = sorted(glob.glob(os.path.join(ROOT, "gin_configs", "**", "*.gin"), recursive=True))
RUNNABLE = [p for p in ALL if "/experiments/" in p or "/quickstart/" in p]


def test_there_are_configs():
    assert len(RUNNABLE) >= 8


@pytest.mark.parametrize("path", ALL, ids=lambda p: os.path.relpath(p, ROOT))
def test_parses_with_header(path):
    with open(path) as f:
        assert f.readline().startswith("# "), "every gin file starts with its purpose comment"
    gin.clear_config()
    try:
        run.parse_gin([path], [])
    finally:
        gin.clear_config()


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: os.path.relpath(p, ROOT))
def test_runnable_files_bind_every_required_macro(path):
    """Experiment files fill every %gin.REQUIRED of their run leaf (no REQUIRED left), and every
    value they bind has its parameter's type (config_types.py)."""
    with open(path) as f:
        header = f.read()
    assert "Command:" in header and "Expected:" in header
    gin.clear_config()
    try:
        run.parse_gin([path], [])
        assert "gin.REQUIRED" not in gin.config_str()
        assert gin.query_parameter("experiment.task") is not None
        config_types.check_bindings()  # every binding fits its parameter's type and range
    finally:
        gin.clear_config()


def test_typo_in_binding_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.gin"
    bad.write_text("# bad\nrecipe.epochz = 3\n")
    with pytest.raises(ConfigError, match=r"epochz.*line 2"):
        run.parse_gin([str(bad)], [])
    gin.clear_config()
