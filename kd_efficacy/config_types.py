"""Types at the gin boundary: every bound value is checked against its parameter's annotation.

Each configurable (the recipe's fields, the tasks, the studies, ``experiment``) declares what a
parameter takes in its signature: ``int``, ``float``, ``str``, ``bool``, ``Literal[...]``
choices, ``X | None``, ``tuple[X, ...]`` (gin's lists are accepted), ``dict[K, V]``, a class
(built with ``@recipe()``), ``Callable`` (a ``@task`` reference), and constraints through
``Annotated``: ``Bounds`` (a range), ``DISTINCT`` (a list meant as a set) and ``Described``
(the expectation in words).

``check_bindings`` walks gin's bound parameters, resolving macros (``EPOCHS = 3`` reaches
``recipe.epochs`` as ``%EPOCHS``), and raises one ConfigError naming the binding (and the macro),
the value given and what is expected. ``experiment.run`` calls it before anything is written.
``check_fields`` applies the same rules to a dataclass built in Python (``Recipe``).

Choices made: ints are accepted where floats are expected; bools are not ints (nor numbers); a
float is never accepted for an int (``GLOBAL_BATCH_SIZE = 32.0`` is refused: gin parses it as a
float, and silently truncating 32.5 would be worse).
"""

import collections
import collections.abc
import dataclasses
import functools
import types
import typing
from typing import Annotated, Literal, Union

import gin
from gin import config as gin_config

from kd_efficacy.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Bounds:
    """A range a number must lie in; ``open_*``: the bound itself is excluded."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def holds(self, value):
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        return self.high is None or (value < self.high if self.open_high else value <= self.high)

    def __str__(self):
        if self.high is None:
            return f"{'>' if self.open_low else '>='} {self.low}"
        if self.low is None:
            return f"{'<' if self.open_high else '<='} {self.high}"
        left, right = "(" if self.open_low else "[", ")" if self.open_high else "]"
        return f"in {left}{self.low}, {self.high}{right}"


@dataclasses.dataclass(frozen=True)
class Described:
    """What an annotation expects, in words, where the generic wording would not read well."""

    text: str


class _Distinct:
    def __repr__(self):
        return "DISTINCT"


DISTINCT = _Distinct()  # a list meant as a set: a value given twice is refused

PositiveInt = Annotated[int, Bounds(low=1)]
NonNegativeInt = Annotated[int, Bounds(low=0)]
PositiveFloat = Annotated[float, Bounds(low=0, open_low=True)]
NonNegativeFloat = Annotated[float, Bounds(low=0)]
OpenFraction = Annotated[float, Bounds(0, 1, open_low=True, open_high=True)]


def distinct(item):
    """The annotation of a list of ``item`` values meant as a set (each value at most once)."""
    return Annotated[tuple[item, ...], DISTINCT]


# ---- checking one value ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Reference:
    """A gin ``@name`` / ``@name()`` reference, as the check sees it (not called)."""

    target: object  # the registered function or class
    evaluate: bool  # ``@name()``: gin passes the call's result
    text: str  # as written, e.g. '@teacher/recipe()'

    def __repr__(self):
        return self.text


class _Unresolved:
    """A value the check cannot see (a REQUIRED placeholder, an undefined macro): gin's own
    errors (gin_errors.py) name those, so it passes here."""


UNRESOLVED = _Unresolved()


@dataclasses.dataclass(frozen=True)
class _Wrong:
    """A value (the whole bound value, or an item in it) that does not fit its annotation."""

    value: object
    annotation: object


def problem(value, annotation):
    """``None`` when ``value`` fits ``annotation``, else what is wrong, as a phrase."""
    reason = _reason(value, annotation)
    if not isinstance(reason, _Wrong):
        return reason  # None, or the repeated values of a distinct list
    expected = f"expected {describe(annotation)}"
    if reason.value is value:
        return expected
    return f"{expected} ({reason.value!r} is not {describe(reason.annotation)})"


def _reason(value, tp):
    """None, a ``_Wrong`` (the innermost value that does not fit) or a phrase naming repeats."""
    if value is UNRESOLVED or tp is typing.Any:
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if isinstance(value, Reference) and value.evaluate and not isinstance(value.target, type):
        return None  # a function's result: its own parameters are checked where it is bound
    if origin is Annotated:
        return _annotated_reason(value, tp, args[0], args[1:])
    if origin in (Union, types.UnionType):
        reasons = [_reason(value, a) for a in args]
        if None in reasons:
            return None
        inner = [r for r in reasons if not isinstance(r, _Wrong) or r.value is not value]
        return inner[0] if len(inner) == 1 else _Wrong(value, tp)  # one shape fit: say where
    if origin is Literal:
        fits = any(type(value) is type(a) and value == a for a in args)
    elif origin in (tuple, list):
        fits = isinstance(value, (list, tuple)) and (
            (len(args) == 2 and args[1] is Ellipsis) or len(args) == len(value)
        )
        if fits:
            items = args[:1] * len(value) if args[-1] is Ellipsis else args
            return next((r for r in map(_reason, value, items) if r), None)
    elif origin is dict:
        if isinstance(value, dict):
            reasons = (_reason(k, args[0]) or _reason(v, args[1]) for k, v in value.items())
            return next((r for r in reasons if r), None)
        fits = False
    elif origin is collections.abc.Callable or tp is collections.abc.Callable:
        fits = (not value.evaluate) if isinstance(value, Reference) else callable(value)
    else:
        fits = _is_instance(value, tp)
    return None if fits else _Wrong(value, tp)


def _annotated_reason(value, tp, base, constraints):
    reason = _reason(value, base)
    if isinstance(reason, _Wrong) and reason.value is value:
        return _Wrong(value, tp)  # described with its range
    if reason:
        return reason
    for constraint in constraints:
        if isinstance(constraint, Bounds) and not constraint.holds(value):
            return _Wrong(value, tp)
        if constraint is DISTINCT:
            repeated = _repeats(value)
            if repeated:
                return f"lists {repeated}"
    return None


def _is_instance(value, tp):
    if tp is type(None):
        return value is None
    if tp is bool:
        return type(value) is bool
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(value, Reference):
        return value.evaluate and isinstance(value.target, type) and issubclass(value.target, tp)
    return isinstance(value, tp)


def _repeats(values):
    """'0 twice', "'a' 3 times and 'b' twice": the values given more than once, in order."""
    counts = collections.Counter(values)
    parts = [
        f"{v!r} {'twice' if n == 2 else f'{n} times'}"
        for v, n in counts.items()  # first-seen order
        if n > 1
    ]
    return " and ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " and " + parts[-1]


# ---- what an annotation expects, in words ------------------------------------------------------

_NOUNS = {
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
    bool: ("True or False", "True or False values"),
    type(None): ("None", "None"),
}


def describe(tp, plural=False):
    """``recipe.epochs`` -> 'an integer >= 1'; ``tuple[str, ...]`` -> 'a list of strings'."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        base, constraints = args[0], args[1:]
        text = next((c.text for c in constraints if isinstance(c, Described)), None)
        if text:
            return text
        if DISTINCT in constraints:
            item = describe(typing.get_args(base)[0], True)
            return f"{'lists' if plural else 'a list'} of distinct {item}"
        bounds = " ".join(str(c) for c in constraints if isinstance(c, Bounds))
        return f"{describe(base, plural)} {bounds}".strip()
    if origin in (Union, types.UnionType) or origin is Literal:
        return _either(_alternatives(tp, plural))
    if origin in (tuple, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return f"{'lists' if plural else 'a list'} of {describe(args[0], True)}"
        noun = {2: "pair"}.get(len(args), f"{len(args)}-tuple")
        inner = ", ".join(describe(a) for a in args)
        return f"{noun}s ({inner})" if plural else f"a {noun} ({inner})"
    if origin is dict:
        inner = f"{describe(args[0], True)} to {describe(args[1], True)}"
        return f"dicts from {inner}" if plural else f"a dict from {inner}"
    if origin is collections.abc.Callable or tp is collections.abc.Callable:
        return "references like @train" if plural else "a reference like @train (no parentheses)"
    if tp in _NOUNS:
        return _NOUNS[tp][plural]
    name = _gin_name(tp)
    return f"@{name}() references" if plural else f"@{name}()"


def _alternatives(tp, plural):
    """A union's or a Literal's alternatives, flattened ('last', 'best', an integer), None last."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return [repr(a) for a in args]
    if origin in (Union, types.UnionType):
        ordered = sorted(args, key=lambda a: a is type(None))
        return [part for a in ordered for part in _alternatives(a, plural)]
    return [describe(tp, plural)]


def _either(parts):
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _gin_name(cls):
    configurable = gin_config._INVERSE_REGISTRY.get(cls)
    return configurable.name if configurable else cls.__name__


# ---- where gin hands values over ---------------------------------------------------------------


@functools.cache
def annotations_of(fn_or_cls):
    """Parameter (or dataclass field) name -> annotation; unannotated ones are not checked."""
    return typing.get_type_hints(fn_or_cls, include_extras=True)


def check_fields(instance, name):
    """Checks a dataclass built in Python, e.g. ``Recipe(epochs=0)``, by its field annotations."""
    for field, annotation in annotations_of(type(instance)).items():
        value = getattr(instance, field)
        reason = problem(value, annotation)
        if reason:
            raise ConfigError(_message(f"{name}.{field} = {value!r}", reason, f"{name}.{field}"))


def check_bindings():
    """Checks every parameter gin has bound (in any scope) against the configurable's annotation;
    raises one ConfigError for the first mismatch, before the caller writes anything."""
    for (scope, selector), params in list(gin_config._CONFIG.items()):
        if selector.startswith("gin."):
            continue  # macros and constants: checked where they are used
        configurable = gin_config._REGISTRY.get(selector)
        if configurable is None:
            continue
        hints = annotations_of(configurable.wrapped)
        for param, raw in params.items():
            if param not in hints:
                continue
            macros = []
            value = _resolve(raw, macros)
            reason = problem(value, hints[param])
            if reason:
                binding = f"{scope + '/' if scope else ''}{configurable.name}.{param}"
                subject, target = _subject(binding, raw, value, macros)
                raise ConfigError(_message(subject, reason, target))


def _subject(binding, raw, value, macros):
    """(what to show, what to change): the macro when the binding is one, e.g.
    ``GLOBAL_BATCH_SIZE = 32.5 (recipe.global_batch_size)``."""
    if _macro_name(raw):
        return f"{macros[0]} = {value!r} ({binding})", macros[0]
    if macros:
        return f"{binding} = {value!r} (via {', '.join(macros)})", ", ".join(macros)
    return f"{binding} = {value!r}", binding


def _message(subject, reason, target):
    if reason.startswith("lists "):
        return f"{subject} {reason}; give each value once in {target}"
    return f"{subject}: {reason}; change {target} in the gin file or with --gin_bindings"


def _macro_name(ref):
    is_macro = isinstance(ref, gin_config.ConfigurableReference) and ref.evaluate
    return (
        "/".join(ref.scopes) if is_macro and ref.configurable.wrapped is gin_config.macro else None
    )


def _resolve(raw, macros, depth=0):
    """The value gin will pass, with macros and constants substituted and other references kept
    as ``Reference``; names the macros met in ``macros``."""
    if depth > 20:
        return UNRESOLVED  # a macro cycle: gin reports it
    if isinstance(raw, (list, tuple)):
        return type(raw)(_resolve(v, macros, depth + 1) for v in raw)
    if isinstance(raw, dict):
        return {
            _resolve(k, macros, depth + 1): _resolve(v, macros, depth + 1) for k, v in raw.items()
        }
    if raw is gin.REQUIRED:
        return UNRESOLVED
    if not isinstance(raw, gin_config.ConfigurableReference):
        return raw
    name = _macro_name(raw)
    if name is not None:
        macros.append(name)
        bound = gin_config._CONFIG.get((name, "gin.macro"), {})
        return _resolve(bound["value"], macros, depth + 1) if "value" in bound else UNRESOLVED
    if raw.configurable.wrapped is gin_config._retrieve_constant:
        try:
            return _resolve(gin.query_parameter("/".join(raw.scopes)), macros, depth + 1)
        except ValueError:
            return UNRESOLVED
    return Reference(raw.configurable.wrapped, raw.evaluate, repr(raw))
