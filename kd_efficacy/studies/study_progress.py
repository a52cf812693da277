"""One readable line per run of a study: when it starts, and how it ended, with a time estimate.

``[kd_efficacy] [2/3] kd/resnet8_s0: done in 41 s, val acc 0.89 (test 0.88); 1 run left, about
1 min``. The estimate is the mean wall time of the runs trained so far in this process times the
runs left ("estimate pending" before the first); skipped runs cost nothing, so it errs high.
"""

import time

from kd_efficacy import run_dir

_ENDINGS = {
    "skipped": "skipped (already complete)",
    "blocked": "blocked (a teacher it needs did not train)",
    "failed": "failed",
}


class StudyProgress:
    """Prints a study's per-run lines; ``names`` are the runs this process reports, in order."""

    def __init__(self, names, enabled=True):
        self._index = {name: i + 1 for i, name in enumerate(names)}
        self._enabled = enabled
        self._left = len(names)
        self._started = {}  # run name -> monotonic start time
        self._trained_seconds = []
        self._held = set()  # runs seen held by another process: complete later means done there

    def start(self, name, finished_epochs):
        self._started[name] = time.monotonic()
        how = f"resuming after epoch {finished_epochs}" if finished_epochs else "training"
        self._print(name, how)

    def held(self, name):
        """Another process holds the run's lease: it is retried later, not counted as ended."""
        self._started.pop(name, None)
        self._held.add(name)
        self._print(name, "held by another process; trying again later")

    def ended(self, name, action, directory):
        if name not in self._index:
            return  # only_run: the study's other runs are not this process's to report
        self._left -= 1
        started = self._started.pop(name, None)
        seconds = time.monotonic() - started if started is not None else None
        if action == "trained":
            self._trained_seconds.append(seconds)
            text = f"done in {_duration(seconds)}{_accuracy(run_dir.read_result(directory))}"
        elif action == "skipped" and name in self._held:
            text = f"done by another process{_accuracy(run_dir.read_result(directory))}"
        else:
            text = _ENDINGS.get(action, action)
            if action == "failed" and seconds is not None:
                text += f" after {_duration(seconds)}"
        self._print(name, f"{text}; {self._remaining()}")

    def _remaining(self):
        runs = f"{self._left} run{'' if self._left == 1 else 's'} left"
        if not self._left:
            return runs
        if not self._trained_seconds:
            return f"{runs}, estimate pending"
        mean = sum(self._trained_seconds) / len(self._trained_seconds)
        return f"{runs}, about {_duration(mean * self._left)}"

    def _print(self, name, text):
        if self._enabled and name in self._index:
            print(
                f"[kd_efficacy] [{self._index[name]}/{len(self._index)}] {name}: {text}", flush=True
            )


def _accuracy(result):
    result = result or {}
    val = (result.get("last") or {}).get("val_accuracy")
    test = (result.get("test") or {}).get("accuracy")
    text = f", val acc {val:.2f}" if val is not None else ""
    return text + (f" (test {test:.2f})" if test is not None else "")


def _duration(seconds):
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
