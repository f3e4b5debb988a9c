"""[customize."<id>"]: what a person says about one sensor: its name, place, order, calibration and limits.

    [customize."w1-0-28-000005e2fdc3/temp1"]
    label = "Greenhouse floor"   # 1-64 characters
    place = "Greenhouse"         # 1-64 characters; absent: "Unsorted"
    order = 2                    # position within its place (default 0: then by id)
    hidden = false               # still sampled, recorded, in the API and /metrics; not on the overview
    offset = -0.4                # calibration in the sensor's unit: value = raw + offset
    # or through two reference points (value = gain * raw + offset):
    # calibration = { raw = [0.6, 99.2], actual = [0.0, 100.0] }
    low = 1.0                    # the sensor's own low and high limits (its min and max), in its unit
    high = 35.0

The browser sets exactly these keys (the settings store's layer, resolve.py), so what a config file
says and what an export holds are the same. [customize] wins over [relabel] and [thresholds] for the
same sensor (overrides.py applies them in that order). `offset` and `calibration` are two ways of
saying one thing: a layer that sets one replaces the other of the layers below (resolve.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..model import Calibration
from . import validate
from .errors import Invalid, KeyPath

CUSTOMIZE_KEYS = ("label", "place", "order", "hidden", "offset", "calibration", "low", "high")
CALIBRATION_KEYS = ("raw", "actual")
UNSORTED = "Unsorted"  # the place of a sensor nobody put in one
MAX_NAME = 64
MAX_ORDER = 100000
# Bounds that catch a slip (a value typed in the wrong unit, a stray digit) without getting in the
# way of any real sensor: offsets in the sensor's unit (an RPM offset can be large), gains.
MAX_OFFSET = 1e6
MIN_GAIN, MAX_GAIN = 0.01, 100.0
MAX_LIMIT = 1e9


@dataclass(frozen=True)
class Customization:
    """What [customize."<id>"] says about one sensor; None: not said (the sensor's own applies)."""

    label: str | None = None
    place: str | None = None
    order: int | None = None
    hidden: bool | None = None
    calibration: Calibration | None = None
    low: float | None = None
    high: float | None = None


def parse_customize(value: Any) -> Mapping[str, Customization]:
    """Parse every [customize."<id>"] table, by exact sensor id."""
    body = validate.table(value, ("customize",))
    return MappingProxyType({sensor_id: parse_one(sensor_id, entry) for sensor_id, entry in body.items()})


def check_sensor_id(sensor_id: str, key: KeyPath) -> None:
    """Refuse what is no whole sensor id: [customize] names one sensor, never a pattern."""
    if set("*?[]") & set(sensor_id):
        raise Invalid(key, "customize takes exact sensor ids like 'coretemp-isa-0000/temp1', not patterns")
    chip, slash, channel = sensor_id.partition("/")
    if not slash or not chip or not channel or len(sensor_id) > 200 or not sensor_id.isprintable():
        raise Invalid(key, "must be a whole sensor id like 'coretemp-isa-0000/temp1'")


def parse_one(sensor_id: str, value: Any) -> Customization:
    """Parse one [customize."<id>"] table."""
    key: KeyPath = ("customize", sensor_id)
    check_sensor_id(sensor_id, key)
    body = validate.table(value, key)
    validate.reject_unknown(body, CUSTOMIZE_KEYS, key)
    if "offset" in body and "calibration" in body:
        raise Invalid((*key, "calibration"), "set either offset or calibration (two reference points), not both")
    label = validate.name_text(body["label"], (*key, "label"), MAX_NAME) if "label" in body else None
    place = validate.name_text(body["place"], (*key, "place"), MAX_NAME) if "place" in body else None
    order = validate.whole_number(body["order"], (*key, "order"), -MAX_ORDER, MAX_ORDER) if "order" in body else None
    hidden = validate.boolean(body["hidden"], (*key, "hidden")) if "hidden" in body else None
    calibration = None
    if "offset" in body:
        calibration = Calibration(1.0, validate.number(body["offset"], (*key, "offset"), -MAX_OFFSET, MAX_OFFSET))
    elif "calibration" in body:
        calibration = parse_calibration(body["calibration"], (*key, "calibration"))
    low = validate.number(body["low"], (*key, "low"), -MAX_LIMIT, MAX_LIMIT) if "low" in body else None
    high = validate.number(body["high"], (*key, "high"), -MAX_LIMIT, MAX_LIMIT) if "high" in body else None
    if low is not None and high is not None and low >= high:
        raise Invalid((*key, "low"), f"low ({low:g}) must be below high ({high:g})", related=((*key, "high"),))
    return Customization(label, place, order, hidden, calibration, low, high)


def parse_calibration(value: Any, key: KeyPath) -> Calibration:
    """Parse the two-point form {raw = [r1, r2], actual = [a1, a2]} into a gain and an offset."""
    if not isinstance(value, dict):
        raise Invalid(
            key, f"must be a table like {{ raw = [0.6, 99.2], actual = [0.0, 100.0] }}, got {validate.show(value)}"
        )
    validate.reject_unknown(value, CALIBRATION_KEYS, key)
    raw = two_numbers(value.get("raw"), (*key, "raw"))
    actual = two_numbers(value.get("actual"), (*key, "actual"))
    if raw[0] == raw[1]:
        raise Invalid((*key, "raw"), f"the two reference points must differ, got {raw[0]:g} twice")
    gain = (actual[1] - actual[0]) / (raw[1] - raw[0])
    if not (MIN_GAIN <= gain <= MAX_GAIN):
        raise Invalid(
            (*key, "actual"),
            f"gives a gain of {gain:.4g}; the points must rise together and the gain lie between "
            f"{MIN_GAIN:g} and {MAX_GAIN:g} (is one point mistyped?)",
        )
    offset = actual[0] - gain * raw[0]
    if not math.isfinite(offset) or abs(offset) > MAX_OFFSET:
        raise Invalid((*key, "actual"), f"gives an offset of {offset:.4g}, beyond ±{MAX_OFFSET:g}")
    return Calibration(gain, offset)


def two_numbers(value: Any, key: KeyPath) -> tuple[float, float]:
    """Return a list of exactly two finite numbers."""
    if not isinstance(value, list) or len(value) != 2:
        raise Invalid(key, f"must be a list of two numbers like [0.6, 99.2], got {validate.show(value)}")
    first = validate.number(value[0], (*key, 0), -MAX_LIMIT, MAX_LIMIT)
    second = validate.number(value[1], (*key, 1), -MAX_LIMIT, MAX_LIMIT)
    return first, second
