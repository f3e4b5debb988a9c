"""Read Linux hwmon sensors from a sysfs root; one misbehaving attribute never spoils the rest.

The sysfs root is a parameter, like node_exporter's --path.sysfs: `<root>/class/hwmon/hwmonN`
are symlinks into `<root>/devices/...`, so a tree copied with its real layout works anywhere.

What a sample does:
- lists class/hwmon (cheap) so chips appearing or vanishing are picked up or dropped;
- for new chips, and for every chip each `metadata_every` seconds, reads the static metadata
  (name, labels, thresholds, temp type, device path -> lm-sensors chip id) into a `ChipPlan`
  (see chip_plan.py); the refreshes are spread evenly over the period, one chip at a time
  (the one planned longest ago), so a machine with many chips has no sample that reads them all;
- reads only the dynamic attributes (input or average, alarms, fault, enable), one raw read
  each, in a small pool of daemon threads that work through the chips until a per-sample
  deadline; what is not read by then is reported as "timeout", and an attribute stuck in
  the kernel is not read again until its read returns, so threads do not pile up (see
  guarded_reads.py);
- turns each channel's raw texts into a Reading (see readings.py), reusing the last one
  when the texts have not changed.

Sensor ids are `<chip id>/<channel>`, e.g. "coretemp-isa-0000/temp1", where the chip id is the
lm-sensors name (see chipname.py), stable when hwmonN renumbers.  When several chips resolve
to the same id (two DS18B20 are both w1_slave_temp-virtual-0; two hwmon devices of one
driver on one parent device), they are ordered by device path (then by their attribute
names, and only as a last resort by hwmon directory) and all but the first get a suffix:
"w1_slave_temp-virtual-0", "w1_slave_temp-virtual-0~2", ...  `~` never appears in an
lm-sensors name and is URL-safe.  node_exporter's `chip` labels (SysfsChannel.chip, for /metrics)
are disambiguated by node_exporter 1.12's own rule instead (exporter_names.distinct_chip_labels).

Channels that have settings but no reading (pwm1_enable without pwm1) are no sensors: `chips()`
describes each chip with them, read with its metadata.

`python -m frostserver.hwmon [SYSFS_ROOT]` prints one sample like `sensors` (report.py).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..lmsensors import EMPTY as NO_SENSORS_CONFIG
from ..lmsensors import SensorsConfig
from ..model import ERROR, UNITS, Chip, Reading, Sensor, SysfsChannel
from . import attributes as attrs
from .chip_plan import ChannelPlan, ChipPlan, build_chip_plan
from .configured import ConfiguredChip
from .exporter_names import distinct_chip_labels
from .guarded_reads import ChipPool, GuardedReads, OpenAttributes, RawTexts, SampleRun
from .guarded_reads import read_attribute as read_file
from .readings import channel_reading


@dataclass
class ReaderStats:
    """Counters a sampler can export to show how healthy the sensors are."""

    samples: int = 0
    attribute_reads: int = 0  # reads actually issued (static and dynamic)
    slow_reads: int = 0  # reads slower than `slow_read`
    timeouts: int = 0  # reads abandoned at a sample deadline (each one then counts as stuck)
    stuck_reads: int = 0  # reads abandoned and not yet returned, each holding a pool thread
    errors_by_chip: dict[str, int] = field(default_factory=dict)  # ERROR readings per chip id


ChipKey = tuple[str, "str | None"]  # class/hwmon entry and where its link points (None: not a link)


class _Chip:
    """One class/hwmon entry and what we know about it."""

    __slots__ = (
        "chip",
        "chip_id",
        "configured",
        "exporter_chip",
        "hwmon_path",
        "id_plan",
        "key",
        "plan",
        "planned_at",
        "readings",
        "readings_plan",
        "replan",
        "sensors",
        "sensors_key",
        "slow",
    )

    def __init__(self, key: ChipKey, hwmon_path: str):
        self.key = key
        self.hwmon_path = hwmon_path
        self.plan: ChipPlan | None = None
        self.planned_at = float("-inf")  # when its metadata was last read
        self.replan = False  # its metadata is due to be read again, in this sample
        self.slow = False  # has taken longer than `slow_read` to read: gets a thread of its own
        self.chip_id = ""
        self.exporter_chip = ""
        self.id_plan: ChipPlan | None = None  # the plan chip_id was assigned for
        self.sensors: list[Sensor] = []
        self.sensors_key: tuple[ChipPlan, str, str] | None = None
        self.configured: ConfiguredChip | None = None  # what sensors.conf says of it, if anything
        self.chip: Chip | None = None  # what chips() describes it as; built with its sensors
        # per channel: (its raw texts, its Reading) of the last sample
        self.readings: list[tuple[object, Reading | None]] = []
        self.readings_plan: ChipPlan | None = None


class HwmonReader:
    """Sample every hwmon sensor under a sysfs root."""

    def __init__(
        self,
        sysfs_root: Path | str,
        *,
        read_timeout: float = 0.5,
        slow_read: float = 0.05,
        metadata_every: float = 60.0,
        read_attribute: Callable[[str], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
        workers: int = 4,
        sensors_config: SensorsConfig = NO_SENSORS_CONFIG,
    ):
        self._root = os.fspath(sysfs_root)
        self._sensors_config = sensors_config  # lm-sensors' labels, ignores and computes
        self._i2c_adapters: dict[int, str] | None = None  # for its `bus` statements; listed again when chips change
        self._class_dir = os.path.join(self._root, "class", "hwmon")
        self._read_timeout = read_timeout
        self._slow_read = slow_read
        self._metadata_every = metadata_every
        self._clock = clock
        self._logger = logger or logging.getLogger(__name__)
        # What every sample reads goes through files kept open, unless a test reads its own way.
        self._files = OpenAttributes() if read_attribute is None else None
        self._reads = GuardedReads(
            read_attribute or read_file,
            clock,
            slow_read,
            self._logger,
            None if self._files is None else self._files.read,
        )
        self._pool = ChipPool(workers, self._read_chip, slow_read, self._logger)
        self._chips: dict[ChipKey, _Chip] = {}
        self._next_refresh: float | None = None  # when the next chip's metadata is due
        self._prepared: SampleRun | None = None  # the next sample's reads, started ahead (prepare)
        self._chips_changed = False  # since chip ids were last assigned
        self.stats = ReaderStats()

    def prepare(self, at: float) -> None:
        """Have the reads of the next sample start at `at` (time.monotonic()), on the pool threads.

        The sampler calls it before it sleeps until the next sample: when it wakes, the reads are
        under way or done instead of only starting, which spares a sample one thread switch (on a
        busy device, a wait for the CPU).
        """
        if self._prepared is None:
            self._prepared = self._start_run(at)

    def sample(self) -> list[tuple[Sensor, Reading]]:
        """Read every sensor once; sorted by sensor id; never raises for hardware trouble."""
        run = self._pool.finish(self._prepared or self._start_run(time.monotonic()))
        self._prepared = None
        if run.expired:
            self.stats.timeouts += self._reads.abandon_in_flight(self._read_timeout)
            for chip in run.chips:
                if chip.key not in run.raw or None in run.raw[chip.key][1]:
                    chip.slow = True
        # Chips that vanished since the run started are left out; new ones are read next time.
        self._chips_changed |= self._rescan()
        chips = list(self._chips.values())
        if self._chips_changed or any(c.plan is not c.id_plan for c in chips):
            self._assign_chip_ids(chips)
            self._chips_changed = False
        samples = self._collect(chips, run)
        self._update_stats()
        return samples

    def _start_run(self, at: float) -> SampleRun:
        self._chips_changed |= self._rescan()
        self._schedule_refreshes(self._clock())
        # Slow chips first, so each starts at once on a thread of its own.
        chips = sorted(self._chips.values(), key=lambda c: not c.slow)
        slow_chips = sum(c.slow for c in chips)
        return self._pool.start(chips, at, self._read_timeout, slow_chips, self._reads.stuck_count())

    def chips(self) -> list[Chip]:
        """Describe every chip of the last sample (names, adapter, settings), sorted by id.

        A chip's object stays the same as long as its Sensors do (_sensors_of).
        """
        chips = [chip.chip for chip in self._chips.values() if chip.chip is not None]
        chips.sort(key=lambda c: c.id)
        return chips

    def adapters(self) -> dict[str, str]:
        """Map each chip id to its lm-sensors "Adapter:" text."""
        return {c.chip_id: c.plan.name.adapter for c in self._chips.values() if c.plan is not None}

    def close(self) -> None:
        """Stop the pool threads and close the attribute files kept open."""
        if self._prepared is not None:
            self._prepared.cancelled.set()
        self._pool.close()
        if self._files is not None:
            self._files.close()

    def __enter__(self) -> HwmonReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _schedule_refreshes(self, now: float) -> None:
        """Mark the chips whose metadata is due: one every metadata_every / chips seconds, oldest first."""
        planned = [chip for chip in self._chips.values() if chip.plan is not None]
        if not planned:
            return
        slot = self._metadata_every / len(planned)
        if self._next_refresh is None:
            self._next_refresh = min(chip.planned_at for chip in planned) + slot
        due = 0
        while now >= self._next_refresh and due < len(planned):
            due += 1
            self._next_refresh += slot
        if now >= self._next_refresh:  # far behind (a clock jump, a long stall): start the rhythm anew
            self._next_refresh = now + slot
        for chip in sorted(planned, key=lambda c: c.planned_at)[:due]:
            chip.replan = True

    def _rescan(self) -> bool:
        """List class/hwmon, keeping known chips and adding new ones; say if the set changed."""
        try:
            entries = os.listdir(self._class_dir)
        except OSError:
            entries = []
        chips: dict[ChipKey, _Chip] = {}
        for entry in entries:
            if entry.startswith("."):
                continue
            path = os.path.join(self._class_dir, entry)
            key: ChipKey
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
        if changed:
            self._i2c_adapters = None  # an adapter may have come or gone with them
        if changed and self._files is not None:  # a chip that comes back gets its files opened anew
            gone = [
                path for key, chip in self._chips.items() if key not in chips and chip.plan for path in chip.plan.paths
            ]
            self._files.forget(gone, self._reads.busy_paths())
        self._chips = chips
        return changed

    def _read_chip(self, chip: _Chip, run: SampleRun) -> None:
        """Refresh the chip's plan if due, then read its dynamic attributes (pool thread)."""
        reads = self._reads
        if chip.plan is None or chip.replan:
            planned_at = self._clock()
            plan = build_chip_plan(chip.hwmon_path, self._root, lambda path: reads.read(path, run))
            if run.expired:
                return  # metadata read with timeouts: keep the old plan and retry next sample
            if chip.plan is not None and self._files is not None:  # channels that went away
                gone = set(chip.plan.paths) - set(plan.paths)
                self._files.forget(gone, self._reads.busy_paths())
            chip.plan, chip.planned_at, chip.replan = plan, planned_at, False
        plan = chip.plan
        raw: RawTexts = [None] * len(plan.paths)
        run.raw[chip.key] = (plan, raw)
        if reads.read_into(plan.paths, raw, run) > self._slow_read:
            chip.slow = True

    def _assign_chip_ids(self, chips: list[_Chip]) -> None:
        """Give every chip its lm-sensors id, suffixing duplicates in device-path order."""
        groups: dict[str, list[_Chip]] = {}
        for chip in chips:
            if chip.plan is not None:
                groups.setdefault(chip.plan.name.id, []).append(chip)
        for chip, chip_id in _suffix_duplicates(groups):
            chip.chip_id = chip_id
            chip.id_plan = chip.plan
        # node_exporter up to 1.11 gives several hwmon devices of one parent device the same
        # `chip` label and then fails on the colliding series (#3637): label them as 1.12 does.
        planned = [(chip, chip.plan) for chip in chips if chip.plan is not None]
        labels = distinct_chip_labels(
            [(plan.exporter_chip, plan.exporter_chip_name, os.path.basename(plan.hwmon_dir)) for _, plan in planned]
        )
        for (chip, _), label in zip(planned, labels, strict=True):
            chip.exporter_chip = label

    def _collect(self, chips: list[_Chip], run: SampleRun) -> list[tuple[Sensor, Reading]]:
        """Pair each channel's Sensor with its Reading, sorted by sensor id."""
        samples: list[tuple[Sensor, Reading]] = []
        errors = self.stats.errors_by_chip
        for chip in chips:
            entry = run.raw.get(chip.key)  # (plan, texts) of the chips read this sample
            plan: ChipPlan | None = entry[0] if entry else chip.plan
            if plan is None:
                continue  # never planned yet (its first metadata read timed out)
            raw: RawTexts = entry[1] if entry else [None] * len(plan.paths)
            if chip.readings_plan is not plan:
                chip.readings, chip.readings_plan = [(None, None)] * len(plan.channels), plan
            last = chip.readings
            sensors = self._sensors_of(chip, plan)
            readings: list[Reading] = []
            for number, channel in enumerate(plan.channels):
                # Most values repeat from one sample to the next (fans, rails, flags): reuse
                # the Reading when the raw texts are the same.
                texts = channel.raw_of(raw)
                previous_texts, reading = last[number]
                if reading is None or texts != previous_texts:
                    reading = channel_reading(channel, raw)
                    last[number] = (texts, reading)
                readings.append(reading)
            if chip.configured is not None and chip.configured.computes:
                readings = chip.configured.readings(readings)
            for sensor, reading in zip(sensors, readings, strict=True):
                if reading.status == ERROR:
                    errors[chip.chip_id] = errors.get(chip.chip_id, 0) + 1
                samples.append((sensor, reading))
        samples.sort(key=_sensor_id)
        return samples

    def _sensors_of(self, chip: _Chip, plan: ChipPlan) -> list[Sensor]:
        """Build (once per plan and ids) the Sensor of each channel of a chip, and the chip's Chip."""
        key = (plan, chip.chip_id, chip.exporter_chip)
        if chip.sensors_key != key:
            chip.chip = chip_of(chip.chip_id, plan, chip.exporter_chip)
            sensors = [sensor_of(chip.chip_id, plan, channel, chip.exporter_chip) for channel in plan.channels]
            last_values = chip.configured.last_values if chip.configured else None
            chip.configured = None
            if self._sensors_config.blocks:
                if self._i2c_adapters is None:
                    self._i2c_adapters = i2c_adapters(self._root)
                config = self._sensors_config.for_chip(plan.name, self._i2c_adapters)
                if not config.is_empty:
                    chip.configured = ConfiguredChip(config, sensors, last_values)
                    sensors = chip.configured.sensors
            chip.sensors = sensors
            chip.sensors_key = key
        return chip.sensors

    def _update_stats(self) -> None:
        self.stats.samples += 1
        self.stats.attribute_reads, self.stats.slow_reads = self._reads.totals()
        self.stats.stuck_reads = self._reads.stuck_count()


def i2c_adapters(sysfs_root: str) -> dict[int, str]:
    """Map each i2c bus number to its adapter's name, for sensors.conf's `bus` statements."""
    adapters = {}
    directory = os.path.join(sysfs_root, "class", "i2c-adapter")
    try:
        entries = os.listdir(directory)
    except OSError:
        return {}
    for entry in entries:
        if not entry.startswith("i2c-") or not entry[4:].isdigit():
            continue
        try:
            with open(os.path.join(directory, entry, "name"), encoding="utf-8", errors="replace") as file:
                adapters[int(entry[4:])] = file.read().strip()
        except OSError:
            continue
    return adapters


def _suffix_duplicates(groups: dict[str, list[_Chip]]) -> Iterator[tuple[_Chip, str]]:
    """Pair each chip with its group's name, suffixed "~2", "~3", ... after the first in device-path order."""
    for base, members in groups.items():
        members.sort(key=lambda c: c.plan.order_key if c.plan else ("", (), ""))
        for number, chip in enumerate(members, start=1):
            yield chip, base if number == 1 else f"{base}~{number}"


def _sensor_id(sample: tuple[Sensor, Reading]) -> str:
    return sample[0].id


def chip_of(chip_id: str, plan: ChipPlan, exporter_chip: str) -> Chip:
    """Describe a chip as a whole."""
    return Chip(chip_id, plan.chip_name, plan.name.adapter, exporter_chip, plan.exporter_chip_name, plan.settings)


def sensor_of(chip_id: str, plan: ChipPlan, channel: ChannelPlan, exporter_chip: str | None = None) -> Sensor:
    """Describe one channel as a Sensor."""
    kind = channel.channel_type.kind
    parsed = attrs.parse_channel_name(channel.channel)
    assert parsed is not None, channel.channel  # the plan named the channel after a parsed attribute
    prefix, index = parsed
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
        sysfs=SysfsChannel(
            chip=plan.exporter_chip if exporter_chip is None else exporter_chip,
            chip_name=plan.exporter_chip_name,
            channel=f"{prefix}{index}",
            label=channel.raw_label,
            attributes=channel.raw_attributes,
        ),
    )
