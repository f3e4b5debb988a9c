"""Print one sample of every hwmon sensor the way `sensors` (lm-sensors) does.

Run it as `python -m frostserver.hwmon [--json] [SYSFS_ROOT]`.  `--json` prints the shape of
`sensors -j`: `{chip_id: {"Adapter": ..., label: {"temp1_input": value}}}`, one value per
feature (the subfeature holding the reading: `temp1_input`, `power1_average`, `cpu0_vid`,
`intrusion0_alarm`) in `sensors`' units, nothing for a feature without a value, and no pwm or
freq channels (lm-sensors 3.6 prints neither).  tests/integration/test_sensors_parity.py diffs
it against the real `sensors -j`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TypeAlias

from ..lmsensors import describe, load_sensors_config
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
    blocks = []
    for chip_id, rows in _by_chip(samples):
        lines = [chip_id, f"Adapter: {adapters.get(chip_id, '')}"]
        lines += [format_reading(sensor, reading) for sensor, reading in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _by_chip(samples: list[tuple[Sensor, Reading]]) -> list[tuple[str, list[tuple[Sensor, Reading]]]]:
    """Group samples by chip id, chips sorted by id and each chip's channels in lm-sensors order."""
    by_chip: dict[str, list[tuple[Sensor, Reading]]] = {}
    for sensor, reading in samples:
        by_chip.setdefault(sensor.chip, []).append((sensor, reading))
    return [
        (chip_id, sorted(by_chip[chip_id], key=lambda sr: _lm_sensors_order(sr[0].channel)))
        for chip_id in sorted(by_chip)
    ]


def _lm_sensors_order(channel: str) -> tuple[int, int]:
    parsed = attrs.parse_channel_name(channel)
    if parsed is None:
        return len(CHANNEL_ORDER), 0
    prefix, index = parsed
    return CHANNEL_ORDER.index(prefix), index


# A JSON object as (key, value) pairs, so that a key may repeat.
JsonPairs: TypeAlias = "Sequence[tuple[str, str | float | JsonPairs]]"

# Channel types `sensors -j` (lm-sensors 3.6) leaves out.
_NOT_IN_SENSORS_JSON = frozenset({"pwm", "freq"})


def json_report(samples: list[tuple[Sensor, Reading]], adapters: dict[str, str]) -> str:
    """Format all samples as `sensors -j` does: chips, then features by label, then values."""
    chips: list[tuple[str, str | float | JsonPairs]] = []
    for chip_id, rows in _by_chip(samples):
        features: list[tuple[str, str | float | JsonPairs]] = [("Adapter", adapters.get(chip_id, ""))]
        for sensor, reading in rows:
            parsed = attrs.parse_channel_name(sensor.channel)
            if parsed is not None and parsed[0] in _NOT_IN_SENSORS_JSON:
                continue
            values: JsonPairs = [] if reading.value is None else [(_value_key(sensor, reading), reading.value)]
            features.append((sensor.label, values))
        chips.append((chip_id, features))
    return _json_pairs(chips, 0)


def _value_key(sensor: Sensor, reading: Reading) -> str:
    """Name the subfeature holding a reading as lm-sensors names it (temp1_input, cpu0_vid)."""
    if sensor.channel.endswith("_vid"):
        return sensor.channel
    if sensor.kind == "intrusion":
        return f"{sensor.channel}_alarm"
    props = {prop for prop, _ in reading.raw}
    return f"{sensor.channel}_{'average' if 'average' in props and 'input' not in props else 'input'}"


def _json_pairs(pairs: JsonPairs, depth: int) -> str:
    """Render (key, value) pairs as a JSON object, keeping repeated keys as `sensors -j` does.

    `sensors -j` prints two chips of one id (two DS18B20 probes) or two features of one label
    (Dell SMM's "Other") under the same key; a dict would keep only the last.
    """
    if not pairs:
        return "{}"
    indent = "   " * (depth + 1)
    items = []
    for key, value in pairs:
        rendered = json.dumps(value) if isinstance(value, str | float) else _json_pairs(value, depth + 1)
        items.append(f"{indent}{json.dumps(key, ensure_ascii=False)}: {rendered}")
    return "{\n" + ",\n".join(items) + "\n" + "   " * depth + "}"


def main(argv: list[str] | None = None) -> int:
    """Print one sample of every sensor under SYSFS_ROOT (default $FROST_SYSFS_ROOT or /sys)."""
    parser = argparse.ArgumentParser(prog="python -m frostserver.hwmon", description="Print one sample of each sensor.")
    parser.add_argument("--json", action="store_true", help="print the shape of `sensors -j`")
    parser.add_argument("sysfs_root", nargs="?", default=os.environ.get("FROST_SYSFS_ROOT", "/sys"))
    parser.add_argument(
        "--etc",
        default=os.environ.get("FROST_LM_SENSORS_ETC", "/etc"),
        help="read lm-sensors' configuration from ETC/sensors3.conf and ETC/sensors.d/ (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    # The labels, computes and ignores `sensors` applies, from the same files.
    config = load_sensors_config(args.etc)
    errors, notices = describe(config.problems)
    for line in errors + notices:
        print(f"lm-sensors configuration: {line}", file=sys.stderr)
    # One report, not a sampling loop: wait for slow chips rather than leave them out.
    with HwmonReader(args.sysfs_root, read_timeout=5.0, sensors_config=config) as reader:
        samples = [(sensor, reading) for sensor, reading in reader.sample() if not sensor.ignored]
        adapters = reader.adapters()
    print(json_report(samples, adapters) if args.json else format_report(samples, adapters))
    return 0
