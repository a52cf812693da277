"""Command line: ``python -m kd_efficacy.run --gin_file=F.gin [--gin_bindings=B] [--model_dir=D]``.

Flags live here only. Gin include paths resolve from the working directory, the repository
root and the installed package (which ships ``gin_configs/``), so
``include 'gin_configs/datasets/digits.gin'`` works from a checkout and from a pip install.
A user error prints one line and exits with status 2; nothing is written before the checks.
The other ways a run stops short (SIGTERM, Ctrl-C, a failed write, divergence) also end in one
line, with the exit codes of ``errors.py``.
"""

import errno
import os
import sys
import tokenize

from absl import app, flags

from kd_efficacy import gin_errors, preemption, progress
from kd_efficacy.errors import (
    EXIT_CONFIG_ERROR,
    EXIT_INTERRUPTED,
    EXIT_IO_ERROR,
    EXIT_LOCKED,
    EXIT_PREEMPTED,
    EXIT_RUN_FAILED,
    ConfigError,
    DataReadError,
    HelperDone,
    RunFailed,
    RunLocked,
    exit_in_one_line,
)

# One line each, shared by the flag definitions and --help (absl adds a suffix to multi flags).
_FLAG_HELP = {
    "gin_file": "Gin file; repeat to apply several, in order.",
    "gin_bindings": 'Gin binding, e.g. "EPOCHS = 3"; repeatable, applied after the files.',
    "model_dir": "Output directory (overrides experiment.model_dir).",
    # absl defines --verbosity (-v); a run quiets it unless given (_quiet_by_default).
    "verbosity": "Log level of TensorFlow/absl messages: -2 errors, -1 warnings (default), 0 info.",
}
flags.DEFINE_multi_string("gin_file", [], _FLAG_HELP["gin_file"])
flags.DEFINE_multi_string("gin_bindings", [], _FLAG_HELP["gin_bindings"])
flags.DEFINE_string("model_dir", None, _FLAG_HELP["model_dir"])
FLAGS = flags.FLAGS

PACKAGE_ROOT = os.path.dirname(os.path.abspath(__file__))
SEARCH_PATHS = (os.path.dirname(PACKAGE_ROOT), PACKAGE_ROOT)


def parse_gin(gin_files, gin_bindings):
    """Registers every configurable, then parses; a gin mistake becomes a one-line ConfigError."""
    files = [_locate(f) for f in gin_files]  # before the heavy imports: a typo fails at once
    import gin

    from kd_efficacy import registered  # noqa: F401  (registers tasks, studies, recipe)

    for path in SEARCH_PATHS:
        gin.add_config_file_search_path(path)
    try:
        gin.parse_config_files_and_bindings(files, gin_bindings, finalize_config=False)
    except ImportError as e:  # an `import my_models` line (your own model builders)
        reason = str(e).splitlines()[0]  # gin appends the config line below it
        raise ConfigError(
            f"gin config imports a module that cannot be imported ({reason}); put its package "
            "on PYTHONPATH (or pip install it), or fix the import line"
        ) from None
    except (OSError, ValueError, KeyError, SyntaxError, tokenize.TokenError) as e:
        message = " ".join(str(e).split())
        raise ConfigError(
            f"bad gin config: {message} (check the spelling against gin_configs/)"
        ) from None


def _locate(path):
    if os.path.exists(path):
        return path
    for root in SEARCH_PATHS:
        candidate = os.path.join(root, path)
        if os.path.exists(candidate):
            return candidate
    raise ConfigError(f"gin file {path} not found (looked in ., {', '.join(SEARCH_PATHS)})")


def main(argv):
    """Runs the experiment; every way it can stop short ends in one line and an exit code
    (errors.py): a user error, a preemption or Ctrl-C, a failed write, a diverged run."""
    try:
        with preemption.stop_on_sigterm():
            result = _run(argv)
        _check_study(result)
    except HelperDone:  # a study's helper process: its study's own process reports
        return
    except RunLocked as e:  # a double start: the other process trains this run
        exit_in_one_line(f"error: {e}", EXIT_LOCKED)
    except ConfigError as e:
        exit_in_one_line(f"error: {e}", EXIT_CONFIG_ERROR)
    except RunFailed as e:
        exit_in_one_line(
            f"error: run failed: {gin_errors.first_line(e)}; see result.json", EXIT_RUN_FAILED
        )
    except preemption.Preempted as e:
        exit_in_one_line(progress.interrupted_line(f"preempted: {e}"), EXIT_PREEMPTED)
    except KeyboardInterrupt:  # Ctrl-C: stopped like SIGTERM, the same rerun resumes
        exit_in_one_line(progress.interrupted_line("interrupted"), EXIT_INTERRUPTED)
    except DataReadError as e:  # an OSError too: a dataset file the OS cannot read
        exit_in_one_line(f"error: {e}", EXIT_IO_ERROR)
    except OSError as e:
        if e.errno not in _IO_ERRNOS:
            raise
        exit_in_one_line(
            f"error: could not write {e.filename or 'a file'} ({e.strerror}); free disk space or "
            "fix permissions, then rerun the same command: it resumes from the last checkpoint",
            EXIT_IO_ERROR,
        )


# Write failures that are the machine's, not the code's: a full disk, a read-only mount, ...
_IO_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO)


def _run(argv):
    if len(argv) > 1:
        raise ConfigError(
            f"unexpected arguments {argv[1:]}; pass everything as --gin_file, --gin_bindings or "
            "--model_dir (quote bindings that hold spaces)"
        )
    if not FLAGS.gin_file:
        raise ConfigError("no --gin_file given; e.g. --gin_file=gin_configs/quickstart/teacher.gin")
    parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    from kd_efficacy import experiment, thread_spinning
    from kd_efficacy.studies import parallel_runs

    parallel_runs.set_command(_own_flags())

    with gin_errors.as_config_errors():
        if parallel_runs.is_helper() or parallel_runs.settings() > 1:
            # Before TensorFlow's first op: processes sharing the cores must not spin idle.
            thread_spinning.disable()
        parallel_runs.watch_parent()  # a helper stops when its study's process is gone
        kwargs = {"model_dir": FLAGS.model_dir} if FLAGS.model_dir else {}
        return experiment.run(**kwargs)


def _own_flags():
    """This command's flags, as a study's helper processes are started with them."""
    argv = [f"--gin_file={f}" for f in FLAGS.gin_file]
    argv += [f"--gin_bindings={b}" for b in FLAGS.gin_bindings]
    argv += [f"--model_dir={FLAGS.model_dir}"] if FLAGS.model_dir else []
    return [*argv, f"--verbosity={FLAGS.verbosity}"]


def _check_study(result):
    """A study that finished with failed or blocked runs exits with EXIT_RUN_FAILED."""
    if not isinstance(result, list):
        return
    bad = [r for r in result if isinstance(r, dict) and r.get("status") in ("failed", "blocked")]
    if bad:
        listing = ", ".join(f"{r['run']} ({r['status']})" for r in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise RunFailed(
            f"{len(bad)} of the study's runs did not train: {listing}{more}; the report lists "
            "them, the study's other results are complete"
        )


_HELP_ARGS = ("--help", "-help", "-h", "-?", "--helpshort")


def help_text():
    """The project's flags, one line each, and an example; the same for ``-m`` and the script."""
    lines = ["usage: python -m kd_efficacy.run (or kd-efficacy) --gin_file=F.gin [flags]", ""]
    lines += [f"  --{name:<14} {text}" for name, text in _FLAG_HELP.items()]
    lines += [
        "",
        "example (the quickstart teacher):",
        "  python -m kd_efficacy.run --gin_file=gin_configs/quickstart/teacher.gin",
        "",
        "absl's other flags: --helpfull",
    ]
    return "\n".join(lines)


def _parse_flags(argv):
    """absl's flag parsing, with a misspelled flag reported like any other user error.

    ``--help`` prints help_text: absl's would list only the main module's flags, and with the
    console script the main module is not this one."""
    if any(arg in _HELP_ARGS for arg in argv[1:]):
        print(help_text(), flush=True)
        raise SystemExit(0)
    try:
        args = FLAGS(argv)
    except flags.Error as e:
        exit_in_one_line(
            f"error: {e}; the flags are --gin_file, --gin_bindings, --model_dir and --verbosity",
            EXIT_CONFIG_ERROR,
        )
    _quiet_by_default()
    return args


# absl's level for "warnings and errors only"; absl.app raises an unset --verbosity to 0 (info).
QUIET_VERBOSITY = -1


def _quiet_by_default():
    """Without ``--verbosity``, TensorFlow's INFO lines (every checkpoint save logs "Sharding
    callback duration", every export "unsupported characters", "Assets written", "Writing
    fingerprint") are hidden; warnings and errors still show, and ``--verbosity=0`` shows all.

    Python-side TF logs go through absl's handler on the root logger, whose level absl sets from
    --verbosity. absl.app would raise an unset --verbosity to 0 after this parser returns; a
    value set here counts as given, so it stays. The C++ side reads TF_CPP_MIN_LOG_LEVEL once,
    when TensorFlow loads (after this, unless something imported it first): 1 hides its INFO."""
    if FLAGS["verbosity"].present:
        return
    FLAGS.verbosity = QUIET_VERBOSITY
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")


def entry_point():
    app.run(main, flags_parser=_parse_flags)


if __name__ == "__main__":
    entry_point()
