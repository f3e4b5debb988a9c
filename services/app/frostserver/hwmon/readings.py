"""Turn the raw texts one sample read for a channel into a Reading: value, status, alarms."""

from __future__ import annotations

from ..model import ALARM, DISABLED, ERROR, FAULT, OK, UNITS, Reading
from . import attributes as attrs
from .chip_plan import ChannelPlan, parse_result
from .guarded_reads import NOT_READ, RawTexts, ReadFailure


def channel_reading(plan: ChannelPlan, raw: RawTexts) -> Reading:
    """Turn the raw texts read for one channel into a Reading."""
    numbers = tuple(
        (prop, number)
        for prop, index in plan.raw_props
        if (number := parse_result(raw[index], attrs.parse_number)) is not None
    )
    # A disabled channel answers ENODATA on its input (sysfs-interface), so "disabled" wins
    # over the error; a faulty one (open diode) reports garbage, so "fault" wins too.
    if plan.enable is not None and parse_result(raw[plan.enable], attrs.parse_flag) is False:
        return Reading(None, DISABLED, raw=numbers)
    if plan.fault is not None and parse_result(raw[plan.fault], attrs.parse_flag):
        return Reading(None, FAULT, raw=numbers)
    alarms = tuple(name for name, index in plan.alarms if parse_result(raw[index], attrs.parse_flag))
    if plan.value is None:
        # An alarm-only channel, e.g. rpi_volt in0_lcrit_alarm (`sensors`: "in0: N/A").
        return Reading(None, ALARM if alarms else OK, None, alarms, numbers)
    text = raw[plan.value]
    if text is None:
        text = NOT_READ
    if isinstance(text, ReadFailure):
        return Reading(None, ERROR, text.reason, alarms, numbers)
    try:
        value = attrs.to_unit(attrs.parse_number(text), plan.channel_type)
    except ValueError as exc:
        return Reading(None, ERROR, str(exc), alarms, numbers)
    if not attrs.is_plausible(value, plan.channel_type):
        unit = UNITS[plan.channel_type.kind]
        return Reading(None, ERROR, f"implausible: {value} {unit}".rstrip(), alarms, numbers)
    if plan.channel_type.kind == "intrusion" and value:
        # intrusionN_alarm is the value; it stays set until someone writes 0.
        alarms = ("alarm",)
    return Reading(value, ALARM if alarms else OK, None, alarms, numbers)
