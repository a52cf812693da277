"""The KD-methods study end to end at tiny scale: each method is a variant of the one grid, its
settings reach the run's spec and metrics, and the report answers per method."""

import csv
import json

import pytest
from kd_testing import TINY_STUDY, assert_study_contract, run_experiment

from kd_efficacy import atomic_io

KD_METHODS_GIN = "gin_configs/experiments/kd_methods/digits.gin"
VARIANTS = (
    "VARIANTS = {'kd': ('last', None), 'dkd': ('last', None, @dkd/kd()), "
    "'dist': ('last', None, @dist/kd()), "
    "'function_matching': ('last', None, @function_matching/kd())}"
)


@pytest.mark.slow  # six tiny runs (~1 min on idle cores); short variants: tests/core/test_kd_*
def test_each_method_trains_as_a_variant_and_is_reported(tmp_path):
    study = tmp_path / "methods"
    run_experiment([KD_METHODS_GIN], [*TINY_STUDY, VARIANTS], study)
    assert_study_contract(study)  # every planned run complete
    with open(study / "summary.csv") as f:
        methods = {r["role"]: r["kd_method"] for r in csv.DictReader(f)}
    assert methods == {
        "teacher": "",
        "scratch": "",
        "kd": "kd",
        "dkd": "dkd",
        "dist": "dist",
        "function_matching": "kd+mixup",
    }
    with open(study / "runs/dkd/resnet8/resnet8_s0/run.json") as f:
        spec = json.load(f)
    assert (spec["method"], spec["dkd_beta"], spec["ce_weight"]) == ("dkd", 8.0, 1.0)
    with open(study / "runs/kd/resnet8/resnet8_s0/run.json") as f:
        assert "method" not in json.load(f)  # vanilla KD: the spec as before methods existed
    metrics = atomic_io.read_json_lines(study / "runs/dist/resnet8/resnet8_s0/metrics.jsonl")
    assert metrics[-1]["dist"] >= 0 and metrics[-1]["kd"] >= 0  # its term, and the KL
    report = (study / "report.md").read_text()
    assert "## KD methods: does the student keep improving as the teacher grows?" in report
    for name in ("**full KD**", "**DKD**", "**DIST**", "**function matching (KD on MixUp)**"):
        assert name in report
    assert (study / "figures" / "methods_ladder.png").is_file()
