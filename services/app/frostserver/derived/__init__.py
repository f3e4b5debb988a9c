"""Sensors computed from other sensors' readings of the same sample, not read from hardware.

- humidity.py: dew point, frost point and absolute humidity (the Magnus form, Alduchov and
  Eskridge 1996), with their ranges;
- sensors.py: DerivedSensors, the [derived.<name>] pairs' sensors, which the sampler adds to each
  sample after the readings they come from.
"""
