"""[forecast]: which sensors get a frost forecast, and the trend's window and lead time.

    [forecast]
    sensors = ["config/garden"]   # default: every sensor the frost rule watches
    places = ["Greenhouse"]       # and/or the sensors of these places (sensors or places: either chooses)
    window = "60m"                # the trend is fitted over this much of the recent past
    min_data = "15m"              # no forecast until this much of the window has data
    lead_time = "3h"              # frost further ahead than this is not forecast

The forecast itself is forecast/; the rule that warns of it, frost_expected, is an alert rule like
the others ([alerts.rules.frost_expected]: for, hysteresis, severity, enabled). Which sensors get
one comes from the file today; places set up in the browser will choose theirs through the
resolver's browser layer (resolve.py), which gives this same table: ForecastConfig.selects is the
one place that says whether a sensor gets a forecast. The browser sets this same table (the settings
page's "Frost forecast"), so an export holds it as written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import Sensor
from . import validate
from .alert_rules import parse_places, parse_sensor_patterns
from .customize import UNSORTED
from .errors import Invalid, KeyPath
from .id_patterns import IdPattern

FORECAST_KEYS = ("enabled", "sensors", "places", "window", "min_data", "lead_time")
LONGEST_WINDOW = 12 * 3600.0  # s
LONGEST_LEAD = 24 * 3600.0  # s: a trend says nothing a day ahead
MIN_POINTS = 5  # samples at least in min_data: fewer make no trend


@dataclass(frozen=True)
class ForecastConfig:
    """The [forecast] table, validated."""

    enabled: bool = True
    sensors: tuple[IdPattern, ...] = ()  # empty (and no places): the sensors the frost rule watches
    window: float = 3600.0  # s
    min_data: float = 900.0  # s
    lead_time: float = 3 * 3600.0  # s
    places: tuple[str, ...] = ()  # the sensors of these places ("Unsorted": those in none)

    def selects(self, sensor: Sensor, watched_by_frost: bool) -> bool:
        """Tell whether a sensor gets a forecast: chosen here, else watched by the frost rule."""
        if not self.enabled or sensor.ignored:
            return False
        if self.sensors or self.places:
            return any(pattern.matches(sensor.id) for pattern in self.sensors) or (
                bool(self.places) and (sensor.place or UNSORTED) in self.places
            )
        return watched_by_frost


def parse_forecast(value: Any, sampling_interval: float) -> ForecastConfig:
    """Parse the [forecast] table (absent: the defaults)."""
    key: KeyPath = ("forecast",)
    body = validate.table(value, key)
    validate.reject_unknown(body, FORECAST_KEYS, key)
    defaults = ForecastConfig()
    enabled = validate.boolean(body.get("enabled", defaults.enabled), (*key, "enabled"))
    # [] is "none chosen" (the browser's empty field): the frost rule's sensors then, as when absent.
    chosen = body.get("sensors", [])
    sensors = parse_sensor_patterns(chosen, (*key, "sensors")) if chosen != [] else ()
    places = parse_places(body["places"], (*key, "places")) if "places" in body else ()
    window = span(body, "window", defaults.window, LONGEST_WINDOW)
    min_data = span(body, "min_data", defaults.min_data, LONGEST_WINDOW)
    lead_time = span(body, "lead_time", defaults.lead_time, LONGEST_LEAD)
    if min_data > window:
        raise Invalid(
            (*key, "min_data"), f"must be at most the window ({validate.in_words(window)}), got {min_data:g} s"
        )
    if min_data < MIN_POINTS * sampling_interval:
        raise Invalid(
            (*key, "min_data"),
            f"must hold at least {MIN_POINTS} samples ({MIN_POINTS * sampling_interval:g} s at sampling.interval "
            f"{sampling_interval:g} s), got {min_data:g} s",
        )
    return ForecastConfig(enabled, sensors, window, min_data, lead_time, places)


def span(body: dict[str, Any], name: str, default: float, longest: float) -> float:
    """Return a duration of the table, at least 10 s."""
    seconds = validate.duration(body.get(name, default), ("forecast", name), longest)
    if seconds < 10:
        raise Invalid(("forecast", name), f"must be at least 10 s, got {seconds:g} s")
    return seconds
