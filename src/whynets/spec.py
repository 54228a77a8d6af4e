"""Specs: frozen dataclasses with canonical JSON, a content hash and ``key=value`` overrides.

A spec says *what* to run. Its hash names the run's folder in the store, so two rules keep old runs
findable (as in open_lth's ``hparams``):

* only fields that differ from their default enter the hash: adding a field with a default never
  renames an old run;
* the JSON is canonical (sorted keys, no whitespace), so the hash does not depend on field order.

Nested specs are fields whose default is a spec instance (``field(default_factory=DataSpec)``); their
non-default fields are compared against that default instance.

Example::

    >>> from whynets.data import DataSpec
    >>> DataSpec().override(["label_noise=0.2"]).label_noise
    0.2
"""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import hashlib
import json
import math
import types
import typing
from dataclasses import MISSING, dataclass, fields
from typing import Any, Iterable, Mapping

from whynets.errors import WhynetsError

__all__ = ["Spec", "SpecError", "parse_value"]


_DEFER_VALIDATION: contextvars.ContextVar[bool] = contextvars.ContextVar("whynets_defer_validation", default=False)


class SpecError(WhynetsError, ValueError):
    """A spec or an override was wrong; the message says what and what would be right."""


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return MISSING


def _jsonable(value: Any) -> Any:
    if isinstance(value, Spec):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        raise SpecError("spec values may not be NaN")
    return value


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace: the same content always gives the same string."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class Spec:
    """Base class of every spec. Subclasses are ``@dataclass(frozen=True)``.

    A subclass checks its own ranges in ``validate()`` (called on every construction: presets, ``override``,
    ``from_dict``) and raises ``SpecError`` naming the field, the value and the valid range."""

    def __post_init__(self) -> None:
        if not _DEFER_VALIDATION.get():
            self.validate()

    def validate_tree(self) -> None:
        """``validate()`` this spec and every nested spec (deepest first)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Spec):
                value.validate_tree()
        self.validate()

    def validate(self) -> None:
        """Raise ``SpecError`` if a field is out of range. The default checks seed fields (names ending in
        ``seeds``, and ``parents``): a non-empty tuple of distinct non-negative integers."""
        for f in fields(self):
            if f.name.endswith("seeds") or f.name == "parents":
                value = getattr(self, f.name)
                if isinstance(value, tuple) and (not value or len(set(value)) != len(value)
                                                 or any(not isinstance(v, int) or v < 0 for v in value)):
                    raise SpecError(f"{f.name}={value!r}: give at least one seed, distinct non-negative integers "
                                    f"(e.g. {f.name}=0,1,2)")

    # ---- serialization -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent)

    def non_default(self) -> dict[str, Any]:
        """The fields that differ from their defaults (recursively for nested specs)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value, default = getattr(self, f.name), _field_default(f)
            if isinstance(value, Spec) and isinstance(default, Spec) and type(value) is type(default):
                sub = value.diff(default)
                if sub:
                    out[f.name] = sub
            elif default is MISSING or _jsonable(value) != _jsonable(default):
                out[f.name] = _jsonable(value)
        return out

    def diff(self, other: "Spec") -> dict[str, Any]:
        """Fields of ``self`` that differ from ``other`` (same class), recursively."""
        out: dict[str, Any] = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, Spec) and isinstance(b, Spec) and type(a) is type(b):
                sub = a.diff(b)
                if sub:
                    out[f.name] = sub
            elif _jsonable(a) != _jsonable(b):
                out[f.name] = _jsonable(a)
        return out

    def hash(self) -> str:
        """12 hex digits of SHA-256 over the canonical JSON of the non-default fields."""
        return hashlib.sha256(canonical_json(self.non_default()).encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Spec":
        hints = typing.get_type_hints(cls)
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SpecError(f"{cls.__name__}: unknown field(s) {unknown}; valid fields: {sorted(names)}")
        kwargs = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            kwargs[f.name] = _coerce(hints[f.name], data[f.name], f"{cls.__name__}.{f.name}")
        return cls(**kwargs)

    # ---- overrides -----------------------------------------------------------------------
    def keys(self, prefix: str = "") -> list[str]:
        """Every dotted key that ``override`` accepts, e.g. ``train.lr``."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Spec):
                out.extend(value.keys(prefix + f.name + "."))
            else:
                out.append(prefix + f.name)
        return out

    def describe(self, prefix: str = "") -> list[tuple[str, str, Any, str]]:
        """(key, type, current value, help) for every leaf field: the CLI's help table."""
        hints = typing.get_type_hints(type(self))
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Spec):
                out.extend(value.describe(prefix + f.name + "."))
            else:
                out.append((prefix + f.name, _type_name(hints[f.name]), value, f.metadata.get("help", "")))
        return out

    def override(self, assignments: Iterable[str] | Mapping[str, Any]) -> "Spec":
        """A copy with ``key=value`` assignments applied; nested keys use dots (``train.lr=0.01``).

        Strings are parsed against the field's type; a typo raises ``SpecError`` listing valid keys.
        """
        items = assignments.items() if isinstance(assignments, Mapping) else [_split(a) for a in assignments]
        spec = self
        valid = self.keys()
        token = _DEFER_VALIDATION.set(True)  # the result is checked once all assignments are in (name=npz, path=…)
        try:
            for key, value in items:
                if key not in valid:
                    nested = [k for k in valid if k.startswith(key + ".")]
                    if nested:
                        raise SpecError(f"{key!r} is a nested spec; set one of its fields: {', '.join(nested)}")
                    close = difflib.get_close_matches(key, valid, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise SpecError(f"unknown key {key!r}{hint}; valid keys: {', '.join(valid)}")
                spec = spec._set(key.split("."), value, key)
        finally:
            _DEFER_VALIDATION.reset(token)
        spec.validate_tree()
        return spec

    def _set(self, path: list[str], value: Any, full_key: str) -> "Spec":
        hints = typing.get_type_hints(type(self))
        names = {f.name for f in fields(self)}
        head = path[0]
        if head not in names:
            valid = ", ".join(self.keys())
            raise SpecError(f"unknown key {full_key!r}; valid keys: {valid}")
        current = getattr(self, head)
        if len(path) > 1:
            if not isinstance(current, Spec):
                raise SpecError(f"{full_key!r}: {head!r} is a {type(current).__name__}, not a nested spec")
            return dataclasses.replace(self, **{head: current._set(path[1:], value, full_key)})
        if isinstance(current, Spec):
            raise SpecError(f"{full_key!r} is a nested spec; set one of its fields: {', '.join(current.keys(full_key + '.'))}")
        parsed = parse_value(hints[head], value, full_key) if isinstance(value, str) else _coerce(hints[head], value, full_key)
        return dataclasses.replace(self, **{head: parsed})


def _split(assignment: str) -> tuple[str, str]:
    if "=" not in assignment:
        raise SpecError(f"override {assignment!r} is not of the form key=value (e.g. train.lr=0.01)")
    key, value = assignment.split("=", 1)
    return key.strip(), value.strip()


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def parse_value(tp: Any, text: str, key: str) -> Any:
    """Parse a command-line string into a value of type ``tp`` (int, float, bool, str, tuples, Optional)."""
    inner, optional = _unwrap_optional(tp)
    if optional and text.lower() in ("none", "null", ""):
        return None
    if typing.get_origin(inner) is tuple:
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                items = json.loads(stripped)
            except json.JSONDecodeError as err:
                raise SpecError(f"{key}: {text!r} is not a list ({err.msg} at character {err.pos + 1}); write "
                                f"{key}=1,2,3 or {key}=[1,2,3]") from None
            if not isinstance(items, list):
                raise SpecError(f"{key}: expected a list like [1,2,3], got {text!r}")
        else:
            stripped = stripped.strip("()")
            items = [t.strip() for t in stripped.split(",") if t.strip()]
        elem = typing.get_args(inner)[0]
        return tuple(parse_value(elem, str(i), key) for i in items)
    if inner is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise SpecError(f"{key}: expected a bool (true/false), got {text!r}")
    if inner is int:
        try:
            return int(text)
        except ValueError:
            raise SpecError(f"{key}: expected an int, got {text!r}") from None
    if inner is float:
        try:
            value = float(text)
        except ValueError:
            raise SpecError(f"{key}: expected a float, got {text!r}") from None
        if not math.isfinite(value):
            raise SpecError(f"{key}: expected a finite number, got {text!r}")
        return value
    if inner is str:
        return text
    raise SpecError(f"{key}: cannot parse a value of type {_type_name(tp)} from the command line")


def _coerce(tp: Any, value: Any, key: str) -> Any:
    """Check (and gently convert) a Python/JSON value to the field's type."""
    inner, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise SpecError(f"{key}: None is not allowed (type {_type_name(tp)})")
    if isinstance(inner, type) and issubclass(inner, Spec):
        if isinstance(value, inner):
            return value
        if isinstance(value, Mapping):
            return inner.from_dict(value)
        raise SpecError(f"{key}: expected a mapping for {inner.__name__}, got {type(value).__name__}")
    if typing.get_origin(inner) is tuple:
        if isinstance(value, str):
            return parse_value(tp, value, key)
        if not isinstance(value, (list, tuple)):
            raise SpecError(f"{key}: expected a list, got {type(value).__name__}")
        elem = typing.get_args(inner)[0]
        return tuple(_coerce(elem, v, key) for v in value)
    if inner is bool:
        if isinstance(value, bool):
            return value
        raise SpecError(f"{key}: expected a bool, got {value!r}")
    if inner is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{key}: expected an int, got {value!r}")
        return value
    if inner is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(f"{key}: expected a float, got {value!r}")
        if not math.isfinite(value):
            raise SpecError(f"{key}: expected a finite number, got {value!r}")
        return float(value)
    if inner is str:
        if not isinstance(value, str):
            raise SpecError(f"{key}: expected a string, got {value!r}")
        return value
    return value
