"""Imports every module that registers gin names, so config files can refer to them."""

from kd_efficacy import experiment, import_teacher, recipe, tasks  # noqa: F401
from kd_efficacy.studies import (  # noqa: F401
    capacity_gap,
    early_stopping,
    ensemble,
    sequential,
)
