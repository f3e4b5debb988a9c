"""The document's numbers: frost_threshold, [sampling] (interval, history) and [history] (retention).

Their defaults and bounds are declared once, on the Settings fields (settings.py, `file_numbers`);
this module checks the tables' keys, each number against its bounds, and the rules between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import validate
from .errors import Invalid
from .validate import NumberSpec

SAMPLING_KEYS = ("interval", "history")
HISTORY_KEYS = ("minute_days", "hour_days")


def parse_numbers(document: dict[str, Any], specs: Mapping[str, NumberSpec]) -> dict[str, float]:
    """Return every declared number by dotted key ("sampling.interval"), from the document or its default."""
    validate.reject_unknown(validate.table(document.get("sampling", {}), ("sampling",)), SAMPLING_KEYS, ("sampling",))
    validate.reject_unknown(validate.table(document.get("history", {}), ("history",)), HISTORY_KEYS, ("history",))
    numbers = {key: declared_number(document, key, spec) for key, spec in specs.items()}
    interval = numbers["sampling.interval"]
    if numbers["sampling.history"] < interval:
        raise Invalid(
            ("sampling", "history"),
            f"must be at least sampling.interval ({interval:g}), got {numbers['sampling.history']:g}",
        )
    # The hour tier is rolled up from the minute tier: it must outlive it.
    if numbers["history.hour_days"] < numbers["history.minute_days"]:
        raise Invalid(
            ("history", "hour_days"),
            f"must be at least history.minute_days ({numbers['history.minute_days']:g}), "
            f"got {numbers['history.hour_days']:g}",
        )
    return numbers


def declared_number(document: dict[str, Any], key: str, spec: NumberSpec) -> float:
    """Return the number at a dotted key (its tables already checked to be tables), or its default."""
    *tables, name = key.split(".")
    body = document
    for part in tables:
        body = body.get(part, {})
    return validate.number(body.get(name, spec.default), tuple(key.split(".")), spec.low, spec.high)
