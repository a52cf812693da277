"""KDSettings: how a student learns from its teachers, as one value.

    total = ce_weight · CE(labels, student) + kd_weight · T² · KL(teacher ‖ student)

Like ``Recipe``, a frozen dataclass that gin builds (``@kd()``, bound once in
``gin_configs/runs/kd.gin``) and config_types.py checks by its annotations. It travels whole from
a study or ``distill`` through the plan and the spec to the Distiller. The default (T = 4, CE 0.1,
KD 0.9: Hinton et al.'s alpha = 0.9) is written here only.

Training from scratch is not a KD setting but a fact of ``train``: ``KDSettings.scratch()``.

In a run's spec (its hashed identity) the fields stay flat at the spec's top level
(``spec_fields``), as they were before this value existed, so existing run directories keep
their hashes. A field added later must keep that: leave it out of ``spec_fields`` at its default.
"""

import dataclasses

import gin

from kd_efficacy import config_types
from kd_efficacy.config_types import NonNegativeFloat, PositiveFloat


@dataclasses.dataclass(frozen=True)
class KDSettings:
    # The annotations are the fields' types and ranges (config_types.py checks them).
    temperature: PositiveFloat = 4.0
    ce_weight: NonNegativeFloat = 0.1
    kd_weight: NonNegativeFloat = 0.9

    def __post_init__(self):
        config_types.check_fields(self, "kd")  # gin's values were checked before this

    @classmethod
    def scratch(cls):
        """Cross-entropy only: a run without teachers (the temperature is never used)."""
        return cls(temperature=1.0, ce_weight=1.0, kd_weight=0.0)

    @classmethod
    def from_spec(cls, spec):
        """The settings a spec was made with; a ``train`` spec has none: ``scratch()``."""
        if spec.get("task") != "distill":
            return cls.scratch()
        return cls(**{f.name: spec[f.name] for f in dataclasses.fields(cls)})

    def spec_fields(self):
        """The spec's (flat, top-level) entries for these settings."""
        return {
            "temperature": float(self.temperature),
            "ce_weight": float(self.ce_weight),
            "kd_weight": float(self.kd_weight),
        }


# The default, for signatures (a default argument must not be a call).
DEFAULT = KDSettings()

# Gin builds the settings as ``@kd()``; registering the dataclass itself lets gin reject a
# misspelled field at parse time, naming the file and line.
gin.external_configurable(KDSettings, name="kd")
