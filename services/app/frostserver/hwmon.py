"""Read Linux hwmon sensors from a sysfs root; one misbehaving attribute never spoils the rest.

The sysfs root is a parameter, like node_exporter's --path.sysfs: `<root>/class/hwmon/hwmonN`
are symlinks into `<root>/devices/...`, so a tree copied with its real layout works anywhere.

What a sample does:
- lists class/hwmon (cheap) so chips appearing or vanishing are picked up or dropped;
- for new chips, and for every chip each `metadata_every` seconds, reads the static metadata
  (name, labels, thresholds, temp type, device path -> lm-sensors chip id) into a `ChipPlan`;
- reads only the dynamic attributes (input or average, alarms, fault, enable), one raw read
  each, in a small pool of daemon threads that work through the chips until a per-sample
  deadline; what is not read by then is reported as "timeout", and an attribute stuck in
  the kernel is not read again until its read returns (no thread pile-up).

Sensor ids are `<chip id>/<channel>`, e.g. "coretemp-isa-0000/temp1", where the chip id is the
lm-sensors name (see chipname.py), stable when hwmonN renumbers.  When several chips resolve
to the same id (two DS18B20 are both w1_slave_temp-virtual-0; two hwmon devices of one
driver on one parent device), they are ordered by device path (then by their attribute
names, and only as a last resort by hwmon directory) and all but the first get a suffix:
"w1_slave_temp-virtual-0", "w1_slave_temp-virtual-0~2", ...  `~` never appears in an
lm-sensors name and is URL-safe.
"""
from __future__ import annotations

import errno
import logging
import os
import queue
import re
import sys
import threading
import time
from collections import deque
from operator import itemgetter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import attributes as attrs
from .chipname import ChipName, name_chip
from .model import ALARM, DISABLED, ERROR, FAULT, OK, UNITS, Reading, Sensor

_PAGE_SIZE = 4096  # a sysfs attribute never exceeds one page
_SLOW_LOG_INTERVAL = 60.0  # seconds between "slow read" log lines
_MAX_SPARE_THREADS = 16  # replacement threads for reads stuck in the kernel
_CHANNEL_ORDER = ("in", "fan", "temp", "power", "energy", "curr", "humidity", "freq", "pwm", "cpu", "intrusion")


def read_attribute(path: str) -> str:
    """Read one sysfs attribute with a single open, read and close."""
    # One raw read, never a retry loop: Go's ReadFile polled forever on drivers answering
    # EAGAIN (node_exporter PR #728).  No O_NONBLOCK either: sysfs ignores it, and a FIFO
    # standing in for a blocking attribute in tests must block like the real thing.
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, _PAGE_SIZE).decode("utf-8", "replace")
    finally:
        os.close(fd)


class ReadFailure:
    """Why one attribute read produced no text."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"ReadFailure({self.reason!r})"


_NOT_READ = ReadFailure("timeout")


def describe_error(exc: BaseException) -> str:
    """Name a failed read briefly: its errno symbol (EIO, EAGAIN, ...) or its exception type."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, f"errno {exc.errno}")
    return type(exc).__name__


@dataclass
class ReaderStats:
    """Counters a sampler can export to show how healthy the sensors are."""

    samples: int = 0
    attribute_reads: int = 0  # reads actually issued (static and dynamic)
    slow_reads: int = 0  # reads slower than `slow_read`
    timeouts: int = 0  # reads abandoned at a sample deadline (each one then counts as stuck)
    stuck_reads: int = 0  # reads abandoned and not yet returned, each holding a pool thread
    errors_by_chip: dict[str, int] = field(default_factory=dict)  # ERROR readings per chip id


# ---------------------------------------------------------------------------------------------
# Static metadata: what to read for each chip, worked out once per chip and metadata period.


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
    raw_of: Callable[[list], object] = field(compare=False, repr=False)  # this channel's raw texts
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
    order_key: tuple  # orders chips that share an lm-sensors id
    paths: tuple[str, ...]
    channels: tuple[ChannelPlan, ...]
    exporter_chip: str = ""  # node_exporter's `chip` label (see exporter_chip_label)
    exporter_chip_name: str = ""  # its `chip_name` label: the cleaned `name` file, "" if none


ReadFn = Callable[[str], "str | ReadFailure"]


def build_chip_plan(hwmon_path: str, sysfs_root: str, read: ReadFn) -> ChipPlan:
    """Read a chip's static metadata and plan its per-sample reads."""
    hwmon_dir = os.path.realpath(hwmon_path)
    device = device_of(hwmon_dir)
    name, attribute_dir = locate_attributes(hwmon_dir, device, read)
    chip_name = sanitize_prefix(name or derived_chip_name(device))
    chip = name_chip(chip_name, device, sysfs_root, lambda path: text_of(read(path)))
    entries = group_channels(_list(attribute_dir))
    paths: list[str] = []
    channels = []
    for (prefix, index), properties in sorted(entries.items(), key=_channel_sort_key):
        plan = plan_channel(prefix, index, properties, attribute_dir, paths, read)
        if plan is not None:
            channels.append(plan)
    order_key = (device or hwmon_dir, tuple(sorted(c.channel for c in channels)), hwmon_dir)
    hwmon_name = name if attribute_dir == hwmon_dir else None  # node_exporter reads hwmonN/name only
    return ChipPlan(chip, chip_name, order_key, tuple(paths), tuple(channels),
                    exporter_chip_label(hwmon_dir, device, hwmon_name), clean_metric_name(hwmon_name or ""))


_INVALID_METRIC_CHARS = re.compile(r"[^a-z0-9:_]")


def clean_metric_name(name: str) -> str:
    """Clean a name for a label value the way node_exporter's hwmon collector does."""
    return _INVALID_METRIC_CHARS.sub("_", name.lower()).strip("_")


def exporter_chip_label(hwmon_dir: str, device: str | None, hwmon_name: str | None) -> str:
    """Name a chip as node_exporter (1.6 and later) labels it: from the device path, else `name`, else hwmonN."""
    # The device's parent directory and its own name: platform/coretemp.0 -> platform_coretemp_0,
    # .../nvme/nvme0 -> nvme_nvme0.  Stable across reboots, unlike hwmonN.
    if device is not None:
        dev_type = clean_metric_name(os.path.basename(os.path.dirname(device)))
        dev_name = clean_metric_name(os.path.basename(device))
        if dev_type and dev_name:
            return f"{dev_type}_{dev_name}"
        if dev_name:
            return dev_name
    if hwmon_name and clean_metric_name(hwmon_name):
        return clean_metric_name(hwmon_name)
    return clean_metric_name(os.path.basename(hwmon_dir))


def device_of(hwmon_dir: str) -> str | None:
    """Resolve the hwmon directory's `device` link, or None for a virtual chip."""
    link = os.path.join(hwmon_dir, "device")
    return os.path.realpath(link) if os.path.exists(link) else None


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


def _channel_sort_key(item: tuple[tuple[str, int], dict]) -> tuple[int, int]:
    (prefix, index), _ = item
    return _CHANNEL_ORDER.index(prefix), index


def plan_channel(prefix: str, index: int, properties: dict[str, str], attribute_dir: str,
                 paths: list[str], read: ReadFn) -> ChannelPlan | None:
    """Plan one channel: read its label, thresholds and type; queue its dynamic attributes."""
    channel_type = attrs.CHANNEL_TYPES[prefix]
    channel = attrs.channel_name(prefix, index)
    roles = {prop: attrs.property_role(prefix, prop) for prop in properties}
    value_prop = _value_property(roles)
    alarm_props = sorted(p for p, role in roles.items() if role == attrs.ALARM)
    if value_prop is None and not alarm_props:
        return None  # nothing to show: a stray limit, beep or auto_point attribute

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
        {p: path_of(p) for p, role in roles.items() if role == attrs.THRESHOLD}, channel_type, read_once)
    sensor_type = _read_sensor_type(path_of("type"), read_once) if "type" in roles and prefix == "temp" else None
    value = queue_read(value_prop)
    alarms = tuple((attrs.alarm_name(p), queue_read(p)) for p in alarm_props)
    fault = queue_read("fault" if roles.get("fault") == attrs.FAULT else None)
    enable = queue_read("enable" if roles.get("enable") == attrs.ENABLE else None)
    dynamic = {prop for prop, _ in raw_props}
    raw_attributes = {}
    for prop in sorted(properties):
        if prop != "label" and prop not in dynamic:
            number = _number(read_once(path_of(prop)))
            if number is not None:
                raw_attributes[prop] = number
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


def _number(result: str | ReadFailure | None) -> float | None:
    """Parse a raw attribute number; None when it could not be read or is not a number."""
    if type(result) is not str:
        return None
    try:
        return attrs.parse_number(result)
    except ValueError:
        return None


def _value_property(roles: dict[str, str | None]) -> str | None:
    """Pick the property holding the reading: the input, else the average (power1_average)."""
    for wanted in (attrs.VALUE, attrs.AVERAGE):
        for prop, role in roles.items():
            if role == wanted:
                return prop
    return None


def read_thresholds(paths: dict[str, str], channel_type: attrs.ChannelType, read: ReadFn) -> dict[str, float]:
    """Read and convert a channel's limits, leaving out any that cannot be read."""
    thresholds = {}
    for prop in attrs.THRESHOLD_PROPERTIES:
        if prop not in paths:
            continue
        text = read(paths[prop])
        if type(text) is not str:
            continue
        try:
            thresholds[prop] = attrs.to_unit(attrs.parse_number(text), channel_type)
        except ValueError:
            continue
    return thresholds


def _read_sensor_type(path: str, read: ReadFn) -> str | None:
    text = read(path)
    if type(text) is not str:
        return None
    try:
        return attrs.temp_sensor_type(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Dynamic values: turn one sample's raw texts into Readings.


def _flag(result: str | ReadFailure | None) -> bool | None:
    """Parse an alarm/fault/enable flag; None when it could not be read."""
    if type(result) is not str:
        return None
    try:
        return attrs.parse_flag(result)
    except ValueError:
        return None


def channel_reading(plan: ChannelPlan, raw: list) -> Reading:
    """Turn the raw texts read for one channel into a Reading."""
    numbers = tuple((prop, number) for prop, index in plan.raw_props
                    if (number := _number(raw[index])) is not None)
    # A disabled channel answers ENODATA on its input (sysfs-interface), so "disabled" wins
    # over the error; a faulty one (open diode) reports garbage, so "fault" wins too.
    if plan.enable is not None and _flag(raw[plan.enable]) is False:
        return Reading(None, DISABLED, raw=numbers)
    if plan.fault is not None and _flag(raw[plan.fault]):
        return Reading(None, FAULT, raw=numbers)
    alarms = tuple(name for name, index in plan.alarms if _flag(raw[index]))
    if plan.value is None:
        # An alarm-only channel, e.g. rpi_volt in0_lcrit_alarm (`sensors`: "in0: N/A").
        return Reading(None, ALARM if alarms else OK, None, alarms, numbers)
    text = raw[plan.value]
    if text is None:
        text = _NOT_READ
    if type(text) is not str:
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


# ---------------------------------------------------------------------------------------------
# Reading attributes against a deadline.


class _SampleRun:
    """One sample's shared list of chips, completion count and deadline flag."""

    __slots__ = ("pending", "remaining", "expired", "done", "raw")

    def __init__(self, chips: list):
        self.pending = deque(chips)
        self.remaining = len(chips)
        self.expired = False
        self.done = threading.Condition()
        self.raw: dict = {}  # chip key -> (ChipPlan, list of raw results)


class _GuardedReads:
    """Issue single attribute reads, counting slow ones and remembering reads stuck past a deadline."""

    # Lock-free on the hot path (the GIL makes each dict operation atomic): a worker marks
    # the path it reads in _in_flight; at a deadline the sampler marks those paths stuck,
    # then re-checks they are still in flight, so a read that just returned is never left
    # marked stuck forever.

    def __init__(self, read_attribute: Callable[[str], str], clock: Callable[[], float],
                 slow_read: float, logger: logging.Logger):
        self._read_attribute = read_attribute
        self._clock = clock
        self._slow_read = slow_read
        self._logger = logger
        self._in_flight: dict[int, str | None] = {}  # thread id -> path being read
        self._stuck: dict[str, float] = {}  # path -> when it was abandoned
        self._late: dict[str, str | ReadFailure] = {}  # results of stuck reads that returned
        self._counts: dict[int, list[int]] = {}  # thread id -> [reads, slow reads]; one writer each
        self._next_slow_log = float("-inf")
        self._slow_unlogged = 0

    def read(self, path: str, run: _SampleRun) -> str | ReadFailure:
        """Read one attribute unless it is stuck or the sample deadline has passed."""
        raw: list = [None]
        self.read_into((path,), raw, run)
        return _NOT_READ if raw[0] is None else raw[0]

    def read_into(self, paths: tuple[str, ...], raw: list, run: _SampleRun) -> float:
        """Read paths into raw[i] in order until done or the deadline; return the time spent."""
        me = threading.get_ident()
        in_flight, stuck, late = self._in_flight, self._stuck, self._late
        read_attribute, clock, slow_read = self._read_attribute, self._clock, self._slow_read
        counts = self._counts.get(me) or self._counts.setdefault(me, [0, 0])
        began = clock()
        for index, path in enumerate(paths):
            if late and path in late:
                # A read that outlived an earlier deadline (a ~750 ms DS18B20 conversion, a
                # stalled bus) has returned since: use its result rather than block again.
                raw[index] = late.pop(path)
                continue
            if run.expired:
                break
            if path in stuck:
                raw[index] = _NOT_READ
                continue
            in_flight[me] = path
            if run.expired:  # the deadline passed while we registered: do not start the read
                in_flight[me] = None
                stuck.pop(path, None)
                break
            start = clock()
            try:
                result: str | ReadFailure = read_attribute(path)
            except Exception as exc:  # a driver's errno, or anything an injected reader raises
                result = ReadFailure(describe_error(exc))
            elapsed = clock() - start
            in_flight[me] = None
            if path in stuck:
                self._returned_late(path, result)
            counts[0] += 1
            if elapsed > slow_read:
                counts[1] += 1
                self._log_slow(path, elapsed)
            raw[index] = result
        return clock() - began

    def abandon_in_flight(self, deadline: float) -> int:
        """Mark every read still in progress as stuck; return how many were newly marked."""
        now = self._clock()
        marked = []
        for thread, path in list(self._in_flight.items()):
            if path is None or path in self._stuck:
                continue
            self._stuck[path] = now
            if self._in_flight.get(thread) == path:
                marked.append(path)
            else:  # it returned meanwhile
                self._stuck.pop(path, None)
        for path in marked:
            self._logger.warning("read of %s did not finish within %.2f s; not reading it again "
                                 "until it returns", path, deadline)
        return len(marked)

    def stuck_count(self) -> int:
        """Count reads blocked in the kernel (each holds one pool thread)."""
        return len(self._stuck)

    def totals(self) -> tuple[int, int]:
        """Return (reads issued, slow reads) over all threads so far."""
        counts = list(self._counts.values())
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def _returned_late(self, path: str, result: str | ReadFailure) -> None:
        abandoned_at = self._stuck.pop(path, None)
        if abandoned_at is None:
            return
        self._late[path] = result
        self._logger.info("stuck read of %s returned after %.2f s", path, self._clock() - abandoned_at)

    def _log_slow(self, path: str, elapsed: float) -> None:
        now = self._clock()
        if now < self._next_slow_log:
            self._slow_unlogged += 1
            return
        self._next_slow_log = now + _SLOW_LOG_INTERVAL
        more, self._slow_unlogged = self._slow_unlogged, 0
        self._logger.warning("slow read of %s took %.3f s (threshold %.3f s; %d more slow reads "
                             "not logged)", path, elapsed, self._slow_read, more)


class _ChipPool:
    """A few daemon threads that work through each sample's chips until its deadline."""

    # Daemon threads, not a ThreadPoolExecutor: an executor joins its threads at interpreter
    # exit, and a read stuck in the kernel (ACPI power1_average in D state, node_exporter
    # #1507) would then hang the worker process forever.
    #
    # One thread reads all chips that have always been fast: more threads only fight over
    # the GIL (measured: slower).  Chips that have been slow start on threads of their own,
    # and when the sample is not done after `escalate_after` seconds another thread joins,
    # so one newly blocking attribute delays only its own chip.

    def __init__(self, size: int, work: Callable, escalate_after: float, logger: logging.Logger):
        self._size = max(1, size)
        self._work = work
        self._escalate_after = escalate_after
        self._logger = logger
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._target = 0

    def run(self, chips: list, timeout: float, slow_chips: int, spare: int) -> _SampleRun:
        """Read the chips (slow ones first); return when all are done or the deadline passed."""
        run = _SampleRun(chips)
        if not chips:
            return run
        self._keep_threads(self._size + min(spare, _MAX_SPARE_THREADS))
        helpers = min(self._size, len(chips), 1 + slow_chips)
        for _ in range(helpers):
            self._tasks.put(run)
        deadline = time.monotonic() + timeout
        with run.done:
            while run.remaining:
                left = deadline - time.monotonic()
                if left <= 0:
                    run.expired = True
                    break
                run.done.wait(min(left, self._escalate_after))
                if run.remaining and helpers < min(self._size, len(chips)):
                    helpers += 1
                    self._tasks.put(run)
        return run

    def close(self, timeout: float = 1.0) -> None:
        """Stop the threads; threads stuck in a read exit when it returns."""
        with self._lock:
            self._target = 0
            threads = list(self._threads)
        for _ in threads:
            self._tasks.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _keep_threads(self, target: int) -> None:
        with self._lock:
            self._target = target
            while len(self._threads) < target:
                thread = threading.Thread(target=self._serve, name="hwmon-reader", daemon=True)
                self._threads.add(thread)
                thread.start()

    def _serve(self) -> None:
        me = threading.current_thread()
        while True:
            run = self._tasks.get()
            if run is not None:
                self._drain(run)
            with self._lock:
                # Retire when a stuck read has returned and its replacement is still around.
                if run is None or len(self._threads) > self._target:
                    self._threads.discard(me)
                    return

    def _drain(self, run: _SampleRun) -> None:
        while not run.expired:
            try:
                chip = run.pending.popleft()
            except IndexError:
                return
            try:
                self._work(chip, run)
            except Exception:  # never let one chip kill a worker
                self._logger.exception("reading %s failed", getattr(chip, "hwmon_path", chip))
            with run.done:
                run.remaining -= 1
                if not run.remaining:
                    run.done.notify_all()


# ---------------------------------------------------------------------------------------------
# The reader.


class _Chip:
    """One class/hwmon entry and what we know about it."""

    __slots__ = ("key", "hwmon_path", "plan", "stale", "slow", "chip_id", "exporter_chip", "id_plan", "sensors",
                 "sensors_key", "readings", "readings_plan")

    def __init__(self, key: tuple, hwmon_path: str):
        self.key = key
        self.hwmon_path = hwmon_path
        self.plan: ChipPlan | None = None
        self.stale = True
        self.slow = False  # has taken longer than `slow_read` to read: gets a thread of its own
        self.chip_id = ""
        self.exporter_chip = ""
        self.id_plan: ChipPlan | None = None  # the plan chip_id was assigned for
        self.sensors: list[Sensor] = []
        self.sensors_key: tuple | None = None
        self.readings: list = []  # per channel: (raw texts, Reading) of the last sample
        self.readings_plan: ChipPlan | None = None


class HwmonReader:
    """Sample every hwmon sensor under a sysfs root."""

    def __init__(self, sysfs_root: Path | str, *, read_timeout: float = 0.5, slow_read: float = 0.05,
                 metadata_every: float = 60.0, read_attribute: Callable[[str], str] = read_attribute,
                 clock: Callable[[], float] = time.monotonic, logger: logging.Logger | None = None,
                 workers: int = 4):
        self._root = os.fspath(sysfs_root)
        self._class_dir = os.path.join(self._root, "class", "hwmon")
        self._read_timeout = read_timeout
        self._slow_read = slow_read
        self._metadata_every = metadata_every
        self._clock = clock
        self._logger = logger or logging.getLogger(__name__)
        self._reads = _GuardedReads(read_attribute, clock, slow_read, self._logger)
        self._pool = _ChipPool(workers, self._read_chip, slow_read, self._logger)
        self._chips: dict[tuple, _Chip] = {}
        self._metadata_due = float("-inf")
        self.stats = ReaderStats()

    def sample(self) -> list[tuple[Sensor, Reading]]:
        """Read every sensor once; sorted by sensor id; never raises for hardware trouble."""
        chips_changed = self._rescan()
        now = self._clock()
        if now >= self._metadata_due:
            self._metadata_due = now + self._metadata_every
            for chip in self._chips.values():
                chip.stale = True
        # Slow chips first, so each starts at once on a thread of its own.
        chips = sorted(self._chips.values(), key=lambda c: not c.slow)
        slow_chips = sum(c.slow for c in chips)
        run = self._pool.run(chips, self._read_timeout, slow_chips, self._reads.stuck_count())
        if run.expired:
            self.stats.timeouts += self._reads.abandon_in_flight(self._read_timeout)
            for chip in chips:
                if chip.key not in run.raw or None in run.raw[chip.key][1]:
                    chip.slow = True
        if chips_changed or any(c.plan is not c.id_plan for c in chips):
            self._assign_chip_ids(chips)
        samples = self._collect(chips, run)
        self._update_stats()
        return samples

    def adapters(self) -> dict[str, str]:
        """Map each chip id to its lm-sensors "Adapter:" text."""
        return {c.chip_id: c.plan.name.adapter for c in self._chips.values() if c.plan is not None}

    def close(self) -> None:
        """Stop the pool threads."""
        self._pool.close()

    def __enter__(self) -> HwmonReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _rescan(self) -> bool:
        """List class/hwmon, keeping known chips and adding new ones; say if the set changed."""
        try:
            entries = os.listdir(self._class_dir)
        except OSError:
            entries = []
        chips: dict[tuple, _Chip] = {}
        for entry in entries:
            if entry.startswith("."):
                continue
            path = os.path.join(self._class_dir, entry)
            try:
                key = (entry, os.readlink(path))
            except OSError:  # a real directory (or gone): its path is its identity
                key = (entry, None)
            chip = self._chips.get(key)
            if chip is None:
                if not os.path.isdir(path):
                    continue  # dangling link or stray file
                chip = _Chip(key, path)
            chips[key] = chip
        changed = chips.keys() != self._chips.keys()
        self._chips = chips
        return changed

    def _read_chip(self, chip: _Chip, run: _SampleRun) -> None:
        """Refresh the chip's plan if due, then read its dynamic attributes (pool thread)."""
        reads = self._reads
        if chip.plan is None or chip.stale:
            plan = build_chip_plan(chip.hwmon_path, self._root, lambda path: reads.read(path, run))
            if run.expired:
                return  # metadata read with timeouts: keep the old plan and retry next sample
            chip.plan, chip.stale = plan, False
        plan = chip.plan
        raw: list = [None] * len(plan.paths)
        run.raw[chip.key] = (plan, raw)
        if reads.read_into(plan.paths, raw, run) > self._slow_read:
            chip.slow = True

    def _assign_chip_ids(self, chips: list[_Chip]) -> None:
        """Give every chip its lm-sensors id, suffixing duplicates in device-path order."""
        groups: dict[str, list[_Chip]] = {}
        exporter_groups: dict[str, list[_Chip]] = {}
        for chip in chips:
            if chip.plan is not None:
                groups.setdefault(chip.plan.name.id, []).append(chip)
                exporter_groups.setdefault(chip.plan.exporter_chip, []).append(chip)
        for base, members in groups.items():
            members.sort(key=lambda c: c.plan.order_key)
            for number, chip in enumerate(members, start=1):
                chip.chip_id = base if number == 1 else f"{base}~{number}"
                chip.id_plan = chip.plan
        # node_exporter gives several hwmon devices of one parent device the same `chip` label
        # and then fails on the colliding series (#3637): suffix them the same way instead.
        for base, members in exporter_groups.items():
            members.sort(key=lambda c: c.plan.order_key)
            for number, chip in enumerate(members, start=1):
                chip.exporter_chip = base if number == 1 else f"{base}~{number}"

    def _collect(self, chips: list[_Chip], run: _SampleRun) -> list[tuple[Sensor, Reading]]:
        """Pair each channel's Sensor with its Reading, sorted by sensor id."""
        samples: list[tuple[Sensor, Reading]] = []
        errors = self.stats.errors_by_chip
        for chip in chips:
            plan, raw = run.raw.get(chip.key, (chip.plan, None))
            if plan is None:
                continue  # never planned yet (its first metadata read timed out)
            if raw is None:
                raw = [None] * len(plan.paths)
            if chip.readings_plan is not plan:
                chip.readings, chip.readings_plan = [(None, None)] * len(plan.channels), plan
            last = chip.readings
            for number, (channel, sensor) in enumerate(zip(plan.channels, self._sensors_of(chip, plan))):
                # Most values repeat from one sample to the next (fans, rails, flags): reuse
                # the Reading when the raw texts are the same.
                texts = channel.raw_of(raw)
                previous_texts, reading = last[number]
                if reading is None or texts != previous_texts:
                    reading = channel_reading(channel, raw)
                    last[number] = (texts, reading)
                if reading.status == ERROR:
                    errors[chip.chip_id] = errors.get(chip.chip_id, 0) + 1
                samples.append((sensor, reading))
        samples.sort(key=_sensor_id)
        return samples

    def _sensors_of(self, chip: _Chip, plan: ChipPlan) -> list[Sensor]:
        """Build (once per plan and id) the Sensor of each channel of a chip."""
        key = (plan, chip.chip_id, chip.exporter_chip)
        if chip.sensors_key != key:
            chip.sensors = [sensor_of(chip.chip_id, plan, channel, chip.exporter_chip) for channel in plan.channels]
            chip.sensors_key = key
        return chip.sensors

    def _update_stats(self) -> None:
        self.stats.samples += 1
        self.stats.attribute_reads, self.stats.slow_reads = self._reads.totals()
        self.stats.stuck_reads = self._reads.stuck_count()


def _sensor_id(sample: tuple[Sensor, Reading]) -> str:
    return sample[0].id


def sensor_of(chip_id: str, plan: ChipPlan, channel: ChannelPlan, exporter_chip: str | None = None) -> Sensor:
    """Describe one channel as a Sensor."""
    kind = channel.channel_type.kind
    prefix, index = attrs.parse_channel_name(channel.channel)
    return Sensor(
        id=f"{chip_id}/{channel.channel}",
        chip=chip_id,
        chip_name=plan.chip_name,
        channel=channel.channel,
        kind=kind,
        label=channel.label,
        unit=UNITS[kind],
        thresholds=dict(channel.thresholds),
        sensor_type=channel.sensor_type,
        exporter_chip=plan.exporter_chip if exporter_chip is None else exporter_chip,
        exporter_chip_name=plan.exporter_chip_name,
        exporter_sensor=f"{prefix}{index}",
        exporter_label=channel.raw_label,
        raw_attributes=channel.raw_attributes,
    )


# ---------------------------------------------------------------------------------------------
# `python -m frostserver.hwmon [SYSFS_ROOT]`: print readings the way `sensors` does.


def format_value(kind: str, value: float) -> str:
    """Format a value with the precision `sensors` uses for its kind."""
    unit = UNITS[kind]
    if kind == "temperature":
        return f"{value:+.1f}{unit}"
    if kind in ("voltage", "current", "power", "energy"):
        return f"{value:+.2f} {unit}"
    if kind == "humidity":
        return f"{value:.1f} {unit}"
    if kind == "frequency" and value >= 1e6:
        return f"{value / 1e6:.0f} MHz"
    if kind == "intrusion":
        return "ALARM" if value else "OK"
    if kind == "pwm":
        return f"{value:.0f}{unit}"
    return f"{value:.0f} {unit}".rstrip()


def format_reading(sensor: Sensor, reading: Reading) -> str:
    """Format one `label: value (thresholds)` line."""
    if reading.status == DISABLED:
        text = "disabled"
    elif reading.status == FAULT:
        text = "FAULT"
    elif reading.value is None:
        text = f"N/A ({reading.error})" if reading.error else "N/A"
    else:
        text = format_value(sensor.kind, reading.value)
    line = f"{sensor.label + ':':<16}{text:>12}"
    details = [f"{key} = {format_value(sensor.kind, value)}" for key, value in sensor.thresholds.items()]
    if sensor.sensor_type:
        details.append(f"sensor = {sensor.sensor_type}")
    if details:
        line += f"  ({', '.join(details)})"
    if reading.alarms and sensor.kind != "intrusion":
        line += f"  ALARM ({', '.join(a.upper() for a in reading.alarms)})"
    return line


def format_report(samples: list[tuple[Sensor, Reading]], adapters: dict[str, str]) -> str:
    """Format all samples chip by chip, channels in lm-sensors order."""
    by_chip: dict[str, list[tuple[Sensor, Reading]]] = {}
    for sensor, reading in samples:
        by_chip.setdefault(sensor.chip, []).append((sensor, reading))
    blocks = []
    for chip_id in sorted(by_chip):
        lines = [chip_id, f"Adapter: {adapters.get(chip_id, '')}"]
        rows = sorted(by_chip[chip_id], key=lambda sr: _lm_sensors_order(sr[0].channel))
        lines += [format_reading(sensor, reading) for sensor, reading in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _lm_sensors_order(channel: str) -> tuple[int, int]:
    parsed = attrs.parse_channel_name(channel)
    if parsed is None:
        return len(_CHANNEL_ORDER), 0
    prefix, index = parsed
    return _CHANNEL_ORDER.index(prefix), index


def main(argv: list[str] | None = None) -> int:
    """Print one sample of every sensor under SYSFS_ROOT (default $FROST_SYSFS_ROOT or /sys)."""
    args = sys.argv[1:] if argv is None else argv
    root = args[0] if args else os.environ.get("FROST_SYSFS_ROOT", "/sys")
    with HwmonReader(root) as reader:
        samples = reader.sample()
        print(format_report(samples, reader.adapters()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
