"""Turns gin's call-time errors (a REQUIRED binding or macro left unset, an undefined macro) into
one-line ConfigErrors that say which binding to set.

Gin appends "In call to configurable ..." lines to any exception raised through a configurable;
``first_line`` strips them from our own errors too.
"""

import contextlib
import re

from kd_efficacy.errors import ConfigError, RunLocked


def check_required_macros(config_text):
    """A macro left at ``%gin.REQUIRED`` (runs/*.gin leaves declare them) would reach the code as
    gin's placeholder object; name it instead. ``config_text``: ``gin.config_str()``."""
    unset = re.findall(r"^([A-Z][A-Z0-9_]*) = %gin\.REQUIRED$", config_text, re.MULTILINE)
    if unset:
        raise ConfigError(
            f"required setting {', '.join(unset)} is not set; bind it in a gin file or with "
            f'--gin_bindings="{unset[0]} = ..." (see gin_configs/runs/)'
        )


def first_line(error):
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


@contextlib.contextmanager
def as_config_errors():
    try:
        yield
    except ConfigError as e:
        raise (RunLocked if isinstance(e, RunLocked) else ConfigError)(first_line(e)) from None
    except RuntimeError as e:
        match = re.search(
            r"Required bindings for `(\w+)` not provided in config: \[(.*?)\]", str(e)
        )
        if not match:
            raise
        names = [n.strip(" '\"") for n in match.group(2).split(",")]
        wanted = ", ".join(f"{match.group(1)}.{n}" for n in names)
        raise ConfigError(
            f"required setting {wanted} is not set; bind it in a gin file or with "
            f"--gin_bindings (see gin_configs/runs/)"
        ) from None
    except TypeError as e:
        match = re.search(r"in scope '(\w+)'", str(e))
        if "macro()" not in str(e) or not match:
            raise
        raise ConfigError(
            f"macro %{match.group(1)} is used but never defined; add "
            f'--gin_bindings="{match.group(1)} = ..." or define it in a gin file'
        ) from None
