"""The parameters of GET /api/v1/history, parsed and checked; every fault names its parameter.

A range is `from` and `to` (Unix seconds or RFC 3339 times), or `seconds` back from `to` (today's
parameter: `to` defaults to the newest sample). `step` is the width of an aggregated point, in
seconds; without it, a range the RAM ring spans is answered raw and a longer one in about
DEFAULT_POINTS points. An answer has at most MAX_POINTS points per sensor.

Numbers are ASCII digits only, as the README and openapi.json write them: no sign (but a
time's "-", to say it is out of range), no exponent, no "_", no spaces, no other script's digits
(Python's int() and float() take `+60`, `1_000`, ` 60 `, `1e3` and `١٢٣`). Times are kept to the
millisecond (as the CSV's epoch column writes them): `from`, `to` and `seconds` in the answer are
whole numbers, or have at most three decimals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_POINTS = 10_000  # per sensor and answer: the stated cap (README, openapi.json)
DEFAULT_POINTS = 1000  # about this many points per sensor when no step is asked
LATEST_TIME = 253402300799.0  # 9999-12-31T23:59:59Z, the last time RFC 3339 can write
# The earliest end of a range: 1970-01-01T00:00:01Z. A range that ends at time 0 holds nothing
# any clock could have stamped (even a device that boots in 1970 samples after it): a 400 that says
# so, rather than an empty answer that looks like no data.
EARLIEST_END = 1.0
FORMATS = ("json", "csv")

# Default steps: round numbers of seconds, minutes, hours, then whole days.
NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)

# [0-9], not \d: \d matches every script's digits.
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INTEGER = re.compile(r"[0-9]+")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


class BadParameter(ValueError):
    """A query parameter the API cannot answer: a 400 naming it."""

    def __init__(self, parameter: str, problem: str):
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter


@dataclass(frozen=True)
class Limits:
    """What the device can answer: its sampling interval, the ring's span and the longest history."""

    interval: float  # s between samples
    ring_seconds: float  # what the RAM ring spans ([sampling] history)
    longest_seconds: float  # the longest `seconds` accepted: the ring's, or the history on disk's
    newest: float  # the newest sample's time (now, before the first sample): the default `to`


@dataclass(frozen=True)
class HistoryQuery:
    """A checked history request."""

    start: float
    end: float
    step: float | None  # None: raw samples (a range the ring spans, no step asked)
    sensors: tuple[str, ...] | None  # None: every sensor
    format: str  # "json" or "csv"

    @property
    def seconds(self) -> float:
        """Return the range's length: to - from, to the millisecond (as both are)."""
        return round(self.end - self.start, 3)


def parse_time(parameter: str, raw: str) -> float:
    """Return a time given as Unix seconds or as an RFC 3339 date-time with an offset, to the millisecond."""
    text = raw
    value = None
    if _NUMBER.fullmatch(text):
        value = float(text)
    elif match := _RFC3339.fullmatch(text):
        fraction = (match.group(1) or "")[:7]  # datetime keeps microseconds
        normal = text[:19].upper().replace(" ", "T") + fraction + match.group(2).upper().replace("Z", "+00:00")
        try:
            value = datetime.fromisoformat(normal).timestamp()
        except ValueError:  # 2026-13-45T25:61:00Z: the right shape, no such time
            value = None
    if value is None:
        raise BadParameter(
            parameter, f"must be Unix seconds (1764763200) or an RFC 3339 time (2026-12-03T12:00:00Z), got {raw!r}"
        )
    if not 0 <= value <= LATEST_TIME:
        raise BadParameter(parameter, f"must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z, got {raw!r}")
    return round(value, 3)


def default_step(seconds: float) -> float:
    """Return the round step that gives about DEFAULT_POINTS points over `seconds`."""
    wanted = seconds / DEFAULT_POINTS
    for step in NICE_STEPS:
        if step >= wanted:
            return float(step)
    return math.ceil(wanted / 86400) * 86400.0


def parse_history_query(args: Mapping[str, str], sensors: Sequence[str], accept: str, limits: Limits) -> HistoryQuery:
    """Check the query string of a history request (`sensors`: its repeated `sensor` values)."""
    given = {name: args[name] for name in ("from", "to", "seconds", "step", "format") if name in args}
    if "seconds" in given and "from" in given:
        raise BadParameter("seconds", "give either seconds or from, not both")
    end = parse_time("to", given["to"]) if "to" in given else limits.newest
    if end < EARLIEST_END:
        raise BadParameter(
            "to",
            f"must be at least 1 (1970-01-01T00:00:01Z): a range that ends at time 0 holds nothing a clock "
            f"could have stamped, got {given.get('to', end)!r}",
        )
    if "from" in given:
        start = parse_time("from", given["from"])
        if start >= end:
            raise BadParameter("to", f"must be later than from ({start:g}), got {end:g}")
    else:
        seconds = _seconds(given.get("seconds"), limits)
        start = max(0.0, end - seconds)
    step = _step(given["step"], limits.interval) if "step" in given else None
    # Raw only where the ring can hold the whole range; anything older or longer is aggregated.
    if step is None and (end - start > limits.ring_seconds or start < limits.newest - limits.ring_seconds):
        step = max(default_step(end - start), limits.interval)
    if step is not None:
        points = math.floor((end - start) / step) + 1
        if points > MAX_POINTS:
            least = (end - start) / (MAX_POINTS - 1)
            raise BadParameter(
                "step",
                f"{end - start:g} s at a step of {step:g} s is {points} points per sensor, over the cap of "
                f"{MAX_POINTS}; ask a step of at least {math.ceil(least)} s or a shorter range",
            )
    return HistoryQuery(start, end, step, tuple(dict.fromkeys(sensors)) or None, _format(given, accept))


def _seconds(raw: str | None, limits: Limits) -> float:
    longest = int(limits.longest_seconds)
    if raw is None:
        return limits.ring_seconds  # all of the ring, as before the history on disk
    value = int(raw) if _INTEGER.fullmatch(raw) else None
    if value is None or not 1 <= value <= longest:
        raise BadParameter("seconds", f"must be an integer between 1 and {longest}, got {raw!r}")
    return float(value)


def _step(raw: str, interval: float) -> float:
    step = float(raw) if _NUMBER.fullmatch(raw) else math.nan
    if not math.isfinite(step) or step <= 0:
        raise BadParameter("step", f"must be a number of seconds in ASCII digits (60, 0.5), got {raw!r}")
    if step < interval:
        raise BadParameter("step", f"must be at least the sampling interval ({interval:g} s), got {raw!r}")
    if step > 366 * 86400:
        raise BadParameter("step", f"must be at most a year (31622400 s), got {raw!r}")
    return step


def _format(given: Mapping[str, str], accept: str) -> str:
    if "format" in given:
        if given["format"] not in FORMATS:
            raise BadParameter("format", f"must be json or csv, got {given['format']!r}")
        return given["format"]
    # Accept: text/csv asks for CSV unless JSON is also acceptable and listed first.
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if "text/csv" in types and (
        "application/json" not in types or types.index("text/csv") < types.index("application/json")
    ):
        return "csv"
    return "json"
