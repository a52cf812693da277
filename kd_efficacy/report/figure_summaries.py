"""The report's figures in TensorBoard: ``figures/*.png`` as image summaries of the study's run.

``study_report.build`` calls ``log_figures`` after drawing the figures, so the study's TensorBoard
run (``<study_dir>/logs``, beside the HParams config) shows exactly the figures ``report.md``
links to. The step is the number of complete runs, so a report rebuilt as the study grows says
how many runs each figure is drawn from. A rebuild replaces the previous figure events: a figure
that is no longer drawn leaves the dashboard too.
"""

import contextlib
import glob
import os

import tensorflow as tf

from kd_efficacy import run_dir


def figure_paths(study_dir):
    """The study's PNG figures, sorted by name."""
    return sorted(glob.glob(os.path.join(study_dir, run_dir.FIGURES_DIR, "*.png")))


def log_figures(study_dir, step):
    """Writes every figure as an image summary tagged ``figures/<name>``; returns the tags."""
    logs_dir = os.path.join(study_dir, run_dir.STUDY_LOGS_DIR)
    for old in glob.glob(os.path.join(logs_dir, "*" + run_dir.FIGURES_EVENTS_SUFFIX)):
        with contextlib.suppress(FileNotFoundError):  # a concurrent study process's removal
            os.remove(old)
    tags = []
    writer = tf.summary.create_file_writer(logs_dir, filename_suffix=run_dir.FIGURES_EVENTS_SUFFIX)
    with writer.as_default():
        for path in figure_paths(study_dir):
            with open(path, "rb") as f:
                image = tf.io.decode_png(f.read(), channels=4)
            tag = f"{run_dir.FIGURES_DIR}/{os.path.splitext(os.path.basename(path))[0]}"
            tf.summary.image(tag, image[tf.newaxis], step=step)
            tags.append(tag)
    writer.close()
    return tags
