"""Globs over sensor ids ("coretemp-*/temp*"), shared by the sensor overrides and the alert rules.

A sensor id is "chip/channel"; "*" and "?" never cross the "/", so "coretemp-*/*" means every
channel of every coretemp chip and nothing else. Brackets are sets ("temp[2-9]", "w1_[!x]*").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import Invalid, KeyPath
from .validate import show


@dataclass(frozen=True)
class IdPattern:
    """A glob over sensor ids, where "*" and "?" never cross "/"."""

    glob: str
    regex: re.Pattern[str] = field(repr=False, compare=False)

    def matches(self, sensor_id: str) -> bool:
        """Tell whether the whole sensor id matches."""
        return self.regex.fullmatch(sensor_id) is not None


def compile_id_pattern(glob: str) -> IdPattern:
    """Compile a sensor id glob, raising ValueError that says what is wrong with it."""
    if not glob:
        raise ValueError("a pattern must not be empty")
    if "/" not in glob:
        raise ValueError(
            f"{glob!r} matches no sensor id: ids look like 'chip/channel' and '*' does not "
            f"cross '/'; write e.g. {glob + '/*'!r}"
        )
    try:
        return IdPattern(glob, re.compile(glob_to_regex(glob)))
    except re.error as error:
        raise ValueError(f"bad pattern {glob!r}: {error.msg}") from None


def id_pattern(value: Any, key: KeyPath) -> IdPattern:
    """Validate and compile one sensor id glob of the configuration document."""
    if not isinstance(value, str):
        raise Invalid(key, f"must be a pattern string like 'coretemp-*/temp*', got {show(value)}")
    try:
        return compile_id_pattern(value)
    except ValueError as error:
        raise Invalid(key, str(error)) from None


def glob_to_regex(glob: str) -> str:
    """Translate a sensor id glob into a regular expression, rejecting malformed brackets."""
    parts: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        elif char == "[":
            end = glob.find("]", index + 1)
            if end == -1:
                raise ValueError(f"bad pattern {glob!r}: '[' at position {index} is never closed")
            parts.append(bracket_to_regex(glob, glob[index + 1 : end]))
            index = end
        elif char == "]":
            raise ValueError(f"bad pattern {glob!r}: ']' at position {index} closes no '['")
        else:
            parts.append(re.escape(char))
        index += 1
    return "".join(parts)


def bracket_to_regex(glob: str, body: str) -> str:
    """Translate the inside of a [...] or [!...] set into a regex character class."""
    negate = body.startswith("!")
    body = body[1:] if negate else body
    if not body:
        raise ValueError(f"bad pattern {glob!r}: empty '[]'")
    if "/" in body:
        raise ValueError(f"bad pattern {glob!r}: '/' cannot be inside '[...]'")
    escaped = "".join(char if char == "-" else re.escape(char) for char in body)
    return f"[^/{escaped}]" if negate else f"[{escaped}]"
