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


@dataclass(frozen=True)
class Reading:
    """One sampled value of a sensor, or why there is none."""

    value: float | None
    status: str = OK
    error: str | None = None
    alarms: tuple[str, ...] = ()
