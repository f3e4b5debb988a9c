"""Validation primitives for the configuration document: each returns the value or raises Invalid.

Public on purpose: every schema module (sampling.py, sensors.py, sensor_overrides.py, alerts.py,
alert_rules.py) builds on these, and so will the settings set in the browser, so that a mistake
reads the same wherever it is made. Messages say what was expected and show what was given.
"""

from __future__ import annotations

import datetime
import difflib
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import Invalid, KeyPath

DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")


@dataclass(frozen=True)
class NumberSpec:
    """A numeric setting the document may set: its default and bounds (declared in settings.py)."""

    default: float
    low: float
    high: float


def show(value: Any) -> str:
    """Show a TOML value briefly, the way the user wrote it where possible."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(name: Any, allowed: Collection[str]) -> str:
    """Return "; did you mean 'x'?" for the allowed name closest to name, or ""."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def table(value: Any, key: KeyPath) -> dict[str, Any]:
    """Return value if it is a TOML table."""
    if not isinstance(value, dict):
        raise Invalid(key, f"must be a table, got {show(value)}")
    return value


def reject_unknown(body: dict[str, Any], allowed: Collection[str], key: KeyPath) -> None:
    """Raise for the first key of a table that is not allowed, naming the closest allowed one."""
    for name in body:
        if name in allowed:
            continue
        if name == "frost_threshold" and key:
            # TOML puts a key written after a [table] header into that table.
            hint = "; frost_threshold is a top-level key and must come before the first [table]"
        else:
            hint = did_you_mean(name, allowed)
        raise Invalid((*key, name), f"unknown key{hint}")


def as_number(value: Any) -> float | None:
    """Return value as a finite float, or None when it is no number (TOML booleans are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def number(value: Any, key: KeyPath, low: float | None = None, high: float | None = None) -> float:
    """Return value as a finite float within [low, high], or raise naming the expected range."""
    result = as_number(value)
    if result is None or (low is not None and result < low) or (high is not None and result > high):
        bounds = f" between {low:g} and {high:g}" if low is not None and high is not None else ""
        raise Invalid(key, f"must be a number{bounds}, got {show(value)}")
    return result


def text(value: Any, key: KeyPath, max_length: int, allow_empty: bool = False) -> str:
    """Return value if it is a one-line string of acceptable length."""
    if (
        not isinstance(value, str)
        or len(value) > max_length
        or (not value and not allow_empty)
        or any(char in value for char in "\r\n\0")
    ):
        size = f"0 to {max_length}" if allow_empty else f"1 to {max_length}"
        raise Invalid(key, f"must be a one-line string of {size} characters, got {show(value)}")
    return value


def name_text(value: Any, key: KeyPath, max_length: int) -> str:
    """Return value if it is a name a person gave: 1 to max_length characters, not blank, no control characters.

    Names are shown everywhere (the dashboard, CSV, /metrics, notifications) and always as text;
    what makes a string unsafe to show is the output's to escape, not this function's to refuse.
    It refuses only what no name means: nothing, blanks, line breaks and other control characters,
    and lone surrogates (JSON can carry them; UTF-8, and so every file and answer, cannot).
    """
    shape = f"must be a name of 1 to {max_length} characters"
    if not isinstance(value, str):
        raise Invalid(key, f"{shape}, got {show(value)}")
    if len(value) > max_length:
        raise Invalid(key, f"{shape}, got {len(value)} characters")
    if not value.strip():
        raise Invalid(key, f"{shape}, not blank")
    if any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in value):
        raise Invalid(key, f"{shape} on one line, without control characters")
    if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        raise Invalid(key, f"{shape} of valid Unicode (a lone surrogate is not a character)")
    return value


def whole_number(value: Any, key: KeyPath, low: int, high: int) -> int:
    """Return value if it is a whole number within [low, high] (TOML booleans are not numbers)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON's 2.0 is 2
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(key, f"must be a whole number between {low} and {high}, got {show(value)}")
    return value


def boolean(value: Any, key: KeyPath) -> bool:
    """Return value if it is true or false."""
    if not isinstance(value, bool):
        raise Invalid(key, f"must be true or false, got {show(value)}")
    return value


def one_of(value: Any, key: KeyPath, allowed: Sequence[str]) -> str:
    """Return value if it is one of the allowed names (an enum), suggesting the closest one."""
    if isinstance(value, str) and value in allowed:
        return value
    raise Invalid(key, f"must be one of {', '.join(allowed)}, got {show(value)}{did_you_mean(value, allowed)}")


def choices(value: Any, key: KeyPath, allowed: Sequence[str], what: str) -> tuple[str, ...]:
    """Return a non-empty list of names from `allowed` (one name alone is a list of one)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise Invalid(key, f'must be a list of {what} like ["{allowed[0]}"] (of {", ".join(allowed)})')
    for index, name in enumerate(value):
        if name not in allowed:
            raise Invalid((*key, index), f"must be one of {', '.join(allowed)}{did_you_mean(name, allowed)}")
    return tuple(value)


def duration(value: Any, key: KeyPath, longest: float) -> float:
    """Return a duration in seconds: a number of seconds, or a string like "90s", "5m", "1h30m"."""
    seconds: float | None = None
    if isinstance(value, str):
        match = DURATION.fullmatch(value.strip())
        if match and any(match.groups()):
            hours, minutes, secs = (float(group or 0) for group in match.groups())
            seconds = hours * 3600 + minutes * 60 + secs
    elif not isinstance(value, bool) and isinstance(value, (int, float)):
        seconds = float(value)
    if seconds is None or not 0 <= seconds <= longest:
        raise Invalid(
            key, f'must be a duration like "90s", "5m" or "1h30m" (at most {in_words(longest)}), got {show(value)}'
        )
    return seconds


def in_words(seconds: float) -> str:
    """Say a whole number of days, hours, minutes or seconds the way a person would: "7 days"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} s"
