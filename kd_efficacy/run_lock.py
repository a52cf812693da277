"""One process per run directory: a lease file naming its holder (host, pid, start time, token).

A lease is a numbered file ``run.lock.<n>`` in the run directory; the highest number is the
current lease. Taking it means creating the next number exclusively (a complete temp file
hard-linked to the name, which NFS performs atomically where ``flock`` may not work), so among
processes racing for the same free or stale lease exactly one creation succeeds, and nothing is
ever renamed or deleted to take a lease over. A winner then deletes the lower numbers; a creator
that finds a higher number than its own after creating (its slot had been deleted by such a
cleanup) has lost. The highest file is never deleted: releasing rewrites it as released, so the
numbers only grow.

The current lease is *stale*, and may be taken over, when it is released; when its holder ran on
this host (same boot) and that pid is gone, a zombie, or a different process (start time from
/proc); or, for another host, when its mtime is older than ``lease_seconds``: a holder touches its
lease every ``heartbeat_seconds`` from a daemon thread. A holder stalled past the lease can thus
lose it to another host; it then prints a warning (there is no safe way to stop its training).
"""

import contextlib
import dataclasses
import datetime
import json
import os
import re
import socket
import sys
import threading
import time
import uuid

import gin

from kd_efficacy import atomic_io, run_dir
from kd_efficacy.errors import ConfigError, RunLocked

_NAME = re.compile("^" + re.escape(run_dir.LOCK_PREFIX) + r"(\d+)$")
HOST = socket.gethostname()


class Held(RunLocked):
    """Another live process holds the run directory's lease."""

    def __init__(self, directory, holder):
        self.directory = directory
        self.holder = holder
        super().__init__(
            f"{directory} is being trained by pid {holder.get('pid', '?')} on "
            f"{holder.get('host', '?')} since {holder.get('started', '?')}; wait for it to finish "
            "(or bind run_lock.wait = True to wait), or use another --model_dir"
        )


@dataclasses.dataclass(frozen=True)
class Settings:
    wait: bool = False
    lease_seconds: float = 120.0
    heartbeat_seconds: float = 10.0


@gin.configurable("run_lock")
def settings(wait=False, lease_seconds=120.0, heartbeat_seconds=10.0):
    """``wait``: a single run whose directory is held waits for it instead of refusing."""
    if not 0 < heartbeat_seconds < lease_seconds:
        raise ConfigError(
            f"run_lock.heartbeat_seconds={heartbeat_seconds} must be > 0 and below "
            f"run_lock.lease_seconds={lease_seconds}; e.g. 10 and 120"
        )
    return Settings(bool(wait), float(lease_seconds), float(heartbeat_seconds))


def _read(path):
    """The file's text, or None when it vanished (a winner's cleanup)."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def _proc_stat(pid):
    """(state, start time in clock ticks) from /proc, or None where /proc is not readable."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    fields = text.rsplit(")", 1)[-1].split()  # the command name in (...) may hold spaces
    return fields[0], int(fields[19])


def _boot_id():
    text = _read("/proc/sys/kernel/random/boot_id")
    return text.strip() if text else None


def _alive(pid, start):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, started = stat
    return state not in ("Z", "X") and (start is None or started == start)


def _numbers(directory):
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(int(m.group(1)) for m in map(_NAME.match, names) if m)


def _path(directory, number):
    return os.path.join(directory, f"{run_dir.LOCK_PREFIX}{number}")


def is_stale(record, mtime, lease_seconds):
    """Whether a lease record (None: unreadable) with this mtime may be taken over."""
    if record is None:  # being written without hard links (see atomic_io.create_exclusive)
        return time.time() - mtime > lease_seconds
    if record.get("released"):
        return True
    if record.get("host") == HOST and record.get("boot_id") == _boot_id():
        return not _alive(record["pid"], record.get("pid_start"))
    return time.time() - mtime > lease_seconds


def _current(directory):
    """(number, record or None, mtime) of the highest lease, or None when there is none."""
    for number in reversed(_numbers(directory)):
        path = _path(directory, number)
        try:
            mtime = os.stat(path).st_mtime
        except FileNotFoundError:
            continue
        text = _read(path)
        if text is None:
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            record = None
        return number, record, mtime
    return None


def holder(directory, lease_seconds=120.0):
    """The live holder's record, or None when the directory's lease is free or stale."""
    current = _current(directory)
    if current is None or is_stale(current[1], current[2], lease_seconds):
        return None
    return current[1] or {}


class Lease:
    """A held lease; ``release()`` (or leaving ``holding``) gives it back."""

    def __init__(self, directory, number, record, heartbeat_seconds):
        self.directory, self.number, self.record = directory, number, record
        self.path = _path(directory, number)
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(heartbeat_seconds,), name="run-lock-heartbeat", daemon=True
        )
        self._thread.start()

    def _beat(self, interval):
        while not self._stop.wait(interval):
            with contextlib.suppress(FileNotFoundError):
                os.utime(self.path)
            if not self.lost and (_numbers(self.directory) or [0])[-1] > self.number:
                self.lost = True
                print(
                    f"[kd_efficacy] warning: lost the lease of {self.directory} (stalled past "
                    "run_lock.lease_seconds); another process took the run over",
                    file=sys.stderr,
                )

    def release(self):
        self._stop.set()
        self._thread.join()
        if (_numbers(self.directory) or [0])[-1] > self.number:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)  # taken over: only the highest lease must stay
            return
        released = {**self.record, "released": True, "released_at": _now()}
        atomic_io.write_json(self.path, released)


def _now():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _record():
    stat = _proc_stat(os.getpid())
    return {
        "host": HOST,
        "pid": os.getpid(),
        "pid_start": stat and stat[1],
        "boot_id": _boot_id(),
        "started": _now(),
        "token": uuid.uuid4().hex,
    }


def try_acquire(directory, config=None):
    """Takes the lease of ``directory`` (created if missing); raises ``Held`` naming a live
    holder."""
    config = config or Settings()
    os.makedirs(directory, exist_ok=True)
    while True:
        current = _current(directory)
        if current is not None and not is_stale(current[1], current[2], config.lease_seconds):
            raise Held(directory, current[1] or {})
        number = 0 if current is None else current[0] + 1
        record = _record()
        if not atomic_io.create_exclusive(_path(directory, number), json.dumps(record)):
            continue  # another process took this number first: judge its lease
        if (_numbers(directory) or [number])[
            -1
        ] > number:  # our slot had been cleaned up below a newer lease
            with contextlib.suppress(FileNotFoundError):
                os.remove(_path(directory, number))
            continue
        for older in _numbers(directory):
            if older < number:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(_path(directory, older))
        return Lease(directory, number, record, config.heartbeat_seconds)


def acquire(directory, config=None, poll_seconds=(0.5, 10.0)):
    """``try_acquire``; with ``config.wait``, polls (backing off) until the holder is done."""
    config = config or settings()
    delay = poll_seconds[0]
    while True:
        try:
            return try_acquire(directory, config)
        except Held as held:
            if not config.wait:
                raise
            if delay == poll_seconds[0]:
                print(f"[kd_efficacy] waiting: {held}", file=sys.stderr)
        time.sleep(delay)
        delay = min(2 * delay, poll_seconds[1])


@contextlib.contextmanager
def holding(directory, config=None, wait=None):
    """Holds the lease for the block, released however the block ends (a ConfigError, SIGTERM,
    Ctrl-C); SIGKILL leaves a stale lease that the next start takes over."""
    config = config or settings()
    if wait is not None:
        config = dataclasses.replace(config, wait=wait)
    lease = acquire(directory, config)
    try:
        yield lease
    finally:
        lease.release()


def remove_released(directory):
    """Deletes released leases (a refused fresh run's own) so the directory can be removed."""
    for number in _numbers(directory):
        path = _path(directory, number)
        text = _read(path)
        if text and json.loads(text).get("released"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
