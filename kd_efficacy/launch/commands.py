"""The one way a launcher's job runs a study command: a subprocess in the study's checkout.

A job may run on another machine: it gets the submitting process's working directory (gin
files are found relative to it, so every machine needs the checkout at the same path), its
Python and the few environment variables that select the code, never the whole environment
(that would carry the submitter's CUDA_VISIBLE_DEVICES or TF_CONFIG to every job).
"""

import os
import subprocess
import sys

from kd_efficacy import sweep
from kd_efficacy.errors import ConfigError

_FORWARDED_ENV = ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")


def planned(gin_files, gin_bindings, model_dir=None):
    """``sweep.plan`` with an absolute study directory and this process's Python in each argv."""
    import gin

    gin.clear_config()
    try:
        if model_dir is None:
            from kd_efficacy import run

            run.parse_gin(gin_files, gin_bindings)
            try:
                model_dir = gin.query_parameter("experiment.model_dir")
            except ValueError:
                raise ConfigError(
                    "the study has no experiment.model_dir; pass --model_dir"
                ) from None
            gin.clear_config()
        study_dir, runs, final = sweep.plan(gin_files, gin_bindings, os.path.abspath(model_dir))
    finally:
        gin.clear_config()
    here = lambda argv: (sys.executable, *argv[1:])  # noqa: E731
    runs = [sweep.RunCommand(r.name, r.teachers, r.wave, here(r.argv)) for r in runs]
    return study_dir, runs, here(final)


def job_setup():
    """(cwd, env) that every job of this submission runs its command with."""
    return os.getcwd(), {k: os.environ[k] for k in _FORWARDED_ENV if k in os.environ}


def run_command(argv, cwd, env, *after):
    """Runs one study command to its end; returns its exit status.

    ``after`` only orders the job (a Ray task's teachers' results); a failed teacher does not
    stop its students: their command finds it failed and records them blocked, as a study does.
    """
    del after
    done = subprocess.run(list(argv), cwd=cwd, env={**os.environ, **env}, check=False)
    return done.returncode
