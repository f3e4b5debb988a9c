"""One chip's sensors as lm-sensors' configuration describes them: labels, ignores, computes.

`sensors` shows a feature under the label sensors.conf gives it, leaves out what the file
ignores, and turns raw values into real ones with its `compute` lines (a +12 V rail measured
through a divider reads 2.06 V at the chip). The reader applies the same, per chip: labels,
ignores and computed limits once per chip plan, computed values at every sample. What the kernel
reported stays in the Sensor's `sysfs` and the Reading's `raw`, for node_hwmon_*.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from ..lmsensors import ChipConfig, Compute, ComputeError
from ..logs import RepeatLimiter
from ..model import ERROR, Reading, Sensor

# sensors_eval_expr() gives up past this depth of features referring to features (lib/access.c).
MAX_DEPTH = 8

log = logging.getLogger(__name__)
# A statement that fails fails again at every sample (or plan): say so once in a while, not each time.
_repeats = RepeatLimiter(log)


class ConfiguredChip:
    """A chip's sensors with its configuration applied, and the computes to apply to its readings."""

    def __init__(self, config: ChipConfig, sensors: Sequence[Sensor], last_values: dict[str, float] | None = None):
        self._channels = [sensor.channel for sensor in sensors]
        self._ids = [sensor.id for sensor in sensors]
        self._index = {channel: number for number, channel in enumerate(self._channels)}
        self._computes: dict[int, Compute] = {}
        for number, sensor in enumerate(sensors):
            compute = config.compute(sensor.channel)
            if compute is not None:
                self._computes[number] = compute
        # Limits are computed with the plan; a compute that names another feature uses that
        # feature's value from the latest sample (none yet: the limit is left out until the
        # next plan, rather than shown wrong).
        self.last_values: dict[str, float] = dict(last_values or {})
        self.sensors = [self._configured(number, sensor, config) for number, sensor in enumerate(sensors)]
        self._last: dict[int, tuple[Reading, Reading]] = {}  # per computed channel: (reading in, reading out)

    @property
    def computes(self) -> bool:
        """Tell whether any reading of this chip needs computing."""
        return bool(self._computes)

    def readings(self, readings: Sequence[Reading]) -> list[Reading]:
        """Return the chip's readings (one per sensor, same order) with their values computed."""
        out = list(readings)
        if not self._computes:
            return out
        values: dict[int, float | None] = {}

        def value_of(number: int, depth: int) -> float:
            if number in values:
                known = values[number]
                if known is None:
                    raise ComputeError(f"{self._channels[number]} has no value")
                return known
            raw = readings[number].value
            if raw is None:
                values[number] = None
                raise ComputeError(f"{self._channels[number]} has no value")
            compute = self._computes.get(number)
            if compute is None:
                values[number] = raw
                return raw
            if depth > MAX_DEPTH:
                raise ComputeError(f"computes refer to each other more than {MAX_DEPTH} deep")
            computed = compute.from_raw(raw, self._lookup(lambda other: value_of(other, depth + 1)))
            values[number] = computed
            return computed

        for number in self._computes:
            reading = readings[number]
            if reading.value is None:
                continue  # faulted, disabled or unreadable: nothing to compute
            try:
                value: float | None = value_of(number, 0)
                error = None
            except ComputeError as exc:
                value, error = None, f"compute: {exc}"
            except Exception as exc:  # a bug: still this sensor's error only, never its chip's
                value, error = None, f"compute: internal error ({type(exc).__name__})"
                _repeats.exception("computing %s failed", self._ids[number])
            last = self._last.get(number)
            if last is not None and last[0] is reading and last[1].value == value:
                out[number] = last[1]  # the same object as before: encoded once downstream
                continue
            if error is None:
                computed = replace(reading, value=value, uncomputed=reading.value)
            else:
                computed = replace(reading, value=None, status=ERROR, error=error, uncomputed=reading.value)
            self._last[number] = (reading, computed)
            out[number] = computed
        for number, value in values.items():
            if value is not None:
                self.last_values[self._channels[number]] = value
        return out

    def _configured(self, number: int, sensor: Sensor, config: ChipConfig) -> Sensor:
        label = config.label(sensor.channel)
        ignored = config.is_ignored(sensor.channel)
        compute = self._computes.get(number)
        thresholds = sensor.thresholds
        if compute is not None:
            thresholds = {}
            lookup = self._lookup(self._last_value_of)
            for name, limit in sensor.thresholds.items():
                try:
                    thresholds[name] = compute.from_raw(limit, lookup)
                except ComputeError as exc:  # computed again with every plan, once a minute
                    _repeats.debug("%s %s: not computed (%s)", sensor.id, name, exc, key=(sensor.id, name))
                except Exception:  # a bug: this limit is left out, the sensor and its chip stay
                    _repeats.exception("computing the %s limit of %s failed", name, sensor.id)
        if label is None and not ignored and compute is None:
            return sensor
        return replace(sensor, label=sensor.label if label is None else label, ignored=ignored, thresholds=thresholds)

    def _last_value_of(self, number: int) -> float:
        channel = self._channels[number]
        if channel not in self.last_values:
            raise ComputeError(f"{channel} has no value yet")
        return self.last_values[channel]

    def _lookup(self, value_of: Callable[[int], float]) -> Callable[[str], float]:
        """Resolve a name in a compute expression (`in3`, `in3_input`) to that feature's value."""

        def lookup(name: str) -> float:
            channel = name[: -len("_input")] if name.endswith("_input") else name
            number = self._index.get(channel)
            if number is None:
                raise ComputeError(f"unknown feature {name!r}")
            return value_of(number)

        return lookup
