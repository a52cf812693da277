"""Preemption: SIGTERM (what schedulers and spot VMs send) stops a run so that it can be requeued.

The saved state is the last epoch-end checkpoint, which is always on disk: a checkpoint taken in
the middle of an epoch could not resume bit-identically (the data order is planned per epoch), so
the epoch in progress is abandoned. The handler raises ``Preempted`` in the main thread as soon as
Python code runs again, which during ``fit`` is the end of the current training step. That is safe
anywhere because every file a run writes is replaced atomically (``atomic_io``): an interrupted
write leaves the previous version, exactly as after SIGKILL. The command line turns ``Preempted``
into ``EXIT_PREEMPTED``; the next start with the same command resumes. Ctrl-C (SIGINT) needs no
handler: Python's ``KeyboardInterrupt`` arrives the same way, and the command line turns it into
``EXIT_INTERRUPTED``. Both lines name the epoch in progress and the resume epoch (``progress.py``).
"""

import contextlib
import signal
import threading


class Preempted(BaseException):
    """SIGTERM arrived. A BaseException, like KeyboardInterrupt, so no ``except Exception`` in
    library code swallows it."""


def _raise(signum, frame):
    raise Preempted(f"received {signal.Signals(signum).name}")


@contextlib.contextmanager
def stop_on_sigterm():
    """Within the block, SIGTERM raises ``Preempted``; the previous handler is restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
