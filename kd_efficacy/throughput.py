"""Timing windows and memory peaks for throughput measurements (used by ``benchmark.py``).

A window is one ``fit`` (or ``predict``) call of ``1 + steps`` steps: its first step absorbs the
per-call costs (iterator creation, the pipeline filling its prefetch buffer), so the clock starts
when step 1 begins and stops at epoch (or predict) end. The timer hooks only ``*_batch_begin``
and the end events: Keras dispatches batch-*end* callbacks asynchronously unless one of them
overrides ``on_train_batch_end``, so a timer that hooked it would itself change what it measures.

Each window also records the process's CPU time and, from ``/proc/stat``, the CPU time all
other processes used meanwhile: on a shared machine the wall-clock rate falls when others take
cores away, while images per CPU-second (``Window.cpu_images_per_s``) barely moves.

Memory: Linux keeps the resident-set peak in ``VmHWM`` and resets it on writing 5 to
``/proc/self/clear_refs``, so each window's peak is measured on its own. Elsewhere the peak is
the process-lifetime ``ru_maxrss``. GPU peaks come from ``tf.config.experimental`` when a GPU
exists.
"""

import dataclasses
import os
import resource
import statistics
import time

import keras
import tensorflow as tf

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"
_PROC_STAT = "/proc/stat"


@dataclasses.dataclass
class Window:
    """One timed window: ``steps`` steps of ``batch_size`` images in ``seconds`` of wall time."""

    steps: int
    batch_size: int
    seconds: float
    cpu_seconds: float
    others_cpu_seconds: float | None
    peak_rss_mb: float

    @property
    def images_per_s(self) -> float:
        return self.steps * self.batch_size / self.seconds

    @property
    def cpu_images_per_s(self) -> float:
        """Images per second of this process's CPU time, times the core count.

        Equals ``images_per_s`` when the process has every core to itself and stays nearly the
        same when other processes take cores away: the figure to compare on a shared machine.
        """
        return self.steps * self.batch_size / self.cpu_seconds * _cores()

    @property
    def cpu_share(self) -> float:
        """Fraction of the machine's cores this process used."""
        return self.cpu_seconds / (self.seconds * _cores())

    @property
    def others_share(self) -> float | None:
        """Fraction of the machine's cores other processes used (None where unknown)."""
        if self.others_cpu_seconds is None:
            return None
        return max(self.others_cpu_seconds, 0.0) / (self.seconds * _cores())


class WindowTimer(keras.callbacks.Callback):
    """Times steps ``[1, total)`` of one fit or predict call (see the module docstring)."""

    def __init__(self):
        super().__init__()
        self.start = self.stop = None
        self.first_step = None
        self.last_step = -1

    def _begin(self, batch):
        # With steps_per_execution k, ``batch`` advances by k per call.
        if self.first_step is None and batch > 0:
            self.first_step = batch
            self.start = _clock()
        self.last_step = batch

    def on_train_batch_begin(self, batch, logs=None):
        self._begin(batch)

    def on_predict_batch_begin(self, batch, logs=None):
        self._begin(batch)

    def on_epoch_end(self, epoch, logs=None):
        self.stop = _clock()

    def on_predict_end(self, logs=None):
        self.stop = _clock()


def _cores():
    return os.cpu_count() or 1


def _clock():
    return time.perf_counter(), time.process_time(), _machine_busy_seconds()


def _machine_busy_seconds():
    """CPU seconds every process of the machine has used since boot (Linux), else None."""
    try:
        with open(_PROC_STAT) as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(run, steps: int, batch_size: int, steps_per_call: int = 1) -> Window:
    """Calls ``run(total_steps, timer)`` (one fit/predict) and returns its timed window.

    ``steps_per_call`` is the model's ``steps_per_execution``: the lead-in is one such call and
    the timed steps are rounded up to whole calls.
    """
    calls = -(-steps // steps_per_call)
    timer = WindowTimer()
    reset_peak_rss()
    run((calls + 1) * steps_per_call, timer)
    if timer.start is None or timer.stop is None:
        raise RuntimeError("the timed call ran fewer than 2 steps")
    # Steps from the second call's first step (first_step) to the end of the last call.
    timed_steps = timer.last_step + steps_per_call - timer.first_step
    cpu_seconds = timer.stop[1] - timer.start[1]
    others = None
    if timer.start[2] is not None and timer.stop[2] is not None:
        others = timer.stop[2] - timer.start[2] - cpu_seconds
    return Window(
        steps=timed_steps,
        batch_size=batch_size,
        seconds=timer.stop[0] - timer.start[0],
        cpu_seconds=cpu_seconds,
        others_cpu_seconds=others,
        peak_rss_mb=peak_rss_mb(),
    )


def summary(values) -> dict:
    """Median and spread of a list of measurements."""
    values = [float(v) for v in values]
    median = statistics.median(values)
    return {
        "median": median,
        "min": min(values),
        "max": max(values),
        # Half the min-max range relative to the median: "± x %" in the tables.
        "spread": (max(values) - min(values)) / (2 * median) if median else 0.0,
        "values": values,
    }


def reset_peak_rss() -> bool:
    """Resets the kernel's resident-set peak for this process; False where unsupported."""
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident set since the last reset (Linux), else since the process started."""
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    # ru_maxrss is in KiB on Linux and bytes on macOS; this branch is for the latter.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def gpu_memory_mb() -> dict | None:
    """Current and peak memory of each GPU, or None on a machine without GPUs."""
    gpus = tf.config.list_logical_devices("GPU")
    if not gpus:
        return None
    report = {}
    for device in gpus:
        info = tf.config.experimental.get_memory_info(device.name)
        report[device.name] = {k: v / 2**20 for k, v in info.items()}
    return report
