"""What a run ran on, in words: recorded in result.json so a report can say it.

A report may be rebuilt on another machine than the one that trained (runs gathered from several
hosts), so the hardware is captured by each run, not by the report.
"""

import os
import platform


def describe():
    """``{'devices', 'tensorflow', 'platform'}`` of this process, as plain strings."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            names.append(details.get("device_name", "GPU"))
        kinds = sorted(set(names))
        devices = f"{len(gpus)} GPU(s): {', '.join(kinds)}"
    else:
        devices = f"CPU only ({os.cpu_count()} cores)"
    return {
        "devices": devices,
        "tensorflow": tf.__version__,
        "platform": platform.platform(),
    }


def line(description):
    """One readable line for a report."""
    return (
        f"{description.get('devices', '?')}, TensorFlow {description.get('tensorflow', '?')}, "
        f"{description.get('platform', '?')}"
    )
