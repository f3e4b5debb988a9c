"""The one place that converts a value for people who read °F: the CSV on request, notification texts.

Everything FrostServer keeps, judges and serves to programs is in SI units (°C): the ring, the
history, the alert rules, the JSON API and /metrics. Only what a person reads is converted, at the
edge, when [device] units says "fahrenheit" (the dashboard converts for itself in the browser).
"""

from __future__ import annotations

CELSIUS_UNIT, FAHRENHEIT_UNIT = "°C", "°F"
FAHRENHEIT = "fahrenheit"


def fahrenheit(celsius: float) -> float:
    """Return a temperature in °F."""
    return celsius * 9.0 / 5.0 + 32.0


def celsius(fahrenheit: float) -> float:
    """Return a temperature given in °F in °C (a °F column of a CSV read back, forecast/replay.py)."""
    return (fahrenheit - 32.0) * 5.0 / 9.0


def converts(unit: str, units: str) -> bool:
    """Tell whether values of this unit are shown converted for these display units."""
    return units == FAHRENHEIT and unit == CELSIUS_UNIT


def shown_unit(unit: str, units: str) -> str:
    """Return the unit a value of `unit` is shown in."""
    return FAHRENHEIT_UNIT if converts(unit, units) else unit


def shown(value: float, unit: str, units: str) -> float:
    """Return a value as shown in the display units (a temperature in °F when asked; anything else as it is)."""
    return fahrenheit(value) if converts(unit, units) else value


def shown_delta(delta: float, unit: str, units: str) -> float:
    """Return a difference of values (a hysteresis) in the display units: no offset, only the scale."""
    return delta * 9.0 / 5.0 if converts(unit, units) else delta
