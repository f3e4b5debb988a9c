"""Replay recorded temperatures through the frost forecast and the frost rules, to see when each warned.

    python -m frostserver.forecast replay FILE.csv [--window 60m] [--lead-time 3h] [--threshold 0] ...

The CSV is a history download (`/api/v1/history?format=csv`): a header `time,epoch,<column>,...` of
raw samples, or `<column> min`, `<column> max`, `<column> mean` of aggregated points (the means are
replayed), one row per sample; an empty cell is no value. A download's column is
`<label> (<id>) <unit>` (or `<id> <unit>` for a sensor without a label): the replay names the
sensor by its id, and takes a °F column (units=fahrenheit) back to °C. Any other header cell is
a column's name as it is. A `time` (ISO 8601; without an offset,
this machine's local time) or an `epoch` (Unix seconds) column must be there. Every other column
is a temperature to forecast, except the ones `--humidity` names: each pairs a relative humidity
with a temperature (TEMP=HUMIDITY, or just HUMIDITY when there is one temperature), and its frost
point is that temperature's floor.

Each row is one sample through the same code the sampler runs: the derived sensors
(derived/sensors.py), the forecast (frost.py) and the alert engine (alerts/engine.py) with the
frost and frost_expected rules. It prints when frost_expected fired and resolved, when the
temperature first reached the threshold ("frost came") and when the frost alert fired, then per
sensor: the warning's lead time for each frost, and the warnings with no frost within the lead
time after them (false alarms).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import re
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from ..alerts.alert import Alert
from ..alerts.engine import AlertEngine
from ..alerts.messages import FIRING, span
from ..config.alert_rules import BUILTIN_RULES, FROST, FROST_EXPECTED
from ..config.derived import DerivedPair
from ..config.errors import Invalid
from ..config.forecast import ForecastConfig
from ..config.validate import duration
from ..derived.sensors import DerivedSensors
from ..model import ERROR, UNITS, Reading, Sensor
from ..units import FAHRENHEIT_UNIT, celsius
from .frost import FrostForecaster

AGGREGATES = (" min", " max", " mean")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # what the download quotes with a leading '


class BadCsv(ValueError):
    """A CSV the replay cannot read; the message says what and where."""


@dataclass(frozen=True)
class Recording:
    """A CSV's samples: times, and per column its values (None: no value)."""

    times: list[float]
    columns: dict[str, list[float | None]]


@dataclass(frozen=True)
class Settings:
    """What the replay runs with: the forecast's and the rules' settings."""

    window: float = 3600.0
    min_data: float = 900.0
    lead_time: float = 3 * 3600.0
    threshold: float = 0.0
    hold: float = 600.0  # frost_expected's `for`
    hysteresis: float = 1.0
    frost_hold: float = 300.0  # the frost rule's `for`


@dataclass
class Warning:
    """One firing of frost_expected."""

    fired_at: float
    summary: str
    expected_at: float | None  # when it said the frost would come
    resolved_at: float | None = None
    resolved_summary: str = ""


@dataclass
class Frost:
    """One episode of frost: from the first sample at or below the threshold."""

    came_at: float
    alert_at: float | None = None  # when the frost rule fired (after its `for`)
    warned_at: float | None = None  # the warning that came before it, if any
    warned_for: float | None = None  # when that warning said it would come

    @property
    def lead_time(self) -> float | None:
        """Return how long before the frost the warning came (None: no warning)."""
        return None if self.warned_at is None else self.came_at - self.warned_at


@dataclass
class SensorReplay:
    """What happened to one sensor over the recording."""

    sensor: str
    warnings: list[Warning] = field(default_factory=list)
    frosts: list[Frost] = field(default_factory=list)
    false_alarms: list[Warning] = field(default_factory=list)

    @property
    def missed(self) -> list[Frost]:
        """Return the frosts no warning came before."""
        return [frost for frost in self.frosts if frost.warned_at is None]


def read_csv(text: str) -> Recording:
    """Read a history download (raw or aggregated), or any CSV with a time or epoch column."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise BadCsv("the file is empty")
    header = [unquote(cell.strip()) for cell in rows[0]]
    if "epoch" not in header and "time" not in header:
        raise BadCsv(f"no 'time' or 'epoch' column in the header: {', '.join(header)[:200]}")
    time_column = header.index("epoch") if "epoch" in header else header.index("time")
    wanted: dict[str, int] = {}  # sensor id -> its column (the mean of an aggregated download)
    fahrenheit: set[str] = set()  # sensors whose column is in °F
    for index, name in enumerate(header):
        if index == time_column or name in ("time", "epoch") or not name:
            continue
        sensor, statistic, unit = column_sensor(name)
        if statistic in (None, "mean"):
            wanted[sensor] = index
            if unit == FAHRENHEIT_UNIT:
                fahrenheit.add(sensor)
    if not wanted:
        raise BadCsv("no sensor column in the header")
    times: list[float] = []
    columns: dict[str, list[float | None]] = {sensor: [] for sensor in wanted}
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        when = parse_time(row[time_column] if time_column < len(row) else "", line)
        if times and when <= times[-1]:
            raise BadCsv(f"line {line}: the time {row[time_column]!r} is not after the line before's")
        times.append(when)
        for sensor, index in wanted.items():
            value = parse_value(row[index] if index < len(row) else "", line, sensor)
            if value is not None and sensor in fahrenheit:
                value = celsius(value)
            columns[sensor].append(value)
    if len(times) < 2:
        raise BadCsv("fewer than two rows of samples")
    return Recording(times, columns)


# A download's column: "<label> (<id>)" or "<id>", then "min"/"max"/"mean" when aggregated, then its unit.
DOWNLOAD_COLUMN = re.compile(
    r"(?:.*\S \((?P<labelled>[^()\s]+)\)|(?P<bare>[^()\s]+))(?: (?P<statistic>min|max|mean))?(?: (?P<unit>\S+))?"
)
KNOWN_UNITS = frozenset(UNITS.values()) | {FAHRENHEIT_UNIT}


def column_sensor(name: str) -> tuple[str, str | None, str | None]:
    """Return a header cell's sensor id, statistic (min, max, mean; None: a raw column) and unit (None: none said).

    A cell that is no download's column (a CSV of one's own: "garden", "garden mean") is its own id.
    """
    match = DOWNLOAD_COLUMN.fullmatch(name)
    if (
        match is not None
        and (match["unit"] is None or match["unit"] in KNOWN_UNITS)
        and (match["labelled"] is not None or match["unit"] is not None or match["statistic"] is not None)
    ):
        return match["labelled"] or match["bare"], match["statistic"], match["unit"]
    if name.endswith(AGGREGATES):
        sensor, _, statistic = name.rpartition(" ")
        return sensor, statistic, None
    return name, None, None


def unquote(cell: str) -> str:
    """Undo the download's guard against spreadsheet formulas: a ' before =, +, -, @ ..."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_PREFIXES else cell


def parse_time(cell: str, line: int) -> float:
    """Return Unix seconds from an epoch number or an ISO 8601 time (without an offset: this machine's local time)."""
    cell = cell.strip()
    try:
        number = float(cell)
    except ValueError:
        try:
            moment = datetime.fromisoformat(cell.replace("Z", "+00:00"))
        except ValueError:
            raise BadCsv(f"line {line}: {cell!r} is neither Unix seconds nor an ISO 8601 time") from None
        return moment.timestamp()  # a naive one as local time, daylight saving time included
    if not math.isfinite(number):
        raise BadCsv(f"line {line}: the time {cell!r} is not a number")
    return number


def parse_value(cell: str, line: int, sensor: str) -> float | None:
    """Return a cell's number; None for an empty cell."""
    cell = cell.strip()
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        raise BadCsv(f"line {line}, {sensor}: {cell!r} is not a number") from None
    return value if math.isfinite(value) else None


def temperature_sensor(sensor_id: str) -> Sensor:
    chip, _, channel = sensor_id.rpartition("/")
    return Sensor(sensor_id, chip or sensor_id, chip or sensor_id, channel, "temperature", sensor_id, "°C")


def humidity_sensor(sensor_id: str) -> Sensor:
    chip, _, channel = sensor_id.rpartition("/")
    return Sensor(sensor_id, chip or sensor_id, chip or sensor_id, channel, "humidity", sensor_id, "%RH")


def pair_humidities(recording: Recording, humidities: Sequence[str]) -> tuple[list[str], list[DerivedPair]]:
    """Return the temperatures to forecast and the pairs `--humidity` asks for (TEMP=HUMIDITY or HUMIDITY)."""
    pairs: list[DerivedPair] = []
    named = {spec.partition("=")[2] or spec for spec in humidities}
    for sensor in named:
        if sensor not in recording.columns:
            raise BadCsv(f"--humidity: no column {sensor!r} in the CSV")
    temperatures = [sensor for sensor in recording.columns if sensor not in named]
    for number, spec in enumerate(humidities):
        temperature, _, humidity = spec.partition("=")
        if not humidity:
            if len(temperatures) != 1:
                raise BadCsv(f"--humidity {spec}: say which temperature it goes with, TEMP={spec}")
            temperature, humidity = temperatures[0], spec
        if temperature not in temperatures:
            raise BadCsv(f"--humidity {spec}: no temperature column {temperature!r} in the CSV")
        pairs.append(DerivedPair(f"replay{number}", temperature, humidity, temperature))
    return temperatures, pairs


def replay(recording: Recording, settings: Settings, humidities: Sequence[str] = ()) -> list[SensorReplay]:
    """Run the forecast and the frost rules over a recording; return what happened per sensor."""
    temperatures, pairs = pair_humidities(recording, humidities)
    sensors = {sensor: temperature_sensor(sensor) for sensor in temperatures}
    sensors.update({pair.humidity: humidity_sensor(pair.humidity) for pair in pairs})
    config = ForecastConfig(True, (), settings.window, settings.min_data, settings.lead_time)
    floors = {pair.temperature: pair.sensor_id("frost_point") for pair in pairs}
    forecaster = FrostForecaster(config, settings.threshold, lambda sensor: sensor.id in temperatures, floors)
    rules = [rule for rule in BUILTIN_RULES if rule.name in (FROST, FROST_EXPECTED)]
    rules = [
        replace(rule, hold=settings.frost_hold)
        if rule.name == FROST
        else replace(rule, hold=settings.hold, hysteresis=settings.hysteresis)
        for rule in rules
    ]
    step = statistics.median(b - a for a, b in zip(recording.times, recording.times[1:], strict=False))
    engine = AlertEngine(rules, frost_threshold=settings.threshold, interval=step, lead_time=settings.lead_time)
    derived = DerivedSensors(pairs)
    results = {sensor: SensorReplay(sensor) for sensor in temperatures}
    below = dict.fromkeys(temperatures, False)
    for row, when in enumerate(recording.times):
        sample = [(sensors[sensor], reading_of(recording.columns[sensor][row])) for sensor in sensors]
        sample += derived.derive(sample)
        forecasts = forecaster.observe(when, sample)
        for event in engine.observe(when, sample, forecasts):
            record_event(results[event.alert.sensor or ""], event.state, event.alert, when)
        for sensor in temperatures:
            value = recording.columns[sensor][row]
            if value is None:
                continue
            if value <= settings.threshold and not below[sensor]:
                results[sensor].frosts.append(Frost(when))
            if value <= settings.threshold:
                below[sensor] = True
            elif value > settings.threshold + settings.hysteresis:
                below[sensor] = False  # a new episode needs the hysteresis first, as the rule does
    for result in results.values():
        judge(result, settings.lead_time)
    return list(results.values())


def reading_of(value: float | None) -> Reading:
    return Reading(value) if value is not None else Reading(None, ERROR, "no value in the CSV")


def record_event(result: SensorReplay, state: str, alert: Alert, when: float) -> None:
    """Note a frost_expected firing or resolving, or the frost alert firing."""
    if alert.rule == FROST_EXPECTED:
        if state == FIRING:
            result.warnings.append(Warning(when, alert.summary, alert.expected_at))
        elif result.warnings:
            result.warnings[-1].resolved_at, result.warnings[-1].resolved_summary = when, alert.summary
    elif alert.rule == FROST and state == FIRING:
        pending = [frost for frost in result.frosts if frost.alert_at is None]
        if pending:
            pending[-1].alert_at = when


def judge(result: SensorReplay, lead_time: float) -> None:
    """Tie each frost to the warning before it; a warning with no frost within the lead time is a false alarm."""
    for frost in result.frosts:
        before = [w for w in result.warnings if w.fired_at <= frost.came_at]
        live = [w for w in before if w.resolved_at is None or w.resolved_at >= frost.came_at]
        recent = [w for w in before if frost.came_at - w.fired_at <= lead_time]
        chosen = live[-1] if live else recent[-1] if recent else None
        if chosen is not None:
            frost.warned_at, frost.warned_for = chosen.fired_at, chosen.expected_at
    for warning in result.warnings:
        # Right if frost came while it fired, or within the lead time of its firing.
        until = max(warning.fired_at + lead_time, math.inf if warning.resolved_at is None else warning.resolved_at)
        if not any(warning.fired_at <= frost.came_at <= until for frost in result.frosts):
            result.false_alarms.append(warning)


def report(results: Iterable[SensorReplay], settings: Settings) -> str:
    """Say what happened, in time order per sensor, then the lead times and false alarms."""
    out = [
        f"window {span(settings.window)}, min data {span(settings.min_data)}, lead time {span(settings.lead_time)}, "
        f"threshold {settings.threshold:g} °C, frost_expected for {span(settings.hold)} "
        f"(hysteresis {settings.hysteresis:g} °C), frost for {span(settings.frost_hold)}"
    ]
    for result in results:
        out.append(f"\n{result.sensor}:")
        lines: list[tuple[float, str]] = []
        for warning in result.warnings:
            wrong = " [false alarm]" if warning in result.false_alarms else ""
            lines.append((warning.fired_at, f"frost_expected fires: {warning.summary}{wrong}"))
            if warning.resolved_at is not None:
                lines.append((warning.resolved_at, f"frost_expected resolves: {warning.resolved_summary}"))
        for frost in result.frosts:
            lead = "no warning before it"
            if frost.lead_time is not None:
                said = "" if frost.warned_for is None else f", for about {local_time(frost.warned_for, False)}"
                lead = f"warned {span(frost.lead_time)} before{said}"
            lines.append((frost.came_at, f"frost came: at or below {settings.threshold:g} °C ({lead})"))
            if frost.alert_at is not None:
                lines.append((frost.alert_at, "frost fires"))
        for when, text in sorted(lines, key=lambda line: line[0]):
            out.append(f"  {local_time(when)}  {text}")
        out.append("  " + summary([result]))
    return "\n".join(out)


def summary(results: Sequence[SensorReplay]) -> str:
    """Say, for some sensors or nights together, how many frosts were warned of, how early, and the false alarms."""
    frosts = [frost for result in results for frost in result.frosts]
    leads = [frost.lead_time for frost in frosts if frost.lead_time is not None]
    warnings = sum(len(result.warnings) for result in results)
    false_alarms = sum(len(result.false_alarms) for result in results)
    median = f", median lead time {span(statistics.median(leads))}" if leads else ""
    return (
        f"{count(len(frosts), 'frost')}, {len(leads)} warned of{median}; {count(warnings, 'warning')}, "
        f"{count(false_alarms, 'false alarm')} (no frost while it fired or within the lead time)"
    )


def count(number: int, what: str) -> str:
    return f"{number} {what}{'' if number == 1 else 's'}"


def local_time(when: float, date: bool = True) -> str:
    return time.strftime("%Y-%m-%d %H:%M %Z" if date else "%H:%M", time.localtime(when))


def main(argv: Sequence[str] | None = None) -> int:
    """Run `replay FILE.csv [options]`; print the report, or one line saying what is wrong."""
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m frostserver.forecast",
        description="Replay a CSV of temperatures (a history download) through the frost forecast and rules.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("replay", help="replay a CSV and print when each warning would have fired")
    command.add_argument(
        "file", type=Path, help="a CSV: time,epoch,<id>... or <id> min,<id> max,<id> mean; - for stdin"
    )
    command.add_argument(
        "--humidity",
        action="append",
        default=[],
        metavar="[TEMP=]HUMIDITY",
        help="a relative-humidity column and the temperature it pairs with (repeat for more)",
    )
    command.add_argument("--window", default="60m", help="the trend's window (default 60m)")
    command.add_argument("--min-data", default="15m", help="data needed before a forecast (default 15m)")
    command.add_argument("--lead-time", default="3h", help="how far ahead frost is forecast (default 3h)")
    command.add_argument(
        "--threshold", type=float, default=defaults.threshold, help="the frost threshold, °C (default 0)"
    )
    command.add_argument("--for", dest="hold", default="10m", help="frost_expected's for (default 10m)")
    command.add_argument(
        "--hysteresis", type=float, default=defaults.hysteresis, help="frost_expected's hysteresis, °C (default 1)"
    )
    command.add_argument("--frost-for", default="5m", help="the frost rule's for (default 5m)")
    args = parser.parse_args(argv)
    try:
        settings = Settings(
            window=seconds(args.window, "--window"),
            min_data=seconds(args.min_data, "--min-data"),
            lead_time=seconds(args.lead_time, "--lead-time"),
            threshold=args.threshold,
            hold=seconds(args.hold, "--for"),
            hysteresis=args.hysteresis,
            frost_hold=seconds(args.frost_for, "--frost-for"),
        )
        # "-": the standard input, so that a CSV on the host reaches the container (exec -T ... < night.csv).
        text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text(encoding="utf-8-sig")
        recording = read_csv(text.removeprefix("\ufeff"))
        results = replay(recording, settings, args.humidity)
    except (BadCsv, OSError, UnicodeDecodeError) as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        return 2
    print(report(results, settings))
    return 0


def seconds(text: str, option: str) -> float:
    """Return a duration option ("90s", "5m", "1h30m", or seconds) in seconds."""
    try:
        number = float(text)
    except ValueError:
        number = None
    try:
        return duration(text if number is None else number, (option,), 7 * 86400.0)
    except Invalid as error:
        raise BadCsv(f"{option}: {error.problem}") from None
