"""Print one sample of every hwmon sensor the way `sensors` (lm-sensors) does.

Run it as `python -m frostserver.hwmon [SYSFS_ROOT]`.
"""

from __future__ import annotations

import os
import sys

from ..model import DISABLED, FAULT, UNITS, Reading, Sensor
from . import attributes as attrs
from .chip_plan import CHANNEL_ORDER
from .reader import HwmonReader


def format_value(kind: str, value: float) -> str:
    """Format a value with the precision `sensors` uses for its kind."""
    unit = UNITS[kind]
    if kind == "temperature":
        return f"{value:+.1f}{unit}"
    if kind in ("voltage", "current", "power", "energy"):
        return f"{value:+.2f} {unit}"
    if kind == "humidity":
        return f"{value:.1f} {unit}"
    if kind == "frequency" and value >= 1e6:
        return f"{value / 1e6:.0f} MHz"
    if kind == "intrusion":
        return "ALARM" if value else "OK"
    if kind == "pwm":
        return f"{value:.0f}{unit}"
    return f"{value:.0f} {unit}".rstrip()


def format_reading(sensor: Sensor, reading: Reading) -> str:
    """Format one `label: value (thresholds)` line."""
    if reading.status == DISABLED:
        text = "disabled"
    elif reading.status == FAULT:
        text = "FAULT"
    elif reading.value is None:
        text = f"N/A ({reading.error})" if reading.error else "N/A"
    else:
        text = format_value(sensor.kind, reading.value)
    line = f"{sensor.label + ':':<16}{text:>12}"
    details = [f"{key} = {format_value(sensor.kind, value)}" for key, value in sensor.thresholds.items()]
    if sensor.sensor_type:
        details.append(f"sensor = {sensor.sensor_type}")
    if details:
        line += f"  ({', '.join(details)})"
    if reading.alarms and sensor.kind != "intrusion":
        line += f"  ALARM ({', '.join(a.upper() for a in reading.alarms)})"
    return line


def format_report(samples: list[tuple[Sensor, Reading]], adapters: dict[str, str]) -> str:
    """Format all samples chip by chip, channels in lm-sensors order."""
    by_chip: dict[str, list[tuple[Sensor, Reading]]] = {}
    for sensor, reading in samples:
        by_chip.setdefault(sensor.chip, []).append((sensor, reading))
    blocks = []
    for chip_id in sorted(by_chip):
        lines = [chip_id, f"Adapter: {adapters.get(chip_id, '')}"]
        rows = sorted(by_chip[chip_id], key=lambda sr: _lm_sensors_order(sr[0].channel))
        lines += [format_reading(sensor, reading) for sensor, reading in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _lm_sensors_order(channel: str) -> tuple[int, int]:
    parsed = attrs.parse_channel_name(channel)
    if parsed is None:
        return len(CHANNEL_ORDER), 0
    prefix, index = parsed
    return CHANNEL_ORDER.index(prefix), index


def main(argv: list[str] | None = None) -> int:
    """Print one sample of every sensor under SYSFS_ROOT (default $FROST_SYSFS_ROOT or /sys)."""
    args = sys.argv[1:] if argv is None else argv
    root = args[0] if args else os.environ.get("FROST_SYSFS_ROOT", "/sys")
    with HwmonReader(root) as reader:
        samples = reader.sample()
        print(format_report(samples, reader.adapters()))
    return 0
