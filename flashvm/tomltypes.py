"""Type checks for values read from TOML (machine configs, workload.toml) against
the Python type of the field they fill, with the words for a one-line error.

    problem = type_problem(value, int)      # None, or "the string '8'; expected an integer"

A field's Python type is read the way TOML writes it: a Path or bytes is a
string, a tuple a list (an array), a float also takes an integer, `X | None`
is X (TOML has no null: an absent key is the None), an int or float never
takes a bool.  A dataclass type (a nested table of a machine config) takes an
instance of itself.
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

__all__ = ["type_problem", "describe_type", "describe_value", "field_types"]


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """The resolved types of a dataclass's fields (annotations may be strings)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _options(tp: Any) -> tuple[Any, ...]:
    """The members of a union (without None), or (tp,)."""
    if get_origin(tp) in (typing.Union, types.UnionType):
        return tuple(a for a in get_args(tp) if a is not type(None))
    return (tp,)


def _fits(value: Any, tp: Any) -> bool:
    if tp is Any:
        return True
    options = _options(tp)
    if len(options) > 1:
        return any(_fits(value, t) for t in options)
    tp = options[0]
    origin = get_origin(tp)
    if origin in (list, tuple):
        args = [a for a in get_args(tp) if a is not Ellipsis] or [Any]
        return isinstance(value, (list, tuple)) and all(_fits(v, args[0]) for v in value)
    if origin is dict:
        key, val = get_args(tp) or (Any, Any)
        return isinstance(value, dict) and all(_fits(k, key) and _fits(v, val) for k, v in value.items())
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp in (str, Path, bytes):
        return isinstance(value, str) or (tp is not str and isinstance(value, tp))
    return isinstance(value, tp)


_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string", Path: "a path (string)",
          bytes: "a string"}
_PLURAL = {bool: "booleans", int: "integers", float: "numbers", str: "strings", Path: "paths (strings)",
           bytes: "strings"}


def describe_type(tp: Any, plural: bool = False) -> str:
    """The type in words, as TOML writes it ("an integer", "a list of strings")."""
    options = _options(tp)
    if len(options) > 1:
        return " or ".join(describe_type(t, plural) for t in options)
    tp = options[0]
    origin = get_origin(tp)
    if origin in (list, tuple):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        return ("lists" if plural else "a list") + (f" of {describe_type(args[0], True)}" if args else "")
    if origin is dict:
        key_value = get_args(tp)
        return ("tables" if plural else "a table") + (f" of {describe_type(key_value[1], True)}" if key_value else "")
    if tp in (dict, list):
        return ("tables" if plural else "a table") if tp is dict else ("lists" if plural else "a list")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return f"{'tables' if plural else 'a table'} ([{tp.__name__}])"
    return (_PLURAL if plural else _NAMES).get(tp, getattr(tp, "__name__", str(tp)))


def describe_value(value: Any) -> str:
    """What was given, in words: "the string '8'", "true", "a list [5]"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (list, tuple, dict)):
        shown = repr(list(value) if isinstance(value, tuple) else value)
        what = "a table" if isinstance(value, dict) else "a list"
        return f"{what} {shown}" if len(shown) <= 60 else what
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return f"{type(value).__name__} {value!r}"


def type_problem(value: Any, tp: Any) -> str | None:
    """None when `value` fits `tp`, else "<what was given>; expected <type>"."""
    if _fits(value, tp):
        return None
    return f"{describe_value(value)}; expected {describe_type(tp)}"
