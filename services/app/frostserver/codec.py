"""The typed codec of every file one FrostServer process writes and another reads.

Each such file has one encode/decode pair beside its writer (store/counters.py, alerts/journal.py,
...): the writer encodes its dataclasses, the reader decodes the same dataclasses, and the document
carries a version. This module holds what those pairs share:

- `encode_document(version, value)` and `decode_document(kind, data, version, what)`: a dataclass
  as a JSON object with its version first, and back, checked field by field against the
  dataclass's type hints;
- `Refused` (`UnknownVersion`, `Damaged`, from refused.py): what a decoder raises instead of
  guessing; the reader says so once (store/files.Refusals) and keeps what it had.

Why hand-written rather than a library (README.md, "Files between processes"): msgspec has no
wheel for armv7l (a C build under QEMU in the image) and adds about 2.3 MB to each process that
imports it; pydantic about 6 MB, 18 MB once a model is built. These files are small and rare
(the largest, the alerts journal, changes when an alert fires), so speed does not decide; this
module is the standard library alone.

Supported field types: bool, int, float (an int is taken for it), str, None, `X | None`,
`tuple[X, ...]`, `tuple[X, Y]`, `list[X]`, `dict[str, X]` and nested dataclasses. A field the
document lacks takes the dataclass's default (or the document is damaged); a key the dataclass
does not know is ignored.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from typing import Any, TypeVar

# The refusals live in a module of their own, which imports nothing: the supervisor's heartbeat
# needs them and not what decodes JSON (0.7 MB of RSS in the container's PID 1).
from .refused import Damaged, Refused, UnknownVersion

__all__ = [
    "Damaged",
    "Refused",
    "UnknownVersion",
    "decode_document",
    "encode_document",
    "from_plain",
    "parse_document",
    "to_plain",
]

T = TypeVar("T")

_NoneType = type(None)


def encode_document(version: int, value: Any) -> bytes:
    """Return a dataclass as a JSON object, its version first (no NaN or infinity: ValueError)."""
    body = to_plain(value)
    return json.dumps({"version": version, **body}, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def decode_document(kind: type[T], data: bytes, version: int, what: str) -> T:
    """Return the dataclass a document of `version` holds; raise UnknownVersion or Damaged."""
    decoded: T = from_plain(kind, parse_document(data, version, what), what)
    return decoded


def parse_document(data: bytes, version: int, what: str) -> dict[str, Any]:
    """Return a versioned JSON object as plain data, its version checked; raise UnknownVersion or Damaged."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError, or bytes that are not UTF-8
        raise Damaged(what, f"not JSON ({error})") from None
    if not isinstance(document, dict):
        raise Damaged(what, f"not a JSON object but {_shown(document)}")
    found = document.get("version")
    if found != version or isinstance(found, bool):
        raise UnknownVersion(what, found, version)
    return document


def to_plain(value: Any) -> Any:
    """Return a dataclass (or what it holds) as JSON's plain data: dicts, lists, numbers, text, None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    return value


def from_plain(kind: Any, data: Any, what: str) -> Any:
    """Return `data` (plain JSON data) as a value of type `kind`; raise Damaged naming `what` and the bad part."""
    try:
        return _typed(kind, data, "")
    except _Bad as bad:
        raise Damaged(what, f"{bad.path.lstrip('.')}: {bad.problem}" if bad.path else bad.problem) from None


class _Bad(Exception):
    """A part of a document that is not of its type: where it is (".history.status"), and why."""

    def __init__(self, path: str, problem: str):
        super().__init__(path, problem)
        self.path, self.problem = path, problem


def _typed(kind: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is Any:
        return data
    if kind is _NoneType or kind is None:
        if data is None:
            return None
        raise _Bad(where, f"expected null, got {_shown(data)}")
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(kind)
        if data is None and _NoneType in options:
            return None
        for option in (o for o in options if o is not _NoneType):
            try:
                return _typed(option, data, where)
            except _Bad:
                continue
        raise _Bad(where, f"expected {_name(kind)}, got {_shown(data)}")
    if kind is bool:
        if isinstance(data, bool):
            return data
        raise _Bad(where, f"expected true or false, got {_shown(data)}")
    if kind is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        raise _Bad(where, f"expected an integer, got {_shown(data)}")
    if kind is float:
        if isinstance(data, (int, float)) and not isinstance(data, bool) and math.isfinite(data):
            return float(data)
        raise _Bad(where, f"expected a number, got {_shown(data)}")
    if kind is str:
        if isinstance(data, str):
            return data
        raise _Bad(where, f"expected text, got {_shown(data)}")
    if origin in (tuple, list):
        if not isinstance(data, list):
            raise _Bad(where, f"expected a list, got {_shown(data)}")
        args = typing.get_args(kind)
        if origin is list or (len(args) == 2 and args[1] is Ellipsis):
            items = [_typed(args[0], item, f"{where}[{index}]") for index, item in enumerate(data)]
        else:
            if len(data) != len(args):
                raise _Bad(where, f"expected {len(args)} items, got {len(data)}")
            pairs = enumerate(zip(args, data, strict=True))
            items = [_typed(arg, item, f"{where}[{index}]") for index, (arg, item) in pairs]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(data, dict):
            raise _Bad(where, f"expected an object, got {_shown(data)}")
        _, value_kind = typing.get_args(kind)
        return {key: _typed(value_kind, item, f"{where}.{key}") for key, item in data.items()}
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        if not isinstance(data, dict):
            raise _Bad(where, f"expected an object, got {_shown(data)}")
        values = {}
        for name, field_kind, required in _fields(kind):
            if name in data:
                values[name] = _typed(field_kind, data[name], f"{where}.{name}")
            elif required:
                raise _Bad(where, f"{name!r} is missing")
        return kind(**values)
    raise TypeError(f"from_plain cannot decode {kind!r}")  # a codec's bug, not a damaged file


_FIELDS: dict[type, tuple[tuple[str, Any, bool], ...]] = {}  # a dataclass -> its fields' names, types, required


def _fields(kind: type) -> tuple[tuple[str, Any, bool], ...]:
    # The type hints are resolved once per class (they are strings under `from __future__ import
    # annotations`); a dict read is atomic under the GIL, so threads share this without a lock.
    known = _FIELDS.get(kind)
    if known is None:
        hints = typing.get_type_hints(kind)
        known = tuple(
            (
                f.name,
                hints[f.name],
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(kind)
            if f.init
        )
        _FIELDS[kind] = known
    return known


def _name(kind: Any) -> str:
    return getattr(kind, "__name__", None) or str(kind).replace("typing.", "")


def _shown(data: Any) -> str:
    """Show a bad value briefly (a damaged file may hold anything, of any size)."""
    if isinstance(data, dict):
        return "an object"
    if isinstance(data, list):
        return f"a list of {len(data)}"
    if isinstance(data, str):
        return json.dumps(data[:40] + ("..." if len(data) > 40 else ""), ensure_ascii=False)
    return json.dumps(data)  # null, true, false or a number (NaN too: json.loads reads it)
