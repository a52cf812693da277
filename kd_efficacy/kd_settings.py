"""KDSettings: how a student learns from its teachers, as one value.

    total = ce_weight · CE(labels, student) + kd_weight · T² · KL(teacher ‖ student)

Like ``Recipe``, a frozen dataclass that gin builds (``@kd()``, bound once in
``gin_configs/runs/kd.gin``) and config_types.py checks by its annotations. It travels whole from
a study or ``distill`` through the plan and the spec to the Distiller. The default (T = 4, CE 0.1,
KD 0.9: Hinton et al.'s alpha = 0.9) is written here only.

Training from scratch is not a KD setting but a fact of ``train``: ``KDSettings.scratch()``.

``method`` picks the KD term (kd_methods.py): ``'kd'`` (the formula above), ``'dkd'`` (Zhao et
al. 2022, dkd.py) or ``'dist'`` (Huang et al. 2022, dist_kd.py); each replaces T² KL and keeps
CE_WEIGHT and KD_WEIGHT (so ESKD's KD weight 0 switches any method off). ``mix`` mixes the
training batch that teacher and student both see (mixing.py: MixUp or CutMix, Beta(mix_alpha,
mix_alpha)); KD on consistently mixed images is Beyer et al.'s (2022) function matching. A
method's parameters are refused when another method is chosen (they would do nothing), as is
``mix`` with DKD (its decoupling needs one target class per image).

In a run's spec (its hashed identity) the fields stay flat at the spec's top level
(``spec_fields``), as they were before this value existed, so existing run directories keep
their hashes. A field added later must keep that: leave it out of ``spec_fields`` at its default.
"""

import dataclasses
from typing import Literal

import gin

from kd_efficacy import config_types
from kd_efficacy.config_types import NonNegativeFloat, PositiveFloat
from kd_efficacy.errors import ConfigError

METHODS = ("kd", "dkd", "dist")
MIXES = ("none", "mixup", "cutmix")
# Each method's own fields: in the spec only with their method, refused without it.
METHOD_FIELDS = {"kd": (), "dkd": ("dkd_alpha", "dkd_beta"), "dist": ("dist_beta", "dist_gamma")}
MIX_FIELDS = ("mix_alpha",)


@dataclasses.dataclass(frozen=True)
class KDSettings:
    # The annotations are the fields' types and ranges (config_types.py checks them).
    temperature: PositiveFloat = 4.0
    ce_weight: NonNegativeFloat = 0.1
    kd_weight: NonNegativeFloat = 0.9
    method: Literal["kd", "dkd", "dist"] = "kd"
    # DKD's defaults: the official code's CIFAR-100 configs (mdistiller, DKD.ALPHA / BETA).
    dkd_alpha: NonNegativeFloat = 1.0
    dkd_beta: NonNegativeFloat = 8.0
    # DIST's defaults: the official DIST class (hunto/DIST_KD, beta = gamma = 1).
    dist_beta: NonNegativeFloat = 1.0
    dist_gamma: NonNegativeFloat = 1.0
    mix: Literal["none", "mixup", "cutmix"] = "none"
    mix_alpha: PositiveFloat = 1.0  # Beta(1, 1): the mixing weight uniform in [0, 1]

    def __post_init__(self):
        config_types.check_fields(self, "kd")  # gin's values were checked before this
        unused = [
            name
            for method, names in METHOD_FIELDS.items()
            if method != self.method
            for name in names
            if getattr(self, name) != _FIELD_DEFAULTS[name]
        ]
        if self.mix == "none":
            unused += [n for n in MIX_FIELDS if getattr(self, n) != _FIELD_DEFAULTS[n]]
        if unused:
            raise ConfigError(
                f"kd.{unused[0]} = {getattr(self, unused[0])!r} is set but kd.method = "
                f"{self.method!r}, kd.mix = {self.mix!r} never use it; remove the binding or "
                "choose the method (or mix) it belongs to"
            )
        if self.method == "dkd" and self.mix != "none":
            raise ConfigError(
                f"kd.method = 'dkd' cannot train on mixed images (kd.mix = {self.mix!r}): DKD "
                "splits off one target class per image; use kd.mix = 'none' or another method"
            )

    @classmethod
    def scratch(cls):
        """Cross-entropy only: a run without teachers (the temperature is never used)."""
        return cls(temperature=1.0, ce_weight=1.0, kd_weight=0.0)

    @classmethod
    def from_spec(cls, spec):
        """The settings a spec was made with; a ``train`` spec has none: ``scratch()``."""
        if spec.get("task") != "distill":
            return cls.scratch()
        # Fields added after the first three are absent from older specs: their defaults.
        return cls(**{f.name: spec[f.name] for f in dataclasses.fields(cls) if f.name in spec})

    def spec_fields(self):
        """The spec's (flat, top-level) entries for these settings.

        The first three always; ``method`` and its fields only for a method other than 'kd',
        ``mix`` and ``mix_alpha`` only when mixing: an existing run's spec (and hash) is the same.
        """
        fields = {
            "temperature": float(self.temperature),
            "ce_weight": float(self.ce_weight),
            "kd_weight": float(self.kd_weight),
        }
        if self.method != "kd":
            fields["method"] = self.method
            fields.update({n: float(getattr(self, n)) for n in METHOD_FIELDS[self.method]})
        if self.mix != "none":
            fields["mix"] = self.mix
            fields.update({n: float(getattr(self, n)) for n in MIX_FIELDS})
        return fields


_FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(KDSettings)}

# The default, for signatures (a default argument must not be a call).
DEFAULT = KDSettings()

# Gin builds the settings as ``@kd()``; registering the dataclass itself lets gin reject a
# misspelled field at parse time, naming the file and line.
gin.external_configurable(KDSettings, name="kd")
