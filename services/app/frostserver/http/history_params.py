"""The query string of GET /api/v1/history, read and checked; every fault names its parameter.

A range is `from` and `to` (Unix seconds or RFC 3339 times), or `seconds` back from `to` (today's
parameter: `to` defaults to the newest sample). `step` is the width of an aggregated point, in
seconds (without it, history/query.py chooses). `format` (or Accept) says JSON or CSV.

This is the HTTP side's: the text of the parameters, the 400s that name one and the answer's
format; what they ask (a HistoryQuery: range, step, sensors) and how a step is chosen are the
history package's (history/query.py), which plans and makes the answer.

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

from ..config.device import UNITS
from ..history.query import MAX_POINTS, HistoryQuery, Limits, answer_step, point_count

LATEST_TIME = 253402300799.0  # 9999-12-31T23:59:59Z, the last time RFC 3339 can write
# The earliest end of a range: 1970-01-01T00:00:01Z. A range that ends at time 0 holds nothing
# any clock could have stamped (even a device that boots in 1970 samples after it): a 400 that says
# so, rather than an empty answer that looks like no data.
EARLIEST_END = 1.0
FORMATS = ("json", "csv")
# UNITS ([device] units' choices) are those of a CSV's temperatures; JSON stays in SI units, for programs.

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
class HistoryRequest:
    """A checked history request: what it asks, and in which format."""

    query: HistoryQuery
    format: str  # "json" or "csv"
    units: str = "celsius"  # the CSV's temperatures: "celsius" or "fahrenheit"


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


def parse_history_request(
    args: Mapping[str, str], sensors: Sequence[str], accept: str, limits: Limits
) -> HistoryRequest:
    """Check the query string of a history request (`sensors`: its repeated `sensor` values)."""
    given = {name: args[name] for name in ("from", "to", "seconds", "step", "format", "units") if name in args}
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
    step = answer_step(start, end, _step(given["step"], limits.interval) if "step" in given else None, limits)
    if step is not None:
        points = point_count(start, end, step)
        if points > MAX_POINTS:
            least = (end - start) / (MAX_POINTS - 1)
            raise BadParameter(
                "step",
                f"{end - start:g} s at a step of {step:g} s is {points} points per sensor, over the cap of "
                f"{MAX_POINTS}; ask a step of at least {math.ceil(least)} s or a shorter range",
            )
    query = HistoryQuery(start, end, step, tuple(dict.fromkeys(sensors)) or None)
    answer_format = _format(given, accept)
    units = given.get("units", UNITS[0])
    if units not in UNITS:
        raise BadParameter("units", f"must be celsius or fahrenheit, got {units!r}")
    if units != UNITS[0] and answer_format != "csv":
        raise BadParameter("units", "converts only a CSV's temperatures (format=csv): JSON stays in SI units (°C)")
    return HistoryRequest(query, answer_format, units)


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
