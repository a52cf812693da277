"""Model registry: maps a model name such as ``wrn_16_2`` to the function that builds it.

Every architecture family registers one regular expression. Named groups in the expression are
the family's integer parameters (``wrn_(?P<depth>...)_(?P<width>...)`` gives ``depth`` and
``width``), so an exact name (``vgg13``) and an open family (any WRN depth/width) use the same
mechanism. Each family also lists the canonical names it advertises through ``names()`` and, for
open families, a hint such as ``wrn_<depth>_<width> for any depth = 6n+4`` for error messages.

A builder has the signature ``builder(inputs, *, num_classes, layers, **params, **options)``: it
receives the (already normalized) input tensor, a ``LayerFactory`` and the parsed parameters, checks
them (raising ``ConfigError`` with the reason, e.g. which depths are valid) and returns the logits.
"""

import dataclasses
import inspect
import re
from collections.abc import Callable, Iterable

from kd_efficacy.errors import ConfigError

Builder = Callable[..., object]


@dataclasses.dataclass(frozen=True)
class Family:
    """One registered architecture family."""

    pattern: re.Pattern
    builder: Builder
    listed: tuple[str, ...]
    hint: str | None


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A model name matched to its family, with the integer parameters parsed from the name."""

    name: str
    family: Family
    params: dict[str, int]


_FAMILIES: list[Family] = []


def register(pattern: str, *, listed: Iterable[str], hint: str | None = None):
    """Decorator registering ``builder`` for every name that fully matches ``pattern``.

    ``listed`` are the canonical names returned by ``names()``; each must match ``pattern`` and no
    other family, so the registry stays unambiguous (checked here, at import time).
    """
    compiled = re.compile(pattern)
    listed = tuple(listed)

    def decorator(builder: Builder) -> Builder:
        family = Family(compiled, builder, listed, hint)
        for name in listed:
            if not compiled.fullmatch(name):
                raise ValueError(f"listed model name {name!r} does not match {pattern!r}")
        for other in _FAMILIES:
            clashes = [n for n in listed if other.pattern.fullmatch(n)]
            clashes += [n for n in other.listed if compiled.fullmatch(n)]
            if clashes:
                raise ValueError(f"model names {clashes} match two registered families")
        _FAMILIES.append(family)
        return builder

    return decorator


def names() -> list[str]:
    """Every canonical registered model name, sorted."""
    return sorted(name for family in _FAMILIES for name in family.listed)


def known_models() -> str:
    """The list of known models (plus open-family hints) used by every error message."""
    hints = [family.hint for family in _FAMILIES if family.hint]
    text = "known models: " + ", ".join(names())
    return text + (f" ({'; '.join(hints)})" if hints else "")


def resolve(name: str) -> Resolved:
    """Finds the family of ``name``; raises ``ConfigError`` listing the known models if none."""
    for family in _FAMILIES:
        match = family.pattern.fullmatch(name) if isinstance(name, str) else None
        if match:
            params = {key: int(value) for key, value in match.groupdict().items()}
            return Resolved(name, family, params)
    raise ConfigError(f"unknown model {name!r}; {known_models()}")


def call_builder(resolved: Resolved, inputs, *, num_classes: int, layers, options: dict):
    """Runs the family's builder; bad parameters or options become one-line ``ConfigError``s."""
    accepted = inspect.signature(resolved.family.builder).parameters
    reserved = {"inputs", "num_classes", "layers", *resolved.params}
    unknown = sorted(key for key in options if key not in accepted or key in reserved)
    if unknown:
        allowed = sorted(key for key in accepted if key not in reserved)
        raise ConfigError(
            f"model {resolved.name!r} does not take option(s) {unknown}; "
            f"it accepts: {', '.join(allowed) or 'none'}"
        )
    try:
        return resolved.family.builder(
            inputs, num_classes=num_classes, layers=layers, **resolved.params, **options
        )
    except ConfigError as error:
        raise ConfigError(f"unknown model {resolved.name!r}: {error}; {known_models()}") from None
