"""The sampler's net under its sources: no NaN or infinity leaves a sample.

The sources refuse them where they arise (a compute that overflows, a config-file sensor whose file
says `nan`), with a reason of their own. Whatever still gets through (a new source, a bug) stops
here: a value becomes no value with a reason, a limit is left out, and a line is logged now and
then. JSON has no NaN nor Infinity, and every reader downstream (the API, the stream, the history,
the alert rules) may rely on finite numbers.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

from .logs import RepeatLimiter
from .model import ERROR, Reading, Sensor

NOT_FINITE = "value is not finite"
# Sensors remembered at most; more ids than this means ids are churning (hot-plugged devices).
MAX_SENSORS = 16384

log = logging.getLogger(__name__)


class FiniteGuard:
    """Replace the non-finite numbers of each sample's pairs; the same Sensor object costs one check."""

    def __init__(self, logger: logging.Logger = log):
        self._repeats = RepeatLimiter(logger)
        self._sensors: dict[str, tuple[Sensor, Sensor]] = {}  # id -> (as given, as passed on)

    def check(self, pairs: list[tuple[Sensor, Reading]]) -> list[tuple[Sensor, Reading]]:
        """Return the pairs with every value and threshold finite."""
        out = pairs
        for number, (sensor, reading) in enumerate(pairs):
            checked = self._sensor(sensor)
            value = reading.value
            if checked is sensor and (value is None or math.isfinite(value)):
                continue
            if out is pairs:
                out = list(pairs)  # copied only when something changes: the usual sample is clean
            if value is not None and not math.isfinite(value):
                self._repeats.warning("sensor %s: its source gave the value %r; served as no value", sensor.id, value)
                reading = replace(reading, value=None, status=ERROR, error=NOT_FINITE)
            out[number] = (checked, reading)
        return out

    def _sensor(self, sensor: Sensor) -> Sensor:
        known = self._sensors.get(sensor.id)
        if known is not None and known[0] is sensor:
            return known[1]
        thresholds = {name: limit for name, limit in sensor.thresholds.items() if math.isfinite(limit)}
        checked = sensor
        if len(thresholds) != len(sensor.thresholds):
            dropped = sorted(set(sensor.thresholds) - set(thresholds))
            self._repeats.warning("sensor %s: limits %s are not finite; left out", sensor.id, dropped)
            checked = replace(sensor, thresholds=thresholds)
        if len(self._sensors) >= MAX_SENSORS:
            self._sensors.clear()
        self._sensors[sensor.id] = (sensor, checked)
        return checked
