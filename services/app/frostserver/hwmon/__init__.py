"""The hwmon sensor reader: plain Python over a sysfs root, no Flask, no globals, no network.

- reader.py: `HwmonReader`, one sample of every chip under `<root>/class/hwmon`, and each chip
  as a whole with the settings of its channels without a reading (`chips()`);
- chip_plan.py: what to read per chip (its static metadata, read once a minute);
- guarded_reads.py: single raw reads under a per-sample deadline, so a stuck attribute stalls nothing;
- readings.py: a channel's raw texts to a `Reading` (value, status, alarms);
- chipname.py: lm-sensors chip names (`coretemp-isa-0000`); exporter_names.py: node_exporter's;
- attributes.py: attribute names, units and plausible ranges;
- report.py: a `sensors`-like report (`python -m frostserver.hwmon [--json] [ROOT]`).
"""

from .guarded_reads import read_attribute
from .reader import HwmonReader, ReaderStats

__all__ = ["HwmonReader", "ReaderStats", "read_attribute"]
