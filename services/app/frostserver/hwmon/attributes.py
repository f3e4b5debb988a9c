"""Parse hwmon attribute names and convert raw attribute values into the units of model.UNITS.

This is the one place that knows the kernel's sysfs units
(Documentation/hwmon/sysfs-interface.rst): every value and threshold passes through `to_unit`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# <type><index>_<property>, e.g. temp1_input, in0_lcrit_alarm, intrusion0_alarm, cpu0_vid.
# pwmN is the one attribute that carries its value without a property.  Regex alternation
# backtracks, so "in" does not swallow "intrusion".
_ATTRIBUTE_NAME = re.compile(r"(temp|in|curr|power|energy|humidity|fan|pwm|freq|intrusion|cpu)(\d+)(?:_([a-z0-9_]+))?")
# What a sysfs number looks like; stricter than int()/float(), which also take "1_000",
# "nan" and "inf" -- all garbage when they come from a driver.
_NUMBER = re.compile(r"[+-]?(?:\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

# Property roles within a channel.
VALUE, AVERAGE, LABEL, THRESHOLD, ALARM, FAULT, ENABLE, SENSOR_TYPE = (
    "value",
    "average",
    "label",
    "threshold",
    "alarm",
    "fault",
    "enable",
    "type",
)

# Limits and setpoints a channel may publish; shown as Sensor.thresholds, keyed by property.
# `*_hyst` are absolute values, not deltas (sysfs-interface), so they convert like the rest.
# Listed in the order `sensors` prints them.
THRESHOLD_PROPERTIES = (
    "lcrit",
    "lcrit_hyst",
    "min",
    "min_hyst",
    "max",
    "max_hyst",
    "crit",
    "crit_hyst",
    "emergency",
    "emergency_hyst",
    "target",
    "cap",
    "cap_hyst",
    "cap_min",
    "cap_max",
    "average_min",
    "average_max",
    "lowest",
    "highest",
    "input_lowest",
    "input_highest",
    "average_lowest",
    "average_highest",
    "rated_min",
    "rated_max",
)

_THRESHOLDS = frozenset(THRESHOLD_PROPERTIES)

# temp*_type codes, worded as lm-sensors prints them (prog/sensors/chips.c).
TEMP_SENSOR_TYPES = {
    0: "disabled",
    1: "CPU diode",
    2: "transistor",
    3: "thermal diode",
    4: "thermistor",
    5: "AMD AMDSI",
    6: "Intel PECI",
}


@dataclass(frozen=True)
class ChannelType:
    """How one hwmon channel type maps onto a physical quantity."""

    prefix: str  # attribute prefix, e.g. "temp"
    kind: str  # a key of model.UNITS
    multiplier: int  # value = raw * multiplier / divisor
    divisor: int
    value_property: str  # the property holding the reading
    plausible: tuple[float, float]  # physically possible range after conversion


# Plausible ranges are wide on purpose: they catch driver garbage (0x7fff-style sentinels,
# e.g. 127998 °C from a disconnected diode), never a hot but real machine.
CHANNEL_TYPES: dict[str, ChannelType] = {
    ct.prefix: ct
    for ct in (
        # Below absolute zero is impossible; above 1000 °C nothing in a computer survives.
        ChannelType("temp", "temperature", 1, 1000, "input", (-273.15, 1000.0)),
        # PMBus supplies report mains and 800 V DC busses; nothing hwmon watches reaches 2 kV.
        ChannelType("in", "voltage", 1, 1000, "input", (-2000.0, 2000.0)),
        ChannelType("curr", "current", 1, 1000, "input", (-10000.0, 10000.0)),
        ChannelType("power", "power", 1, 1_000_000, "input", (-1e6, 1e6)),
        # Energy counters only grow; 1e15 J is decades of a megawatt.
        ChannelType("energy", "energy", 1, 1_000_000, "input", (0.0, 1e15)),
        # Calibrated sensors overshoot 0-100 %RH slightly; far outside is garbage.
        ChannelType("humidity", "humidity", 1, 1000, "input", (-10.0, 110.0)),
        ChannelType("fan", "fan", 1, 1, "input", (0.0, 100_000.0)),
        ChannelType("pwm", "pwm", 100, 255, "", (0.0, 100.0)),
        ChannelType("freq", "frequency", 1, 1, "input", (0.0, 1e11)),
        ChannelType("intrusion", "intrusion", 1, 1, "alarm", (0.0, 1.0)),
        # cpuN_vid: the voltage the CPU requests, in mV.
        ChannelType("cpu", "voltage", 1, 1000, "vid", (0.0, 10.0)),
    )
}

# Types whose reading falls back to *_average when there is no *_input (lm-sensors does the
# same for power: amdgpu and the ACPI power meter publish only power1_average).
_AVERAGE_FALLBACK = frozenset({"in", "curr", "power"})


def parse_attribute_name(name: str) -> tuple[str, int, str] | None:
    """Split an attribute file name into channel type, index and property, or None."""
    match = _ATTRIBUTE_NAME.fullmatch(name)
    if match is None:
        return None
    prefix, index, prop = match.group(1), int(match.group(2)), match.group(3) or ""
    if not prop and prefix != "pwm":
        return None
    return prefix, index, prop


def channel_name(prefix: str, index: int) -> str:
    """Name a channel as lm-sensors names the feature: temp1, in0, but cpu0_vid."""
    return f"cpu{index}_vid" if prefix == "cpu" else f"{prefix}{index}"


def parse_channel_name(channel: str) -> tuple[str, int] | None:
    """Split a channel name back into type and index, or None."""
    parsed = parse_attribute_name(channel)
    if parsed is None:
        parsed = parse_attribute_name(f"{channel}_input")
    return None if parsed is None else parsed[:2]


def property_role(prefix: str, prop: str) -> str | None:
    """Say what a property of a channel of type `prefix` is for, or None to ignore it."""
    if prop == CHANNEL_TYPES[prefix].value_property:
        return VALUE
    if prop == "average" and prefix in _AVERAGE_FALLBACK:
        return AVERAGE
    if prop == "label":
        return LABEL
    if prop == "alarm" or prop.endswith("_alarm"):
        return ALARM
    if prop == "fault":
        return FAULT
    # pwmN_enable selects the control mode (0 = no control, i.e. full speed), it does not
    # switch the channel off (sysfs-interface), so it is not a channel enable.
    if prop == "enable" and prefix != "pwm":
        return ENABLE
    if prop == "type" and prefix == "temp":
        return SENSOR_TYPE
    if prop in _THRESHOLDS and prefix not in ("pwm", "intrusion"):
        return THRESHOLD
    return None


def alarm_name(prop: str) -> str:
    """Name an alarm flag by the limit it reports: crit_alarm -> crit, alarm -> alarm."""
    return prop[: -len("_alarm")] if prop.endswith("_alarm") else prop


def parse_number(text: str) -> float:
    """Parse a raw attribute value; raise ValueError("empty" or "not a number") otherwise."""
    if "_" not in text:  # int() would take "1_000"
        try:
            return int(text)  # the common case: a plain integer and a newline
        except ValueError:
            pass
    text = text.strip()
    if not text:
        raise ValueError("empty")
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise ValueError("not a number")
    if match.group(1) is None and match.group(2) is None:
        return int(text)
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("not a number")
    return number


def to_unit(raw: float, channel_type: ChannelType) -> float:
    """Convert a raw sysfs number into the unit of the channel's kind."""
    # Divide rather than multiply by 0.001 so 45123 m°C is exactly 45.123, as lm-sensors shows.
    return float(raw * channel_type.multiplier / channel_type.divisor)


def is_plausible(value: float, channel_type: ChannelType) -> bool:
    """Say whether a converted value is physically possible for the channel type."""
    low, high = channel_type.plausible
    return low <= value <= high


def parse_flag(text: str) -> bool:
    """Parse an alarm/fault/enable flag: any nonzero number is set."""
    return parse_number(text) != 0


def temp_sensor_type(text: str) -> str:
    """Name a temp*_type code the way lm-sensors does."""
    code = int(parse_number(text))
    # Old drivers report a thermistor's beta value instead of 4 (lm-sensors chips.c).
    if code > 1000:
        code = 4
    return TEMP_SENSOR_TYPES.get(code, "unknown")
