"""The domain objects shared by the sensor readers, the sampler, the store and the HTTP side."""

from __future__ import annotations

from dataclasses import dataclass, field

# Physical quantity of a channel -> the unit its values are reported in.  The readers convert
# from the kernel's sysfs units once, at the edge (see hwmon/attributes.py); everything past them
# speaks these units.
UNITS: dict[str, str] = {
    "temperature": "°C",
    "voltage": "V",
    "current": "A",
    "power": "W",
    "energy": "J",
    "humidity": "%RH",
    "fan": "RPM",
    "pwm": "%",
    "frequency": "Hz",
    "intrusion": "",
    "other": "",
}

# Reading.status values, worst last.
OK, ALARM, DISABLED, FAULT, ERROR = "ok", "alarm", "disabled", "fault", "error"
STATUSES = (OK, ALARM, DISABLED, FAULT, ERROR)


@dataclass(frozen=True)
class SysfsChannel:
    """Where a hwmon sensor lives in sysfs, in the terms node_exporter's hwmon collector labels it by.

    /metrics serves node_exporter's series from these (see http/node_exporter.py), so dashboards
    written for node_exporter keep working.
    """

    chip: str  # node_exporter's `chip` label, from the device path: "platform_coretemp_0"
    chip_name: str  # the cleaned `name` file ("" if none)
    channel: str  # the attribute prefix: "temp1", "cpu0" for cpu0_vid
    label: str | None  # the raw `label` file text (None if none)
    # Raw numbers of the channel's other attributes (limits, beep, offset, pwm mode, ...), read
    # with the chip's metadata rather than at every sample.
    attributes: dict[str, float] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Calibration:
    """A sensor's calibration ([customize] offset or two reference points): value = gain * reading + offset."""

    gain: float = 1.0
    offset: float = 0.0

    def apply(self, value: float) -> float:
        """Return the calibrated value of a reading."""
        return self.gain * value + self.offset

    def undo(self, value: float) -> float:
        """Return the reading a calibrated value came from (the gain is never 0: config/customize.py)."""
        return (value - self.offset) / self.gain

    def document(self) -> dict[str, float]:
        """Return the API's shape: {"offset": x}, or {"gain": g, "offset": x} for the two-point form."""
        return {"offset": self.offset} if self.gain == 1.0 else {"gain": self.gain, "offset": self.offset}


@dataclass(frozen=True)
class Uncustomized:
    """A sensor as it was before [customize] changed it: what resetting every customized field gives."""

    label: str
    thresholds: dict[str, float] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Sensor:
    """What a sensor is: its stable identity and its (slowly changing) metadata."""

    id: str  # stable across reboots, e.g. "coretemp-isa-0000/temp1"
    chip: str  # lm-sensors chip id, e.g. "coretemp-isa-0000"
    chip_name: str  # driver name from the `name` file, e.g. "coretemp"
    channel: str  # e.g. "temp1", or the config key for config-file sensors
    kind: str  # a key of UNITS
    label: str  # as lm-sensors shows it
    unit: str
    thresholds: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
    source: str = "hwmon"  # "hwmon" or "config"
    sensor_type: str | None = None  # temp*_type as lm-sensors words it, e.g. "thermistor"
    sysfs: SysfsChannel | None = None  # hwmon sensors only
    # lm-sensors' `ignore` (sensors.conf): left out of the API, the dashboard, frost_* and the
    # history, as `sensors` leaves it out; node_hwmon_* still exports it, as node_exporter does.
    ignored: bool = False
    # What a person said about it ([customize], from the config file or the browser): metadata that
    # the catalog publishes for every reader (the API, /metrics, the alert rules' places).
    place: str | None = None  # None: in no place (the dashboard's "Unsorted")
    order: int = 0  # position within its place; equal ones by id
    hidden: bool = False  # still sampled, recorded, in the API and /metrics; not on the overview
    calibration: Calibration | None = None  # applied to each reading before anything keeps it
    uncustomized: Uncustomized | None = None  # the label and limits before [customize]; None: it changed none
    revision: int = 0  # the settings store's revision of its last change in the browser (If-Match)


@dataclass(frozen=True)
class Reading:
    """One sampled value of a sensor, or why there is none."""

    value: float | None
    status: str = OK
    error: str | None = None
    alarms: tuple[str, ...] = ()
    # Raw numbers of the attributes read at every sample, by property, zeros included:
    # (("input", 45000), ("crit_alarm", 0)).  /metrics exports them as node_exporter does.
    raw: tuple[tuple[str, float], ...] = field(default=(), compare=False)
    # The value before lm-sensors' `compute` (sensors.conf) turned it into `value`, in the same
    # unit; None when no compute applies.
    uncomputed: float | None = None


@dataclass(frozen=True)
class Sample:
    """Every sensor's reading at one moment, sorted by sensor id."""

    seq: int  # 1, 2, 3, ...: the sample's number, which the event stream uses as its id
    sampled_at: float  # when the sample started, Unix time
    pairs: tuple[tuple[Sensor, Reading], ...]


@dataclass(frozen=True)
class ChipSetting:
    """The settings of a hwmon channel that has no reading: pwm1_enable without pwm1, say.

    Read with the chip's metadata, never at every sample; node_exporter exports them as
    node_hwmon_* series like any other attribute, the API as settings of their chip.
    """

    channel: str  # as lm-sensors names channels: "pwm1"
    sysfs_channel: str  # node_exporter's `sensor` label: the attribute prefix, "pwm1"
    label: str | None  # the raw `label` file text (None if none)
    attributes: dict[str, float] = field(default_factory=dict, hash=False)  # raw numbers, by property


@dataclass(frozen=True)
class Chip:
    """A hwmon chip as a whole: its names, its adapter and the settings of its channels without readings."""

    id: str  # lm-sensors chip id, as in Sensor.chip: "nct6779-isa-0a20"
    name: str  # driver name from the `name` file, as in Sensor.chip_name
    adapter: str  # the "Adapter:" line of `sensors`
    sysfs_chip: str  # node_exporter's `chip` label, as in SysfsChannel.chip
    sysfs_chip_name: str  # its `chip_name` label: the cleaned `name` file ("" if none)
    settings: tuple[ChipSetting, ...] = ()
