"""Apply the sensor overrides to each sample: keep or drop, relabel, override thresholds, customize.

In this order: [filter] keeps or drops, [relabel] and [thresholds] rename and set limits, then
[customize] (from the config file and the browser, config/customize.py) wins over both: its label,
place, order, hidden, its low and high (the sensor's min and max) and its calibration, which
changes the value itself here, before the sampler publishes, records or judges it. A calibrated
reading keeps the value before calibration (and before lm-sensors' compute) as its `uncomputed`:
the API's raw_value.

This runs on every sample over up to ~1024 sensors, and sensor ids are stable, so each id's
decision is worked out once and kept by the OverrideApplier that applies them (the overrides
themselves, config/sensor_overrides.py, are frozen); a sample then costs a dict lookup per sensor,
plus threshold comparisons where an override applies and one multiplication where a calibration
does. A change of settings makes a new applier (sampler.py): decisions are never patched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .config.customize import Customization
from .config.sensor_overrides import HIGH_LIMITS, LOW_LIMITS, SensorOverrides
from .model import ALARM, OK, Calibration, Reading, Sensor, Uncustomized

# More distinct ids than this means ids are churning (hot-plugged devices); start the cache over.
CACHE_LIMIT = 4096


@dataclass(frozen=True)
class Decision:
    """What the overrides do to one sensor: None to drop it, or the sensor to report instead."""

    source: Sensor  # the sensor as the reader reported it when this was decided
    sensor: Sensor | None
    limits: tuple[tuple[str, float], ...]  # overridden thresholds, to check readings against
    calibration: Calibration | None = None  # [customize]'s: applied to the reading's value


class OverrideApplier:
    """Apply one set of sensor overrides to samples, deciding each sensor id once."""

    def __init__(self, overrides: SensorOverrides):
        self.overrides = overrides
        self._decisions: dict[str, Decision] = {}
        # id -> (the reading given, the calibrated one): the reader hands back the same Reading while
        # a value does not change, and so does this (the alert engine skips a reading it has judged).
        self._calibrated: dict[str, tuple[Reading, Reading]] = {}

    def apply(self, pairs: list[tuple[Sensor, Reading]]) -> list[tuple[Sensor, Reading]]:
        """Return the pairs the overrides keep, customized and calibrated, with overridden limits and their alarms."""
        if self.overrides.is_empty:
            return list(pairs)
        kept = []
        for sensor, reading in pairs:
            decision = self.decision_for(sensor)
            if decision.sensor is None:
                continue
            if decision.calibration is not None:
                reading = self.calibrated(sensor.id, reading, decision.calibration)
            kept.append((decision.sensor, with_alarms(reading, decision.limits)))
        return kept

    def calibrated(self, sensor_id: str, reading: Reading, calibration: Calibration) -> Reading:
        """Return the reading calibrated: the same object for the same reading."""
        known = self._calibrated.get(sensor_id)
        if known is not None and known[0] is reading:
            return known[1]
        out = calibrate(reading, calibration)
        if len(self._calibrated) >= CACHE_LIMIT:
            self._calibrated.clear()
        self._calibrated[sensor_id] = (reading, out)
        return out

    def decision_for(self, sensor: Sensor) -> Decision:
        """Return the decision for a sensor, working it out again if the sensor changed."""
        decision = self._decisions.get(sensor.id)
        if decision is not None and same_sensor(decision.source, sensor):
            return decision
        if len(self._decisions) >= CACHE_LIMIT:
            self._decisions.clear()
        decision = self._decisions[sensor.id] = decide(self.overrides, sensor)
        return decision


def same_sensor(a: Sensor, b: Sensor) -> bool:
    """Tell whether two sensors carry the same metadata, thresholds included."""
    # Sensor equality ignores thresholds, but a chip may report new ones.
    return a is b or (a == b and a.thresholds == b.thresholds)


def decide(overrides: SensorOverrides, sensor: Sensor) -> Decision:
    """Work out what the overrides do to one sensor."""
    if not is_kept(overrides, sensor.id):
        return Decision(sensor, None, ())
    limits = overridden_limits(overrides, sensor.id)
    label = overrides.relabel.get(sensor.id, sensor.label)
    custom = overrides.customize.get(sensor.id)
    revision = overrides.revisions.get(sensor.id, 0)
    if label == sensor.label and not limits and custom is None and revision == sensor.revision:
        return Decision(sensor, sensor, ())
    thresholds = {**sensor.thresholds, **limits}
    changed = replace(sensor, label=label, thresholds=thresholds, revision=revision)
    if custom is None:
        return Decision(sensor, changed, tuple(limits.items()))
    changed, custom_limits = customized(changed, custom)
    limits.update(custom_limits)
    return Decision(sensor, changed, tuple(limits.items()), custom.calibration)


def customized(sensor: Sensor, custom: Customization) -> tuple[Sensor, dict[str, float]]:
    """Return the sensor as [customize] says it is, and the limits it sets (low: min, high: max)."""
    limits = {name: value for name, value in (("min", custom.low), ("max", custom.high)) if value is not None}
    changes_shown = custom.label is not None or limits
    return replace(
        sensor,
        label=sensor.label if custom.label is None else custom.label,
        thresholds={**sensor.thresholds, **limits},
        place=custom.place,
        order=0 if custom.order is None else custom.order,
        hidden=bool(custom.hidden),
        calibration=custom.calibration,
        uncustomized=Uncustomized(sensor.label, dict(sensor.thresholds)) if changes_shown else None,
    ), limits


def calibrate(reading: Reading, calibration: Calibration) -> Reading:
    """Return a reading with its value calibrated; the value before (and before any compute) is kept as uncomputed."""
    if reading.value is None:
        return reading
    raw = reading.uncomputed if reading.uncomputed is not None else reading.value
    return replace(reading, value=calibration.apply(reading.value), uncomputed=raw)


def is_kept(overrides: SensorOverrides, sensor_id: str) -> bool:
    """Tell whether a sensor id passes the include and exclude patterns."""
    if overrides.include and not any(pattern.matches(sensor_id) for pattern in overrides.include):
        return False
    return not any(pattern.matches(sensor_id) for pattern in overrides.exclude)


def overridden_limits(overrides: SensorOverrides, sensor_id: str) -> dict[str, float]:
    """Merge the threshold overrides matching a sensor id, later tables winning."""
    limits: dict[str, float] = {}
    for override in overrides.thresholds:
        if override.pattern.matches(sensor_id):
            limits.update(override.limits)
    return limits


def with_alarms(reading: Reading, limits: tuple[tuple[str, float], ...]) -> Reading:
    """Add an alarm for every overridden threshold the reading's value is beyond."""
    # Only readings with a value can cross anything; fault, disabled and error stay as they are.
    if not limits or reading.value is None or reading.status not in (OK, ALARM):
        return reading
    crossed = tuple(
        name for name, limit in limits if is_beyond(name, limit, reading.value) and name not in reading.alarms
    )
    if not crossed:
        return reading
    return replace(reading, status=ALARM, alarms=reading.alarms + crossed)


def is_beyond(name: str, limit: float, value: float) -> bool:
    """Tell whether a value is past a threshold: above a high one, below a low one."""
    if name in HIGH_LIMITS:
        return value > limit
    if name in LOW_LIMITS:
        return value < limit
    return False


def preview(sensor: Sensor, reading: Reading, custom: Customization | None, revision: int) -> tuple[Sensor, Reading]:
    """Return a published sensor and reading as they will be once the sampler applies `custom` instead.

    For the answer to a change (PATCH /api/v1/sensors/<id>), before the sampler's next sample: the
    sensor's own label and limits come back from `uncustomized`, its reading from undoing its
    calibration. Its status and alarms stay as published until that sample judges them.
    """
    base = sensor.uncustomized
    own = replace(
        sensor,
        label=sensor.label if base is None else base.label,
        thresholds=dict(sensor.thresholds if base is None else base.thresholds),
        place=None,
        order=0,
        hidden=False,
        calibration=None,
        uncustomized=None,
        revision=revision,
    )
    if sensor.calibration is not None and reading.value is not None:
        raw = sensor.calibration.undo(reading.value)
        computed = reading.uncomputed is not None and not math.isclose(reading.uncomputed, raw, rel_tol=1e-9)
        reading = replace(reading, value=raw, uncomputed=reading.uncomputed if computed else None)
    if custom is None:
        return own, reading
    changed, _ = customized(own, custom)
    if custom.calibration is not None:
        reading = calibrate(reading, custom.calibration)
    return changed, reading
