"""User-facing errors and the command line's exit codes.

A ``ConfigError`` is a mistake the user can fix (a bad gin binding, an unknown model, a missing data
path, ...). Its message is one line that names the problem and the fix. The command-line entry point
prints it without a traceback and exits with ``EXIT_CONFIG_ERROR``; everything else is a bug
and keeps its traceback.

The other exit codes tell a scheduler what to do with a job that did not finish:
``EXIT_PREEMPTED`` (SIGTERM; requeue it, it resumes), ``EXIT_INTERRUPTED`` (Ctrl-C; rerun it, it
resumes), ``EXIT_IO_ERROR`` (a write failed: disk full or read-only; or a dataset file could not
be read: permission denied, EIO; fix the disk, then rerun, it resumes), ``EXIT_RUN_FAILED`` (a run
diverged; rerunning the same config fails the same way) and ``EXIT_LOCKED`` (another live process
holds the run directory, run_lock.py; the message names it).
"""

EXIT_CONFIG_ERROR = 2
EXIT_RUN_FAILED = 3
EXIT_LOCKED = 73  # sysexits.h EX_CANTCREAT: the output directory is another process's
EXIT_IO_ERROR = 74  # sysexits.h EX_IOERR
EXIT_PREEMPTED = 75  # sysexits.h EX_TEMPFAIL: "try again later", what requeueing schedulers expect
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C; the rerun resumes


class ConfigError(ValueError):
    """A user input problem; the message says what is wrong and how to fix it."""


class RunFailed(RuntimeError):
    """A run stopped for a reason recorded in its result.json (e.g. divergence)."""


class DataError(ConfigError):
    """A dataset file that cannot be decoded (corrupt, truncated); the message names it."""


class DataReadError(OSError):
    """A dataset file the OS refuses to read (permission denied, EIO): ``EXIT_IO_ERROR``.

    ``str()`` is the one-line message (naming the file and the fix), not OSError's ``[Errno n]``.
    """

    def __init__(self, errno: int, message: str, filename: str):
        super().__init__(errno, message, filename)

    def __str__(self) -> str:
        return self.strerror


class RunLocked(ConfigError):
    """Another live process trains this run directory (run_lock.Held says which)."""


class PlanReady(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by a study's ``execute_plan`` under ``ctx.plan_only``: carries the checked plan.

    It lives here, not in studies/, so that ``experiment`` (the gin root) catches it without
    importing the studies.
    """

    def __init__(self, runs, specs):
        super().__init__(f"{len(runs)} planned runs")
        self.runs = runs
        self.specs = specs


class HelperDone(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by ``execute_plan`` in a study's helper process (studies/parallel_runs.py) once no
    run is left to it: the helper exits 0 without writing the study's report."""


def exit_in_one_line(message, code):
    """Prints ``message`` as one line on stderr and exits with ``code``: how every command of the
    package stops short (``kd_efficacy.run``, ``kd_efficacy.data.check``)."""
    import sys

    print(" ".join(str(message).splitlines()), file=sys.stderr)
    sys.exit(code)
