"""Imports every module that registers gin names, so config files can refer to them."""

from kd_efficacy import experiment, recipe, tasks  # noqa: F401
