"""Data check: ``python -m kd_efficacy.data.check DATASET [--data_dir=DIR]``.

Reads and decodes every file of a dataset named as in gin (``digits``, ``cifar10``,
``image_folder:PATH``, ...): every image of an image folder, every record of every TFDS shard.
Prints one line per unreadable file (or shard), ``PATH: reason``, then a summary line.

Exit status: 0 when everything reads; 2 when any file cannot be read (corrupt, truncated, or
refused by the OS: the line says which) or the dataset is misnamed or missing.
"""

import sys

from absl import app, flags

from kd_efficacy.errors import EXIT_CONFIG_ERROR, ConfigError, exit_in_one_line

flags.DEFINE_string(
    "data_dir", None, "TFDS data directory of a prepared TFDS dataset (as recipe.data_dir)."
)
FLAGS = flags.FLAGS
USAGE = "usage: python -m kd_efficacy.data.check DATASET [--data_dir=DIR]"


def check(name: str, data_dir: str | None = None) -> int:
    """Prints the unreadable files of ``name``; returns the exit status."""
    from kd_efficacy.data import unreadable  # after flag parsing: --help needs no TensorFlow

    problems = unreadable.scan(name, data_dir)
    for problem in problems:
        print(f"{problem.path}: {problem.reason}")
    if not problems:
        print(f"{name}: every file reads and decodes")
        return 0
    print(
        f"{name}: {len(problems)} unreadable file(s); replace or remove them (or fix their "
        "permissions), then rerun this check",
        file=sys.stderr,
    )
    return EXIT_CONFIG_ERROR


def main(argv):
    if len(argv) != 2:
        exit_in_one_line(
            f"error: give exactly one DATASET, got {argv[1:]}; {USAGE}", EXIT_CONFIG_ERROR
        )
    try:
        sys.exit(check(argv[1], FLAGS.data_dir))
    except ConfigError as e:
        exit_in_one_line(f"error: {e}", EXIT_CONFIG_ERROR)


def _parse_flags(argv):
    try:
        return FLAGS(argv)
    except flags.Error as e:
        exit_in_one_line(f"error: {e}; {USAGE}", EXIT_CONFIG_ERROR)


if __name__ == "__main__":
    app.run(main, flags_parser=_parse_flags)
