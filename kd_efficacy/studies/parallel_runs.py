"""Several processes of one study on one CPU host, started by the study's own command.

``parallel_runs.processes = N`` (default 1): once the plan is checked, the study's process
starts N - 1 helper processes running the same command (same argv, working directory and
environment, plus ``HELPER_ENV``) and trains beside them. They split the runs through the runs'
leases (run_lock.py), as separate starts of one study do (plan.py): no run is trained twice, a
student waits for its teacher wherever that trains, a helper that dies leaves a stale lease the
others take over. A helper writes no study-level file (planned.json, the HParams config, the
report) and exits when no run is left; the study's process waits for its helpers, then reports.

Each process keeps TensorFlow's default thread pools, as a lone study does. On CPU the intra-op
thread count decides float rounding (one thread instead of two changed every digits result), so
this keeps every run bit-identical to the same study trained one run at a time (tested).

On a host with a GPU the processes would share one device and each map all its memory, so
``processes > 1`` is refused there: ``python -m kd_efficacy.launch --launcher=ray`` runs one run
per GPU. Helpers log to ``<study>/helper_logs/helper_<k>.log``. A helper whose study process
dies without passing a signal on (SIGKILL, an OOM kill) stops itself within a second, as if
preempted (``watch_parent``), so no helper outlives its study.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import gin
import tensorflow as tf

from kd_efficacy import distribute, run_dir
from kd_efficacy.config_types import PositiveInt
from kd_efficacy.errors import ConfigError

HELPER_ENV = "KD_EFFICACY_STUDY_HELPER"  # set to "1" in a helper's environment
PARENT_ENV = "KD_EFFICACY_STUDY_PARENT"  # the pid of the study's process, in a helper's
_PARENT_POLL_SECONDS = 1.0
_STOP_SECONDS = 300  # how long a stopped study waits for a helper to save and exit
_GRACE_SECONDS = 2.0  # ... and, before signalling it, for a helper to exit on its own
_command = None  # this process's flags (set_command), which its helpers are started with


@gin.configurable("parallel_runs")
def settings(processes: PositiveInt = 1):
    """How many processes train the study's runs at once (``parallel_runs.processes``)."""
    return processes


def set_command(flags):
    """Records the command line's flags (``kd_efficacy.run`` does, before the experiment)."""
    global _command
    _command = list(flags)


def is_helper():
    """This process is a helper of a study another process of this host started."""
    return os.environ.get(HELPER_ENV) == "1"


def watch_parent():
    """In a helper: stops it as a preemption does (SIGTERM to itself: it saves and exits,
    resumable) once the study's process is gone, killed by a signal nobody could pass on. A
    daemon thread polls the parent pid each second; Linux and macOS alike."""
    parent = os.environ.get(PARENT_ENV)
    if not is_helper() or not parent:
        return None

    def watch():
        while os.getppid() == int(parent):
            time.sleep(_PARENT_POLL_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name="study-parent-watch", daemon=True)
    thread.start()
    return thread


def helper_count(ctx, fits_to_train):
    """How many helpers to start: ``processes - 1``, at most one per ``fit`` left to train (a
    pack of runs is one) beyond this process's own; 0 for a helper, a single run
    (``only_run``) or fewer than two fits left."""
    processes = settings()
    if processes == 1 or is_helper() or ctx.only_run is not None or fits_to_train < 2:
        return 0  # nothing to share (a complete study on a GPU host is not refused)
    if _command is None:
        raise ConfigError(
            f"parallel_runs.processes = {processes} starts copies of the command line; run the "
            "study with python -m kd_efficacy.run, or leave parallel_runs.processes at 1"
        )
    if tf.config.list_physical_devices("GPU"):
        raise ConfigError(
            f"parallel_runs.processes = {processes} shares this host's CPU between processes and "
            "would put them all on one GPU; on a GPU host use python -m kd_efficacy.launch "
            "--launcher=ray (one run per GPU), or leave parallel_runs.processes at 1"
        )
    if distribute.is_multi_worker(ctx.strategy):
        raise ConfigError(
            f"parallel_runs.processes = {processes} starts processes on this host only; under "
            "strategy 'multi_worker' leave it at 1"
        )
    return max(0, min(processes, fits_to_train) - 1)


class Helpers:
    """The helper processes of one study: started together, waited for or stopped together."""

    def __init__(self, study_dir, count):
        command = [sys.executable, "-m", "kd_efficacy.run", *_command]
        logs = os.path.join(study_dir, run_dir.HELPER_LOGS_DIR)
        os.makedirs(logs, exist_ok=True)
        env = {**os.environ, HELPER_ENV: "1", PARENT_ENV: str(os.getpid())}
        self._procs = []
        for k in range(1, count + 1):
            path = os.path.join(logs, f"helper_{k}.log")
            with open(path, "a") as log:  # the child keeps its own copy of the descriptor
                proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            self._procs.append((proc, path))
        if count:
            print(f"[kd_efficacy] {count} helper process(es) share this study; logs in {logs}")

    def wait(self):
        """Waits for every helper; a helper that failed is named with its log (its runs were
        taken over or are reported by this process, which ended with the study complete)."""
        for proc, path in self._procs:
            code = proc.wait()
            if code:
                print(f"[kd_efficacy] a helper exited with status {code}; its log: {path}")

    def stop(self):
        """Stops live helpers as a preemption does (SIGTERM: each saves and exits, resumable).
        Helpers that got the same Ctrl-C (they share the terminal's process group) are given a
        moment to exit on their own first, so that no second signal lands in their exit."""
        deadline = time.monotonic() + _GRACE_SECONDS
        while time.monotonic() < deadline and any(p.poll() is None for p, _ in self._procs):
            time.sleep(0.05)
        for proc, _ in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in self._procs:
            try:
                proc.wait(timeout=_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
