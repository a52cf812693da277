"""The KD-methods section reads each method's trend over the teacher ladder from the numbers:
a step counts as an improvement only when its paired 95% CI excludes zero."""

import os
import types

from kd_efficacy.report import method_sections, variants

TEACHERS = (("small", 1e4), ("mid", 1e5), ("large", 1e6))
NOISE = (0.0, 0.004, -0.003)  # per seed, shared by every group (what pairing removes)
JITTER = ((0.001, -0.002, 0.0), (-0.001, 0.002, 0.001), (0.002, 0.0, -0.001))  # per teacher


def _rows(role, method, accuracies):
    rows = []
    for (teacher, params), acc, jitter in zip(TEACHERS, accuracies, JITTER):
        for seed, noise in enumerate(NOISE):
            rows.append(
                {
                    "run": f"{role}/{teacher}/s_s{seed}",
                    "role": role,
                    "model": "s",
                    "teacher": teacher,
                    "teacher_params": params,
                    "teacher_epoch": "last",
                    "kd_method": method,
                    "seed": seed,
                    "test_accuracy": acc + noise + jitter[seed] * (1 if method == "kd" else -1),
                    "val_accuracy": acc + noise,
                }
            )
    return rows


def _scratch():
    return [
        {
            "run": f"scratch/s_s{i}",
            "role": "scratch",
            "model": "s",
            "seed": i,
            "test_accuracy": 0.70 + n,
        }
        for i, n in enumerate(NOISE)
    ]


def test_rising_ladder_is_called_improving_and_a_flat_step_is_not():
    rows = (
        _scratch() + _rows("kd", "kd", (0.75, 0.80, 0.85)) + _rows("dkd", "dkd", (0.78, 0.86, 0.86))
    )
    rising = method_sections.keeps_improving(rows, "kd")
    assert "kept improving with every step up in teacher size" in rising
    assert rising.startswith("**full KD**")
    flat = method_sections.keeps_improving(rows, "dkd")
    assert flat.startswith("**DKD**")
    assert "did not keep improving with teacher size (mid → large: no clear difference)" in flat
    assert "Largest teacher against scratch: students of large beat scratch" in flat


def test_a_falling_step_is_called_worse():
    rows = _rows("dist", "dist", (0.80, 0.86, 0.79))
    text = method_sections.keeps_improving(rows, "dist")
    assert "(mid → large: worse)" in text and text.startswith("**DIST**")


def test_section_compares_each_method_with_vanilla_kd_and_draws_the_ladder(tmp_path):
    rows = (
        _scratch()
        + _rows("kd", "kd", (0.75, 0.80, 0.85))
        + _rows("function_matching", "kd+mixup", (0.75, 0.82, 0.88))
    )
    examples = sorted(
        {r["role"]: r for r in rows if r["role"] != "scratch"}.values(), key=variants.order
    )
    study = types.SimpleNamespace(directory=str(tmp_path), student="s")
    heading, body = method_sections.section(study, rows, examples)
    assert heading.startswith("KD methods")
    assert (
        "Teacher large, student test accuracy: function matching (KD on MixUp) beat full KD" in body
    )
    assert os.path.isfile(tmp_path / "figures" / "methods_ladder.png")


def test_no_section_without_another_method():
    rows = _rows("kd", "kd", (0.75, 0.80, 0.85))
    examples = [rows[0]]
    study = types.SimpleNamespace(directory="/nonexistent", student="s")
    assert method_sections.section(study, rows, examples) is None


def test_a_step_without_a_ci_is_not_called_unclear():
    rows = [r for r in _rows("dkd", "dkd", (0.78, 0.86, 0.86)) if r["seed"] == 0]
    text = method_sections.keeps_improving(rows, "dkd")
    assert "(small → mid: not testable (too few seeds or no spread);" in text
