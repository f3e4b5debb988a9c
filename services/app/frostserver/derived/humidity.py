"""Dew point, frost point and absolute humidity from a temperature and a relative humidity.

The Magnus form with Alduchov and Eskridge's (1996) coefficients ("Improved Magnus form
approximation of saturation vapor pressure", J. Appl. Meteor. 35, 601-609):

- over water (their AERK): e_w(t) = 6.1094 hPa * exp(17.625 t / (t + 243.04)), t in °C, for
  -40 to 50 °C, where they state a relative error of at most 0.384 %;
- over ice (AERKi): e_i(t) = 6.1121 hPa * exp(22.587 t / (t + 273.86)), for -80 to 0 °C, which
  they recommend there; within 0.16 % of Murphy and Koop's (2005) vapour pressure of ice over that
  range (tests/unit/test_derived.py checks both against Murphy and Koop, and against the CRC
  Handbook's table of saturated water vapour).

An error of 0.384 % in a vapour pressure is about 0.04 to 0.07 °C in a dew point over the range
(d ln e_w / dt is 0.058 per °C at 30 °C, 0.104 at -40 °C); with the error at the air's temperature
added, a dew point is within 0.15 °C of the exact one. Relative humidity is, as sensors report it
and as the WMO defines it, relative to water, below 0 °C too.

Every function returns a number, or raises OutOfRange saying which input is outside the formula's
range and why: a value the formula does not cover is no value, never a guess.
"""

from __future__ import annotations

import math

# Alduchov and Eskridge (1996): e_s(t) = C * exp(A t / (t + B)), C in hPa, B in °C.
WATER_A, WATER_B, WATER_C = 17.625, 243.04, 6.1094
ICE_A, ICE_B, ICE_C = 22.587, 273.86, 6.1121
WATER_RANGE = (-40.0, 50.0)  # °C: AERK's stated range
ICE_RANGE = (-80.0, 0.0)  # °C: AERKi's
# The specific gas constant of water vapour, J/(kg K): absolute humidity = e / (R_v T).
WATER_VAPOUR_R = 461.52
ZERO_CELSIUS = 273.15  # K


class OutOfRange(ValueError):
    """An input (or the result) outside the range the formula is stated for; the message says which."""


def check_inputs(temperature: float, humidity: float) -> None:
    """Raise OutOfRange unless the temperature and relative humidity are ones the formulas cover."""
    if not math.isfinite(temperature) or not math.isfinite(humidity):
        raise OutOfRange("an input is not a finite number")
    low, high = WATER_RANGE
    if not low <= temperature <= high:
        raise OutOfRange(f"temperature {temperature:g} °C is outside the formula's range ({low:g} to {high:g} °C)")
    if humidity <= 0:
        raise OutOfRange(f"relative humidity {humidity:g} %RH: at 0 %RH or below there is no dew point")
    if humidity > 100:
        raise OutOfRange(f"relative humidity {humidity:g} %RH is above 100 %RH")


def saturation_over_water(temperature: float) -> float:
    """Return the saturation vapour pressure over water at a temperature (°C), in hPa."""
    return WATER_C * math.exp(WATER_A * temperature / (temperature + WATER_B))


def saturation_over_ice(temperature: float) -> float:
    """Return the saturation vapour pressure over ice at a temperature (°C, at most 0), in hPa."""
    return ICE_C * math.exp(ICE_A * temperature / (temperature + ICE_B))


def vapour_pressure(temperature: float, humidity: float) -> float:
    """Return the air's water vapour pressure in hPa, from its temperature (°C) and relative humidity (%RH)."""
    check_inputs(temperature, humidity)
    return humidity / 100 * saturation_over_water(temperature)


def dew_point(temperature: float, humidity: float) -> float:
    """Return the dew point (°C): the temperature at which the air would be saturated over water."""
    check_inputs(temperature, humidity)
    gamma = math.log(humidity / 100) + WATER_A * temperature / (temperature + WATER_B)
    result = WATER_B * gamma / (WATER_A - gamma)
    if result < WATER_RANGE[0]:
        raise OutOfRange(f"the dew point is below the formula's range ({WATER_RANGE[0]:g} °C)")
    return result


def frost_point(temperature: float, humidity: float) -> float:
    """Return the frost point (°C): saturation over ice where that is below 0 °C, else the dew point.

    Above 0 °C no ice forms: the air is saturated at its dew point, and that is what this returns.
    """
    pressure = vapour_pressure(temperature, humidity)
    if pressure >= ICE_C:  # saturated above 0 °C: the dew point
        return dew_point(temperature, humidity)
    gamma = math.log(pressure / ICE_C)
    result = ICE_B * gamma / (ICE_A - gamma)
    if result < ICE_RANGE[0]:
        raise OutOfRange(f"the frost point is below the formula's range ({ICE_RANGE[0]:g} °C)")
    return result


def absolute_humidity(temperature: float, humidity: float) -> float:
    """Return the mass of water vapour per volume of air, in g/m³ (the ideal gas law)."""
    pressure = vapour_pressure(temperature, humidity) * 100  # Pa
    return 1000 * pressure / (WATER_VAPOUR_R * (temperature + ZERO_CELSIUS))
