"""What an alert rule is, and the rules every device has unless its config file turns them off.

A rule selects sensors (ids or globs, kinds) and states a condition on each: a value at or above,
or at or below, a number or one of the sensor's own limits (or the device's frost threshold); or a
status (alarm, fault, error, stale). The condition must hold `hold` seconds (the config file's
`for`) before the alert fires, and a value alert resolves only once the value is `hysteresis` past
its limit on the good side, so a value hovering at the limit does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..configfile import IdPattern
from ..model import ALARM, ERROR, FAULT, Sensor

STALE = "stale"  # a rule status: no new value for stale_after sampling intervals
RULE_STATUSES = (ALARM, FAULT, ERROR, STALE)
SEVERITIES = ("warning", "critical")
FROST_THRESHOLD = "frost_threshold"  # a limit name: the device's frost_threshold, not the sensor's
# The sensor's own limits a rule may compare with, by side (the names of Sensor.thresholds).
HIGH_LIMIT_NAMES = ("max", "crit", "emergency", FROST_THRESHOLD)
LOW_LIMIT_NAMES = ("min", "lcrit", FROST_THRESHOLD)
SAMPLING_STOPPED = "sampling_stopped"  # the device-wide rule, judged outside the sampler


@dataclass(frozen=True)
class AlertRule:
    """One alert rule: which sensors, what condition, how long it must hold."""

    name: str
    sensors: tuple[IdPattern, ...] = ()  # empty: every sensor
    kinds: tuple[str, ...] = ()  # empty: every kind
    above: float | str | None = None  # a number, or a limit name (HIGH_LIMIT_NAMES)
    below: float | str | None = None  # a number, or a limit name (LOW_LIMIT_NAMES)
    statuses: tuple[str, ...] = ()  # some of RULE_STATUSES
    hold: float = 0.0  # s the condition must hold before the alert fires (`for`)
    hysteresis: float = 0.0  # in the sensor's unit: how far back past the limit resolves it
    stale_after: int = 10  # sampling intervals without a value that make a sensor stale
    severity: str = "warning"
    enabled: bool = True

    @property
    def device_wide(self) -> bool:
        """Tell whether the rule judges the device rather than its sensors (sampling_stopped)."""
        return self.name == SAMPLING_STOPPED

    def selects(self, sensor: Sensor) -> bool:
        """Tell whether the rule applies to a sensor (its kinds and id patterns)."""
        if self.kinds and sensor.kind not in self.kinds:
            return False
        return not self.sensors or any(pattern.matches(sensor.id) for pattern in self.sensors)


def sampling_silence(
    rule: AlertRule, last_sample: float | None, interval: float, since: float, now: float
) -> float | None:
    """Return for how long sampling has been silent if that makes sampling_stopped fire, else None.

    last_sample: when the newest sample was taken (None: none yet, silent since `since`, when the
    judge started). Never less than three intervals, whatever `for` says: a slow interval is no stop.
    """
    silent_for = now - (since if last_sample is None else last_sample)
    return silent_for if silent_for >= max(rule.hold, 3 * interval) else None


# The rules of every device. Voltage and fan alarms are off until asked for: Super I/O chips
# raise them for limits nobody set (a max of 0), and a default that cries wolf gets turned off.
BUILTIN_RULES: tuple[AlertRule, ...] = (
    AlertRule("frost", kinds=("temperature",), below=FROST_THRESHOLD, hold=300, hysteresis=0.5, severity="critical"),
    AlertRule("temperature_max", kinds=("temperature",), above="max", hold=60, hysteresis=2.0),
    AlertRule("temperature_crit", kinds=("temperature",), above="crit", hold=0, hysteresis=2.0, severity="critical"),
    AlertRule("sensor_fault", statuses=(FAULT, ERROR), hold=300),
    AlertRule(SAMPLING_STOPPED, hold=120, severity="critical"),
    AlertRule("voltage_alarm", kinds=("voltage",), statuses=(ALARM,), hold=60, enabled=False),
    AlertRule("fan_alarm", kinds=("fan",), statuses=(ALARM,), hold=60, enabled=False),
)
