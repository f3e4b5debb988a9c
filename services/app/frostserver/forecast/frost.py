"""The frost forecast: when a sensor's recent trend reaches the frost threshold, if within the lead time.

A trend, not a weather model (README.md, "Frost ahead" says when it misleads). For each forecast
sensor the sampler's samples are averaged into bins (the window in 30), and when a bin closes the
trend is fitted again over the bins of the window ([forecast] window, 60 min by default) with the
Theil-Sen estimator (trend.py). With less than `min_data` of data there is no forecast.
After a restart the window is filled again from what the sampler before left (sampler.py: the ring
of recent samples, else the minute tier of the history on disk). Otherwise
the line's crossing of the frost threshold is the forecast, if it comes within the lead time.

The newest third of the window must agree: its own trend must also reach the threshold within the
lead time, and when both do, the later of the two times is said. A fall that has stopped (clouds
arrived, a CPU whose load ended, a gust's warm air blown away) then says nothing, where the hour's
line alone would still point at frost; it halved the false alarms of the windy replay night and
delayed no frost's first warning by more than two minutes (tests/unit/test_replay.py).

The paired frost point (dew point above 0 °C; config/derived.py) is a floor: air that cools to
its dew point condenses water (dew, or hoar frost below 0 °C), and the latent heat that releases
slows its cooling to a crawl, so it rarely goes much below it. While that floor is above the
threshold the forecast says "dew point floor" rather than a time.

Why bins: Theil-Sen looks at every pair of points, so its cost grows with their square; 30 bin
means over an hour cost 435 slopes a sensor every two minutes, whatever the sampling interval,
and average the sensor's noise and resolution away. When a bin closes, at most 32 sensors are
fitted per sample, the rest at the samples after (about 0.2 ms each here): 400 forecast sensors
cost a sample 5 ms at most, not one sample 70 ms.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from ..config.forecast import MIN_POINTS, ForecastConfig
from ..model import FrostForecast, Reading, Sensor
from .trend import theil_sen

BINS = 30  # per window
RECENT = 3  # the newest 1/RECENT of the bins must agree with the whole window's trend
FITS_PER_SAMPLE = 32  # sensors whose trend is fitted at one sample, at most
NOT_ENOUGH_DATA = "not enough data"
NO_VALUE = "no current value"
WARMING = "warming"
STEADY = "steady"
DEW_POINT_FLOOR = "dew point floor"
BEYOND_LEAD_TIME = "beyond lead time"
REASONS = (NOT_ENOUGH_DATA, NO_VALUE, WARMING, STEADY, DEW_POINT_FLOOR, BEYOND_LEAD_TIME)


@dataclass
class _Series:
    """One sensor's closed bins in the window, and the bin open now."""

    bins: deque[tuple[float, float, float]] = field(default_factory=deque)  # (bin start, mean time, mean value)
    time_sum: float = 0.0
    value_sum: float = 0.0
    count: int = 0
    has_value: bool = False  # the newest reading had a value

    def add(self, when: float, value: float) -> None:
        self.time_sum += when
        self.value_sum += value
        self.count += 1

    def close(self, start: float) -> None:
        if self.count:
            self.bins.append((start, self.time_sum / self.count, self.value_sum / self.count))
        self.time_sum = self.value_sum = 0.0
        self.count = 0


class FrostForecaster:
    """Keep each forecast sensor's recent bins and its forecast (see the module's docstring)."""

    def __init__(
        self,
        config: ForecastConfig,
        threshold: float,
        selects: Callable[[Sensor], bool],
        floors: Mapping[str, str] | None = None,
        backfill: Callable[[str, float], Iterable[tuple[float, float]]] | None = None,
    ):
        self.config = config
        self.threshold = threshold
        self.width = config.window / BINS  # s per bin
        self._selects = selects  # whether a sensor gets a forecast
        self._floors = dict(floors or {})  # temperature sensor id -> its pair's frost point sensor id
        # (sensor id, now) -> the (time, value) points of the window before now that the history on
        # disk holds: a sensor first seen (after a restart of the container) starts from them.
        self._backfill = backfill
        self._chosen: dict[str, tuple[Sensor, bool]] = {}  # sensor id -> (the Sensor judged, selected)
        self._series: dict[str, _Series] = {}
        self._floor_values: dict[str, float | None] = {}  # frost point id -> its newest value
        self._open: int | None = None  # the index of the bin open now (time / width)
        self._due: deque[str] = deque()  # sensors to fit again since the last bin closed, oldest first
        self._due_at = 0.0  # when that bin closed
        self.forecasts: dict[str, FrostForecast] = {}

    def observe(self, sampled_at: float, pairs: Iterable[tuple[Sensor, Reading]]) -> Mapping[str, FrostForecast]:
        """Take one sample; return every forecast sensor's forecast as of the newest closed bin."""
        index = math.floor(sampled_at / self.width)
        if self._open is None:
            self._open = index
        elif index > self._open:  # a bin closed
            self._close(self._open * self.width, (self._open + 1) * self.width)
            self._open = index
        elif index < self._open:  # the clock was set back: what came before is no trend of now
            self._series.clear()
            self.forecasts.clear()
            self._open = index
        floors = set(self._floors.values())
        seen = set()
        for sensor, reading in pairs:
            if sensor.id in floors:
                self._floor_values[sensor.id] = reading.value
            if not self._forecasts(sensor):
                continue
            seen.add(sensor.id)
            series = self._series.get(sensor.id)
            if series is None:
                if self._backfill is not None:
                    self.seed(sensor.id, self._backfill(sensor.id, sampled_at))
                series = self._series.setdefault(sensor.id, _Series())
            has_value = reading.value is not None
            if has_value:
                series.add(sampled_at, reading.value)  # type: ignore[arg-type]  # not None: has_value
            if has_value != series.has_value:
                series.has_value = has_value
                self.forecasts[sensor.id] = self._forecast(sensor.id, series, sampled_at)
        for gone in [sid for sid in self._series if sid not in seen]:
            del self._series[gone]  # a sensor that vanished, or is no longer chosen
            self.forecasts.pop(gone, None)
        for _ in range(min(FITS_PER_SAMPLE, len(self._due))):
            sensor_id = self._due.popleft()
            series = self._series.get(sensor_id)
            if series is not None:
                self.forecasts[sensor_id] = self._forecast(sensor_id, series, self._due_at)
        return self.forecasts

    def seed(self, sensor_id: str, points: Iterable[tuple[float, float]]) -> None:
        """Fill a sensor's window with points from before this process started (the ring, the minute tier)."""
        series = self._series.setdefault(sensor_id, _Series())
        start: float | None = None
        for when, value in points:
            bin_start = math.floor(when / self.width) * self.width
            if start is not None and bin_start != start:
                series.close(start)
            start = bin_start
            series.add(when, value)
        if start is not None:
            series.close(start)
            series.has_value = True

    # --- the parts --------------------------------------------------------------------------

    def _forecasts(self, sensor: Sensor) -> bool:
        known = self._chosen.get(sensor.id)
        if known is not None and known[0] is sensor:
            return known[1]
        chosen = sensor.kind == "temperature" and self._selects(sensor)
        self._chosen[sensor.id] = (sensor, chosen)
        return chosen

    def _close(self, start: float, at: float) -> None:
        oldest = at - self.config.window
        for series in self._series.values():
            series.close(start)
            while series.bins and series.bins[0][0] < oldest:
                series.bins.popleft()
        # Fitted a few a sample (observe): those still waiting from the bin before go first.
        waiting = set(self._due)
        self._due.extend(sensor_id for sensor_id in self._series if sensor_id not in waiting)
        self._due_at = at

    def _forecast(self, sensor_id: str, series: _Series, at: float) -> FrostForecast:
        """Fit the trend of one sensor's window and say when it reaches the threshold."""
        if not series.has_value:
            return FrostForecast(sensor_id, at, None, NO_VALUE)
        bins = series.bins
        if len(bins) < MIN_POINTS or at - bins[0][0] < self.config.min_data:
            return FrostForecast(sensor_id, at, None, NOT_ENOUGH_DATA)
        fitted = theil_sen([(when, value) for _, when, value in bins], at)
        if fitted is None:
            return FrostForecast(sensor_id, at, None, NOT_ENOUGH_DATA)
        slope, level = fitted
        floor = self._floor_values.get(self._floors.get(sensor_id, ""))
        forecast = frost_forecast(sensor_id, at, slope, level, floor, self.threshold, self.config.lead_time)
        if forecast.eta is None or forecast.eta <= at:
            return forecast
        recent = theil_sen(
            [(when, value) for _, when, value in list(bins)[-max(MIN_POINTS, len(bins) // RECENT) :]], at
        )
        if recent is None:
            return forecast
        agreed = frost_forecast(sensor_id, at, *recent, floor, self.threshold, self.config.lead_time)
        if agreed.eta is None:
            return replace(forecast, eta=None, reason=agreed.reason)
        return replace(forecast, eta=max(forecast.eta, agreed.eta))


def frost_forecast(
    sensor_id: str, at: float, slope: float, level: float, floor: float | None, threshold: float, lead_time: float
) -> FrostForecast:
    """Say when a trend (slope per second, level at `at`) reaches the threshold, or why it does not."""

    def made(eta: float | None, reason: str | None) -> FrostForecast:
        return FrostForecast(sensor_id, at, eta, reason, slope, level, floor)

    if level <= threshold:
        return made(at, None)  # frost now: the frost rule takes over once it holds
    if floor is not None and floor > threshold:
        return made(None, DEW_POINT_FLOOR)
    if slope >= 0:
        return made(None, WARMING if slope > 0 else STEADY)
    eta = at + (level - threshold) / -slope
    if eta - at > lead_time:
        return made(None, BEYOND_LEAD_TIME)
    return made(eta, None)
