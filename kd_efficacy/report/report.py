"""report.md: what ran, the tables and what they show, written from the numbers."""

import os
import platform

from kd_efficacy import atomic_io

REPORT_MD = "report.md"


def environment_line():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU(s)" if gpus else f"CPU only ({os.cpu_count()} cores)"
    return f"TensorFlow {tf.__version__}, {device}, {platform.platform()}"


def write(study_dir, title, what_ran, sections):
    """``sections``: list of (heading, body markdown)."""
    parts = [f"# {title}", "", "## What ran", "", what_ran, ""]
    for heading, body in sections:
        parts += [f"## {heading}", "", body, ""]
    text = "\n".join(parts).rstrip() + "\n"
    atomic_io.write_text(os.path.join(study_dir, REPORT_MD), text)
    return text
