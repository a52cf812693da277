"""User-facing errors.

A ``ConfigError`` is a mistake the user can fix (a bad gin binding, an unknown model, a missing data
path, ...). Its message is one line that names the problem and the fix. The command-line entry point
prints it without a traceback and exits with ``EXIT_CONFIG_ERROR``; everything else is a bug
and keeps its traceback.
"""

EXIT_CONFIG_ERROR = 2


class ConfigError(ValueError):
    """A user input problem; the message says what is wrong and how to fix it."""
