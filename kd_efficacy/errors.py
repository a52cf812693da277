"""User-facing errors and the command line's exit codes.

A ``ConfigError`` is a mistake the user can fix (a bad gin binding, an unknown model, a missing data
path, ...). Its message is one line that names the problem and the fix. The command-line entry point
prints it without a traceback and exits with ``EXIT_CONFIG_ERROR``; everything else is a bug
and keeps its traceback.

The other exit codes tell a scheduler what to do with a job that did not finish:
``EXIT_PREEMPTED`` (SIGTERM; requeue it, it resumes), ``EXIT_INTERRUPTED`` (Ctrl-C; rerun it, it
resumes), ``EXIT_IO_ERROR`` (a write failed: disk full or read-only; fix the disk, then rerun, it
resumes) and ``EXIT_RUN_FAILED`` (a run diverged; rerunning the same config fails the same way).
"""

EXIT_CONFIG_ERROR = 2
EXIT_RUN_FAILED = 3
EXIT_IO_ERROR = 74  # sysexits.h EX_IOERR
EXIT_PREEMPTED = 75  # sysexits.h EX_TEMPFAIL: "try again later", what requeueing schedulers expect
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C; the rerun resumes


class ConfigError(ValueError):
    """A user input problem; the message says what is wrong and how to fix it."""


class RunFailed(RuntimeError):
    """A run stopped for a reason recorded in its result.json (e.g. divergence)."""
