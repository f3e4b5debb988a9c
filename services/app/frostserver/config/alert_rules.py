"""[alerts.rules.<name>]: what an alert rule is, the rules every device has, and how the document changes them.

A rule selects sensors (ids or globs, kinds) and states a condition on each: a value at or above,
or at or below, a number or one of the sensor's own limits (or the device's frost threshold); or a
status (alarm, fault, error, stale). The condition must hold `hold` seconds (the document's `for`)
before the alert fires, and a value alert resolves only once the value is `hysteresis` past its
limit on the good side, so a value hovering at the limit does not flap. alerts/engine.py judges them.

    [alerts.rules.frost]          # a built-in rule: change any key, or enabled = false
    for = "10m"

    [alerts.rules.cellar_damp]    # a rule of your own
    sensors = ["sht3x-i2c-1-44/humidity1"]
    above = 85
    for = "30m"

    [alerts.rules.greenhouse_cold]  # by place ([customize] gives sensors theirs)
    places = ["Greenhouse"]
    kinds = ["temperature"]
    below = 4
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ..model import ALARM, ERROR, FAULT, UNITS, Sensor
from . import validate
from .customize import MAX_NAME, UNSORTED
from .errors import Invalid, KeyPath
from .id_patterns import IdPattern, id_pattern

STALE = "stale"  # a rule status: no new value for stale_after sampling intervals
RULE_STATUSES = (ALARM, FAULT, ERROR, STALE)
SEVERITIES = ("warning", "critical")
FROST_THRESHOLD = "frost_threshold"  # a limit name: the device's frost_threshold, not the sensor's
# The sensor's own limits a rule may compare with, by side (the names of Sensor.thresholds).
HIGH_LIMIT_NAMES = ("max", "crit", "emergency", FROST_THRESHOLD)
LOW_LIMIT_NAMES = ("min", "lcrit", FROST_THRESHOLD)
SAMPLING_STOPPED = "sampling_stopped"  # the device-wide rule, judged outside the sampler

RULE_KEYS = (
    "enabled",
    "sensors",
    "places",
    "kinds",
    "above",
    "below",
    "status",
    "for",
    "hysteresis",
    "stale_after",
    "severity",
)
RULE_NAME = re.compile(r"[a-z0-9_]{1,40}")
MAX_HOLD = 7 * 86400.0  # s: a week; `for` longer than that is a typo
KINDS = ("temperature", *sorted(set(UNITS) - {"temperature"}))  # the likeliest first, for the example


@dataclass(frozen=True)
class AlertRule:
    """One alert rule: which sensors, what condition, how long it must hold."""

    name: str
    sensors: tuple[IdPattern, ...] = ()  # empty: every sensor
    places: tuple[str, ...] = ()  # empty: every place ("Unsorted": the sensors in none)
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
        if self.places and (sensor.place or UNSORTED) not in self.places:
            return False
        return not self.sensors or any(pattern.matches(sensor.id) for pattern in self.sensors)


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


def parse_rules(value: Any, key: KeyPath) -> tuple[AlertRule, ...]:
    """Parse [alerts.rules]: the built-in rules, changed or turned off, then the document's own."""
    body = validate.table(value, key)
    builtins = {rule.name: rule for rule in BUILTIN_RULES}
    rules = dict(builtins)
    for name, rule_body in body.items():
        rule_key = (*key, name)
        if not RULE_NAME.fullmatch(name):
            raise Invalid(rule_key, "a rule name is 1 to 40 lowercase letters, digits or '_'")
        rules[name] = parse_rule(name, validate.table(rule_body, rule_key), builtins.get(name), rule_key)
    return tuple(rules.values())


def parse_rule(name: str, body: dict[str, Any], builtin: AlertRule | None, key: KeyPath) -> AlertRule:
    """Parse one [alerts.rules.<name>] table over the built-in rule of that name, if there is one."""
    validate.reject_unknown(body, RULE_KEYS, key)
    if builtin is not None and builtin.device_wide:
        extra = sorted(set(body) - {"enabled", "for", "severity"})
        if extra:
            raise Invalid((*key, extra[0]), f"{SAMPLING_STOPPED} judges the device, not sensors: set only enabled, for")
    changes: dict[str, Any] = {}
    if "enabled" in body:
        changes["enabled"] = validate.boolean(body["enabled"], (*key, "enabled"))
    if "sensors" in body:
        changes["sensors"] = parse_sensor_patterns(body["sensors"], (*key, "sensors"))
    if "places" in body:
        changes["places"] = parse_places(body["places"], (*key, "places"))
    if "kinds" in body:
        changes["kinds"] = validate.choices(body["kinds"], (*key, "kinds"), KINDS, "kinds")
    condition = [name for name in ("above", "below", "status") if name in body]
    if len(condition) > 1:
        raise Invalid(
            (*key, condition[1]), f"a rule has one condition: set one of above, below, status, not {condition}"
        )
    if condition:
        # A new condition replaces the built-in's whole condition.
        changes.update(above=None, below=None, statuses=())
        which = condition[0]
        if which == "status":
            changes["statuses"] = validate.choices(body["status"], (*key, "status"), RULE_STATUSES, "statuses")
        else:
            names = HIGH_LIMIT_NAMES if which == "above" else LOW_LIMIT_NAMES
            changes[which] = parse_limit(body[which], names, (*key, which))
    if "for" in body:
        changes["hold"] = validate.duration(body["for"], (*key, "for"), MAX_HOLD)
    if "hysteresis" in body:
        changes["hysteresis"] = validate.number(body["hysteresis"], (*key, "hysteresis"), 0, 1000)
    if "stale_after" in body:
        stale_after = validate.number(body["stale_after"], (*key, "stale_after"), 1, 100000)
        if stale_after != int(stale_after):
            raise Invalid((*key, "stale_after"), f"must be a whole number of sampling intervals, got {stale_after:g}")
        changes["stale_after"] = int(stale_after)
    if "severity" in body:
        changes["severity"] = validate.one_of(body["severity"], (*key, "severity"), SEVERITIES)
    rule = replace(builtin, **changes) if builtin is not None else AlertRule(name, **changes)
    if not rule.device_wide and rule.above is None and rule.below is None and not rule.statuses:
        raise Invalid(key, "needs a condition: above = <number or limit>, below = ..., or status = [...]")
    return rule


def parse_sensor_patterns(value: Any, key: KeyPath) -> tuple[IdPattern, ...]:
    """Parse a rule's sensors: one id or glob, or a non-empty list of them."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise Invalid(key, 'must be a list of sensor ids or globs like ["coretemp-*/temp*"]')
    return tuple(id_pattern(glob, (*key, index)) for index, glob in enumerate(value))


def parse_places(value: Any, key: KeyPath) -> tuple[str, ...]:
    """Parse a rule's places: one place name, or a list of them (empty: every place)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise Invalid(key, 'must be a list of places like ["Greenhouse"]')
    return tuple(validate.name_text(name, (*key, index), MAX_NAME) for index, name in enumerate(value))


def parse_limit(value: Any, names: tuple[str, ...], key: KeyPath) -> float | str:
    """Parse a rule's above or below: a number, or the name of one of the sensor's limits."""
    if isinstance(value, str):
        if value not in names:
            choices = ", ".join(names)
            raise Invalid(
                key, f"must be a number or one of {choices}{validate.did_you_mean(value, names)}, got {value!r}"
            )
        return value
    return validate.number(value, key)
