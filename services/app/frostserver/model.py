"""The domain objects shared by the sensor readers, the sampler and the HTTP layer."""
from __future__ import annotations

from dataclasses import dataclass, field

# Physical quantity of a channel -> the unit its values are reported in.  The readers convert
# from the kernel's sysfs units once, at the edge (see hwmon.py); everything past them speaks
# these units.
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
    # What node_exporter's hwmon collector would call this channel, so /metrics can serve the
    # same series (see metrics.py): its `chip` label, taken from the device path
    # ("platform_coretemp_0"), the cleaned `name` file ("" if none), its `sensor` label ("temp1",
    # "cpu0" for cpu0_vid), the raw `label` file text (None if none), and the raw numbers of the
    # channel's other attributes (limits, beep, offset, pwm mode, ...), read with the metadata.
    exporter_chip: str = ""
    exporter_chip_name: str = ""
    exporter_sensor: str = ""
    exporter_label: str | None = None
    raw_attributes: dict[str, float] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Reading:
    """One sampled value of a sensor, or why there is none."""

    value: float | None
    status: str = OK
    error: str | None = None
    alarms: tuple[str, ...] = ()
    # Raw numbers of the attributes read at every sample, by property, zeros included:
    # (("input", 45000), ("crit_alarm", 0)); /metrics exports them as node_exporter does.
    raw: tuple[tuple[str, float], ...] = field(default=(), compare=False)
