"""Print a study's runs as independent commands (see kd_efficacy/sweep.py)."""

from absl import app

from kd_efficacy import run  # noqa: F401  (defines --gin_file, --gin_bindings, --model_dir)
from kd_efficacy.sweep import main

if __name__ == "__main__":
    app.run(main)
