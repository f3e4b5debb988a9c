"""Plan what to read for each hwmon chip: read its static metadata once, list its per-sample attributes.

A `ChipPlan` holds what does not change between samples (the chip's names, each channel's
label, thresholds and temp type, the raw numbers of its other attributes, the settings of
channels without a reading) and the paths of the dynamic attributes (input or average, alarms,
fault, enable) every sample reads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TypeVar

from ..lmsensors.chip_name import ChipName
from ..model import ChipSetting
from . import attributes as attrs
from .chipname import device_link, name_chip
from .exporter_names import clean_metric_name, exporter_chip_label
from .guarded_reads import RawTexts, ReadFailure

# lm-sensors lists a chip's channels in this order.
CHANNEL_ORDER = ("in", "fan", "temp", "power", "energy", "curr", "humidity", "freq", "pwm", "cpu", "intrusion")


@dataclass(frozen=True)
class ChannelPlan:
    """What to read for one channel and how to turn it into a Reading."""

    channel: str  # e.g. "temp1"
    channel_type: attrs.ChannelType
    label: str
    thresholds: dict[str, float]
    sensor_type: str | None
    value: int | None  # indexes into ChipPlan.paths
    enable: int | None
    fault: int | None
    alarms: tuple[tuple[str, int], ...]
    raw_of: Callable[[RawTexts], object] = field(compare=False, repr=False)  # this channel's raw texts
    # For /metrics (node_exporter's series): every attribute read per sample, by property, and
    # the raw numbers of the others (limits, beep, offset, pwm mode, ...), read with the metadata.
    raw_props: tuple[tuple[str, int], ...] = ()
    raw_attributes: dict[str, float] = field(default_factory=dict, compare=False)
    raw_label: str | None = None


@dataclass(frozen=True)
class ChipPlan:
    """A chip's static metadata and the attribute paths to read on every sample."""

    name: ChipName
    chip_name: str  # the `name` file, or the derived name of a nameless chip
    order_key: tuple[str, tuple[str, ...], str]  # orders chips that share an lm-sensors id
    paths: tuple[str, ...]
    channels: tuple[ChannelPlan, ...]
    exporter_chip: str = ""  # node_exporter's `chip` label (see exporter_names.py)
    exporter_chip_name: str = ""  # its `chip_name` label: the cleaned `name` file, "" if none
    # Channels with settings but no reading (asus-nb-wmi's lone pwm1_enable, a Super I/O's pwm1
    # fan curve without pwm1): node_exporter exports them, so /metrics does; the API shows them
    # as settings of the chip.
    settings: tuple[ChipSetting, ...] = ()
    hwmon_dir: str = ""  # the resolved hwmonN directory


ReadFn = Callable[[str], "str | ReadFailure"]


def build_chip_plan(hwmon_path: str, sysfs_root: str, read: ReadFn) -> ChipPlan:
    """Read a chip's static metadata and plan its per-sample reads."""
    hwmon_dir = os.path.realpath(hwmon_path)
    device = device_link(hwmon_dir)
    name, attribute_dir = locate_attributes(hwmon_dir, device, read)
    chip_name = sanitize_prefix(name or derived_chip_name(device))
    chip = name_chip(chip_name, device, sysfs_root, lambda path: text_of(read(path)))
    entries = group_channels(_list(attribute_dir))
    paths: list[str] = []
    channels = []
    settings = []
    for (prefix, index), properties in sorted(entries.items(), key=_channel_sort_key):
        plan = plan_channel(prefix, index, properties, attribute_dir, paths, read)
        if plan is not None:
            channels.append(plan)
        elif (setting := plan_setting(prefix, index, properties, attribute_dir, read)) is not None:
            settings.append(setting)
    order_key = (device or hwmon_dir, tuple(sorted(c.channel for c in channels)), hwmon_dir)
    hwmon_name = name if attribute_dir == hwmon_dir else None  # node_exporter reads hwmonN/name only
    return ChipPlan(
        chip,
        chip_name,
        order_key,
        tuple(paths),
        tuple(channels),
        exporter_chip_label(hwmon_dir, device, hwmon_name),
        clean_metric_name(hwmon_name or ""),
        tuple(settings),
        hwmon_dir,
    )


def locate_attributes(hwmon_dir: str, device: str | None, read: ReadFn) -> tuple[str | None, str]:
    """Find the chip's name and the directory holding its attributes."""
    name = text_of(read(os.path.join(hwmon_dir, "name")))
    if name:
        return name, hwmon_dir
    # Old drivers keep `name` and the attributes in hwmonN/device/ (psutil #971); lm-sensors
    # tries the hwmon directory first, then the device directory.
    if device is not None:
        device_name = text_of(read(os.path.join(device, "name")))
        if device_name and _has_channels(device):
            return device_name, device
    # No name anywhere: lm-sensors ignores the chip; we still report it (derived name).
    if device is not None and not _has_channels(hwmon_dir) and _has_channels(device):
        return None, device
    return None, hwmon_dir


def derived_chip_name(device: str | None) -> str:
    """Name a chip without a `name` file after its device's driver, else plain "hwmon"."""
    # The driver is what `name` would have said for most chips (it87, nct6775, ...); the
    # bus and address still come from the device, so the id stays specific.
    if device is not None:
        try:
            return os.path.basename(os.readlink(os.path.join(device, "driver")))
        except OSError:
            pass
    return "hwmon"


def sanitize_prefix(name: str) -> str:
    """Keep a chip prefix usable inside a sensor id (no "/", "~" or whitespace)."""
    return "".join("_" if c in "/~" or c.isspace() else c for c in name.strip()) or "hwmon"


def text_of(result: str | ReadFailure) -> str | None:
    """Return a read's stripped text, or None if the read failed or was empty."""
    if type(result) is not str:
        return None
    return result.strip() or None


_Parsed = TypeVar("_Parsed")


def parse_result(result: str | ReadFailure | None, parse: Callable[[str], _Parsed]) -> _Parsed | None:
    """Parse a read's text; None when the read failed (or was not made) or `parse` raises ValueError."""
    if type(result) is not str:
        return None
    try:
        return parse(result)
    except ValueError:
        return None


def _list(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


def _has_channels(directory: str) -> bool:
    return any(attrs.parse_attribute_name(entry) for entry in _list(directory))


def group_channels(entries: Iterable[str]) -> dict[tuple[str, int], dict[str, str]]:
    """Group attribute file names by channel: (type, index) -> {property: file name}."""
    channels: dict[tuple[str, int], dict[str, str]] = {}
    for entry in entries:
        parsed = attrs.parse_attribute_name(entry)
        if parsed is not None:
            prefix, index, prop = parsed
            channels.setdefault((prefix, index), {})[prop] = entry
    return channels


def _channel_sort_key(item: tuple[tuple[str, int], dict[str, str]]) -> tuple[int, int]:
    (prefix, index), _ = item
    return CHANNEL_ORDER.index(prefix), index


def plan_channel(
    prefix: str, index: int, properties: dict[str, str], attribute_dir: str, paths: list[str], read: ReadFn
) -> ChannelPlan | None:
    """Plan one channel: read its label, thresholds and type; queue its dynamic attributes."""
    channel_type = attrs.CHANNEL_TYPES[prefix]
    channel = attrs.channel_name(prefix, index)
    roles = {prop: attrs.property_role(prefix, prop) for prop in properties}
    value_prop = _value_property(roles)
    alarm_props = sorted(p for p, role in roles.items() if role == attrs.ALARM)
    if value_prop is None and not alarm_props:
        return None  # no reading: a settings-only channel (plan_setting), or a stray limit or beep

    def path_of(prop: str) -> str:
        return os.path.join(attribute_dir, properties[prop])

    raw_props: list[tuple[str, int]] = []

    def queue_read(prop: str | None) -> int | None:
        if prop is None:
            return None
        paths.append(path_of(prop))
        raw_props.append((prop, len(paths) - 1))
        return len(paths) - 1

    texts: dict[str, str | ReadFailure] = {}

    def read_once(path: str) -> str | ReadFailure:
        if path not in texts:
            texts[path] = read(path)
        return texts[path]

    first_read = len(paths)
    label = text_of(read_once(path_of("label"))) if "label" in roles else None
    thresholds = read_thresholds(
        {p: path_of(p) for p, role in roles.items() if role == attrs.THRESHOLD}, channel_type, read_once
    )
    sensor_type = (
        parse_result(read_once(path_of("type")), attrs.temp_sensor_type)
        if "type" in roles and prefix == "temp"
        else None
    )
    value = queue_read(value_prop)
    alarms = tuple((attrs.alarm_name(p), at) for p in alarm_props if (at := queue_read(p)) is not None)
    fault = queue_read("fault" if roles.get("fault") == attrs.FAULT else None)
    enable = queue_read("enable" if roles.get("enable") == attrs.ENABLE else None)
    dynamic = {prop for prop, _ in raw_props}
    raw_attributes = read_numbers(properties, dynamic, attribute_dir, read_once)
    return ChannelPlan(
        channel=channel,
        channel_type=channel_type,
        label=label or channel,  # lm-sensors shows the channel name when there is no label
        thresholds=thresholds,
        sensor_type=sensor_type,
        value=value,
        alarms=alarms,
        fault=fault,
        enable=enable,
        raw_of=itemgetter(*range(first_read, len(paths))),
        raw_props=tuple(raw_props),
        raw_attributes=raw_attributes,
        raw_label=label,
    )


def plan_setting(
    prefix: str, index: int, properties: dict[str, str], attribute_dir: str, read: ReadFn
) -> ChipSetting | None:
    """Read the label and numbers of a channel that has no reading, or None if it has neither."""
    label = text_of(read(os.path.join(attribute_dir, properties["label"]))) if "label" in properties else None
    attributes = read_numbers(properties, (), attribute_dir, read)
    if label is None and not attributes:
        return None
    return ChipSetting(attrs.channel_name(prefix, index), f"{prefix}{index}", label, attributes)


def read_numbers(
    properties: dict[str, str], skip: Collection[str], attribute_dir: str, read: ReadFn
) -> dict[str, float]:
    """Read a channel's attributes but its label and `skip` as raw numbers, by property; leave out unreadable ones."""
    numbers = {}
    for prop in sorted(properties):
        if prop != "label" and prop not in skip:
            number = parse_result(read(os.path.join(attribute_dir, properties[prop])), attrs.parse_number)
            if number is not None:
                numbers[prop] = number
    return numbers


def _value_property(roles: dict[str, str | None]) -> str | None:
    """Pick the property holding the reading: the input, else the average (power1_average)."""
    for wanted in (attrs.VALUE, attrs.AVERAGE):
        for prop, role in roles.items():
            if role == wanted:
                return prop
    return None


def read_thresholds(paths: dict[str, str], channel_type: attrs.ChannelType, read: ReadFn) -> dict[str, float]:
    """Read and convert a channel's limits, leaving out any that cannot be read."""

    def in_unit(text: str) -> float:
        return attrs.to_unit(attrs.parse_number(text), channel_type)

    thresholds = {}
    for prop in attrs.THRESHOLD_PROPERTIES:
        if prop in paths:
            value = parse_result(read(paths[prop]), in_unit)
            if value is not None:
                thresholds[prop] = value
    return thresholds
