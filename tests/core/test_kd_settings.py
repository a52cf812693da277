"""KDSettings: one default, bound once in gin, checked by its annotations, and flat in the spec
so existing run directories keep their hashes (no training; the CLI cases are in
tests/reliability/test_bad_inputs.py)."""

import inspect

import gin
import pytest

from kd_efficacy import config_types, run, run_dir, tasks
from kd_efficacy.errors import ConfigError
from kd_efficacy.kd_settings import DEFAULT, KDSettings
from kd_efficacy.recipe import Recipe
from kd_efficacy.studies import capacity_gap, early_stopping, ensemble, grid, plan, sequential

STUDY_LEAVES = ("capacity_gap", "early_stopping", "ensemble", "sequential", "distill")


def _parsed(files, bindings=()):
    gin.clear_config()
    run.parse_gin(files, list(bindings))


@pytest.fixture(autouse=True)
def _clean_gin():
    yield
    gin.clear_config()


def test_one_default_hinton():
    assert KDSettings() == KDSettings(temperature=4.0, ce_weight=0.1, kd_weight=0.9)
    # Every signature that takes the settings defaults to the same object, not a copy of values.
    takers = [
        tasks.distill,
        capacity_gap.capacity_gap,
        early_stopping.early_stopping,
        ensemble.ensemble,
        sequential.sequential,
        sequential.chain_plan,
        grid.grid_plan,
    ]
    for fn in takers:
        fn = getattr(fn, "__wrapped__", fn)
        assert inspect.signature(fn).parameters["kd"].default is DEFAULT, fn
    assert plan.PlannedRun("r", "scratch", "m", 0, Recipe()).kd is DEFAULT


def test_gin_leaf_mirrors_the_default_and_macros_reach_every_leaf():
    _parsed(["gin_configs/runs/kd.gin"])
    assert gin.get_configurable("kd")() == KDSettings()
    for leaf in STUDY_LEAVES:  # each leaf passes @kd() on; the user macros still steer it
        _parsed([f"gin_configs/runs/{leaf}.gin"], ["TEMPERATURE = 2", "CE_WEIGHT = 0.5"])
        assert gin.query_parameter(f"{leaf}.kd").selector == "kd"
        assert gin.get_configurable("kd")() == KDSettings(2, 0.5, 0.9), leaf


@pytest.mark.parametrize(
    "bindings, message",
    [
        (["KD_WEIGHT = -1"], "KD_WEIGHT = -1 (kd.kd_weight): expected a number >= 0; change"),
        (["kd.temperature = 'hot'"], "kd.temperature = 'hot': expected a number > 0; change"),
        (["distill.kd = @recipe()"], "distill.kd = @recipe(): expected @kd()"),
    ],
)
def test_bad_bindings_are_refused_before_anything_is_built(bindings, message):
    _parsed(["gin_configs/runs/distill.gin"], bindings)
    with pytest.raises(ConfigError) as error:
        config_types.check_bindings()
    assert str(error.value).startswith(message), str(error.value)


def test_python_built_settings_are_checked():
    with pytest.raises(ConfigError, match=r"^kd.temperature = 0: expected a number > 0; change"):
        KDSettings(temperature=0)


def test_scratch_is_cross_entropy_only():
    spec = tasks.train_spec("resnet8", Recipe(epochs=3), 1)
    assert KDSettings.from_spec(spec) == KDSettings.scratch()
    assert (KDSettings.scratch().ce_weight, KDSettings.scratch().kd_weight) == (1.0, 0.0)


def _distill_spec(kd):
    return tasks.distill_spec(
        "/study/runs/kd/resnet20/resnet8_s0",
        "resnet8",
        [("/study/runs/teacher/resnet20_s0", "0123456789abcdef")],
        Recipe(epochs=3),
        1,
        kd,
        "last",
        2,
        (1,),
    )


def test_spec_keys_stay_flat_and_hashes_unchanged():
    spec = _distill_spec(KDSettings(4, 0.1, 0.9))
    assert (spec["temperature"], spec["ce_weight"], spec["kd_weight"]) == (4.0, 0.1, 0.9)
    assert "kd" not in spec and KDSettings.from_spec(spec) == KDSettings()
    # Computed on main before KDSettings existed (three loose scalars): run and study
    # directories made then must keep their config_hash, i.e. stay complete and resumable.
    assert run_dir.spec_hash(spec) == "36ab44be626ddae4"
    train = tasks.train_spec("resnet8", Recipe(epochs=3), 1, (1,))
    assert run_dir.spec_hash(train) == "7bac550c2784b544"


def test_method_fields_enter_the_spec_only_for_their_method():
    vanilla = _distill_spec(KDSettings(4, 0.1, 0.9, method="kd", mix="none"))
    assert run_dir.spec_hash(vanilla) == "36ab44be626ddae4"  # the default method: same hash
    dkd = _distill_spec(KDSettings(4, 1.0, 1.0, method="dkd"))
    assert (dkd["method"], dkd["dkd_alpha"], dkd["dkd_beta"]) == ("dkd", 1.0, 8.0)
    assert "dist_beta" not in dkd and "mix" not in dkd
    mixed = _distill_spec(KDSettings(1, 0.0, 1.0, mix="cutmix", mix_alpha=0.5))
    assert (mixed["mix"], mixed["mix_alpha"]) == ("cutmix", 0.5) and "method" not in mixed
    for kd in (KDSettings(4, 1.0, 1.0, method="dist", dist_gamma=2.0), KDSettings(mix="mixup")):
        assert KDSettings.from_spec(_distill_spec(kd)) == kd
    hashes = {run_dir.spec_hash(_distill_spec(KDSettings(method=m))) for m in ("kd", "dkd", "dist")}
    assert len(hashes) == 3


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"dkd_beta": 4.0}, "kd.dkd_beta = 4.0 is set but kd.method = 'kd'"),
        ({"method": "dkd", "dist_gamma": 2.0}, "kd.dist_gamma = 2.0 is set but kd.method = 'dkd'"),
        ({"mix_alpha": 0.2}, "kd.mix_alpha = 0.2 is set but kd.method = 'kd', kd.mix = 'none'"),
        ({"method": "dkd", "mix": "mixup"}, "kd.method = 'dkd' cannot train on mixed images"),
        ({"method": "crd"}, "kd.method = 'crd': expected 'kd', 'dkd' or 'dist'"),
        ({"mix": "cutout"}, "kd.mix = 'cutout': expected 'none', 'mixup' or 'cutmix'"),
    ],
)
def test_settings_a_method_never_uses_are_refused(fields, message):
    with pytest.raises(ConfigError) as error:
        KDSettings(**fields)
    assert str(error.value).startswith(message), str(error.value)


def test_kd_methods_leaf_builds_each_method_from_gin(tmp_path):
    """Each variant of the study gets its own scoped settings (runs/kd_methods.gin)."""
    from kd_efficacy import experiment

    _parsed(["gin_configs/experiments/kd_methods/digits.gin"])
    ready = experiment.run(plan_only=True, model_dir=str(tmp_path))
    by_role = {r.role: r.kd for r in ready.runs if r.teachers}
    assert by_role["kd"] == by_role["eskd"] == DEFAULT
    assert (by_role["dkd"].method, by_role["dkd"].dkd_beta, by_role["dkd"].ce_weight) == (
        "dkd",
        8.0,
        1.0,
    )
    assert (by_role["dist"].method, by_role["dist"].temperature) == ("dist", 1.0)
    matching = by_role["function_matching"]
    assert (matching.method, matching.mix, matching.ce_weight) == ("kd", "mixup", 0.0)


def test_a_variant_whose_third_element_is_not_kd_settings_is_refused():
    _parsed(
        ["gin_configs/experiments/kd_methods/digits.gin"],
        ["VARIANTS = {'dkd': ('last', None, @student/recipe())}"],
    )
    with pytest.raises(ConfigError) as error:
        config_types.check_bindings()
    assert "(TEACHER_EPOCH, STOP_KD_EPOCH, @scope/kd())" in str(error.value), str(error.value)
