"""The sensors of the [derived.<name>] pairs: dew point, frost point and absolute humidity.

The sampler adds them to each sample after the readings they come from (sampler.py says the order:
the sources, then any calibration of them, then these, then the overrides). They are ordinary
sensors (kind temperature or humidity, source "derived", chip "derived", ids
derived/<name>/dew_point, .../frost_point, .../absolute_humidity): the API, the dashboard, the
history, the alert rules and /metrics take them as any other. An input that is missing, has no
value or is out of the formula's range gives no value with the reason in its error, never a
made-up one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from ..config.derived import QUANTITIES, DerivedPair
from ..logs import RepeatLimiter
from ..model import ERROR, Reading, Sensor
from . import humidity as formulas
from .humidity import OutOfRange

log = logging.getLogger(__name__)

SOURCE = "derived"
# Each quantity's formula, by the channel suffix config/derived.py names it with.
FORMULAS: dict[str, Callable[[float, float], float]] = {
    "dew_point": formulas.dew_point,
    "frost_point": formulas.frost_point,
    "absolute_humidity": formulas.absolute_humidity,
}
DECIMALS = 3  # the formulas are good to about 0.1 °C: more digits would only be noise in the API


def sensors_of(pair: DerivedPair) -> tuple[Sensor, ...]:
    """Return the sensors a pair gives, in QUANTITIES' order."""
    return tuple(
        Sensor(
            id=pair.sensor_id(quantity),
            chip=SOURCE,
            chip_name=SOURCE,
            channel=f"{pair.name}/{quantity}",
            kind=kind,
            label=f"{pair.label} {words}",
            unit=unit,
            source=SOURCE,
        )
        for quantity, kind, unit, words in QUANTITIES
    )


class DerivedSensors:
    """Compute each pair's sensors from the sample's readings of its two inputs."""

    def __init__(self, pairs: Iterable[DerivedPair], logger: logging.Logger = log):
        self.pairs = tuple(pairs)
        self._sensors = {pair.name: sensors_of(pair) for pair in self.pairs}
        # The input ids, once: derive() runs on every sample.
        self._inputs = frozenset(pair.temperature for pair in self.pairs) | {pair.humidity for pair in self.pairs}
        self._repeats = RepeatLimiter(logger)
        # pair name -> (the input readings, the readings derived from them): the readers hand back
        # the same Reading while a value does not change, and the alert engine and the store skip
        # a reading they saw already; a derived one stays the same object likewise.
        self._last: dict[str, tuple[tuple[Reading | None, Reading | None], tuple[Reading, ...]]] = {}

    def derive(self, pairs: Iterable[tuple[Sensor, Reading]]) -> list[tuple[Sensor, Reading]]:
        """Return the derived sensors' pairs for one sample's pairs (a sensor given twice: its last pair counts)."""
        if not self.pairs:
            return []
        found = {sensor.id: (sensor, reading) for sensor, reading in pairs if sensor.id in self._inputs}
        out: list[tuple[Sensor, Reading]] = []
        for pair in self.pairs:
            temperature, humidity = found.get(pair.temperature), found.get(pair.humidity)
            inputs = (temperature[1] if temperature else None, humidity[1] if humidity else None)
            last = self._last.get(pair.name)
            if last is not None and last[0][0] is inputs[0] and last[0][1] is inputs[1] and None not in inputs:
                readings = last[1]
            else:
                readings = self._readings(pair, temperature, humidity)
                self._last[pair.name] = (inputs, readings)
            out.extend(zip(self._sensors[pair.name], readings, strict=True))
        return out

    def _readings(
        self, pair: DerivedPair, temperature: tuple[Sensor, Reading] | None, humidity: tuple[Sensor, Reading] | None
    ) -> tuple[Reading, ...]:
        problem = self._input_problem(pair, pair.temperature, temperature, "temperature") or self._input_problem(
            pair, pair.humidity, humidity, "humidity"
        )
        if problem is not None:
            return tuple(Reading(None, ERROR, problem) for _ in QUANTITIES)
        assert temperature is not None and humidity is not None  # no problem: both have a value
        t, rh = temperature[1].value, humidity[1].value
        assert t is not None and rh is not None
        readings = []
        for quantity, *_ in QUANTITIES:
            try:
                readings.append(Reading(round(FORMULAS[quantity](t, rh), DECIMALS)))
            except OutOfRange as error:
                readings.append(Reading(None, ERROR, str(error)))
        return tuple(readings)

    def _input_problem(
        self, pair: DerivedPair, sensor_id: str, found: tuple[Sensor, Reading] | None, kind: str
    ) -> str | None:
        """Say why an input gives nothing to derive from (None: it has a value of the right kind)."""
        if found is None:
            self._repeats.warning(
                "[derived.%s]: no sensor %r in this sample; check its id (GET /api/v1/sensors lists them)",
                pair.name,
                sensor_id,
                key=("missing", pair.name, sensor_id),
            )
            return f"no sensor {sensor_id} in this sample"
        sensor, reading = found
        if sensor.kind != kind:
            return f"{sensor_id} is a {sensor.kind} sensor, not a {kind} one"
        if reading.value is None:
            why = f": {reading.error}" if reading.error else ""
            return f"no value from {sensor_id} ({reading.status}{why})"
        return None
