"""Read and validate the TOML configuration file: sampling, extra sensors and sensor rules.

The file is read once, at start-up, by settings.py; anything wrong in it raises ConfigError, whose
message is one line naming the file, the key and the problem.  The numeric settings the file may
set (sampling.interval, ...) are declared, with their defaults and bounds, in settings.py alone.
services/app/frostserver.example.toml documents every key.
"""

from __future__ import annotations

import datetime
import difflib
import json
import math
import re
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .model import UNITS

if TYPE_CHECKING:
    from .alerts.config import AlertsConfig

# A FrostServer config is a few KiB; refuse to parse anything absurd (e.g. FROST_CONFIG=/dev/zero).
MAX_CONFIG_BYTES = 1024 * 1024

# Sensor keys become ids ("config/<key>") and URL parts, so they stay plain.
SENSOR_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")

# Threshold names an override may set, by the side on which a reading raises the alarm.
HIGH_LIMITS = frozenset({"max", "crit", "emergency"})
LOW_LIMITS = frozenset({"min", "lcrit"})

TOP_LEVEL_KEYS = ("frost_threshold", "sampling", "history", "sensors", "filter", "relabel", "thresholds", "alerts")
SAMPLING_KEYS = ("interval", "history")
HISTORY_KEYS = ("minute_days", "hour_days")
SENSOR_KEYS = (
    "file",
    "command",
    "regex",
    "scale",
    "offset",
    "unit",
    "kind",
    "label",
    "interval",
    "timeout",
)
FILTER_KEYS = ("include", "exclude")

# Characters that only mean something to a shell; commands never run through one.
SHELL_SYNTAX = set("|&;<>$`*?(){}")

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

KeyPath = tuple[str | int, ...]


class SettingsError(Exception):
    """A setting has a value the app cannot run with (never a ValueError: a bug stays a bug)."""


class ConfigError(SettingsError):
    """A configuration file that cannot be used, explained in one line."""

    def __init__(self, path: str, key: str | None, problem: str):
        self.path, self.key, self.problem = path, key, problem
        parts = [path, key, problem] if key else [path, problem]
        super().__init__(": ".join(parts).replace("\n", "\\n"))


class _Invalid(Exception):
    """A problem at a key of the parsed document; read_config_file adds the file name."""

    def __init__(self, key: KeyPath, problem: str):
        super().__init__(problem)
        self.key, self.problem = key, problem


@dataclass(frozen=True)
class IdPattern:
    """A glob over sensor ids, where "*" and "?" never cross "/"."""

    glob: str
    regex: re.Pattern[str] = field(repr=False, compare=False)

    def matches(self, sensor_id: str) -> bool:
        """Tell whether the whole sensor id matches."""
        return self.regex.fullmatch(sensor_id) is not None


@dataclass(frozen=True)
class SensorSpec:
    """One extra sensor declared in [sensors.<key>]: where its number comes from and what it is."""

    key: str
    file: str | None  # exactly one of file / command is set
    command: tuple[str, ...] | None
    regex: re.Pattern[str] | None
    scale: float
    offset: float
    kind: str
    unit: str
    label: str
    interval: float  # seconds between reads, never shorter than the sampling interval
    timeout: float | None  # commands only

    @property
    def sensor_id(self) -> str:
        """Return the stable id of the sensor this spec declares."""
        return f"config/{self.key}"


@dataclass(frozen=True)
class ThresholdOverride:
    """Threshold values that replace the chip's own for every sensor id matching a pattern."""

    pattern: IdPattern
    limits: Mapping[str, float]


@dataclass(frozen=True)
class Rules:
    """Which sensors to keep, how to label them and which thresholds to override."""

    include: tuple[IdPattern, ...] = ()
    exclude: tuple[IdPattern, ...] = ()
    relabel: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    thresholds: tuple[ThresholdOverride, ...] = ()
    # rules.py memoises its per-sensor-id decisions here; the rules themselves never change.
    memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def is_empty(self) -> bool:
        """Tell whether the rules leave every sensor as it is."""
        return not (self.include or self.exclude or self.relabel or self.thresholds)


@dataclass(frozen=True)
class NumberSpec:
    """A numeric setting the file may set: its default and bounds (declared in settings.py)."""

    default: float
    low: float
    high: float


@dataclass(frozen=True)
class FileConfig:
    """Everything the configuration file says, validated."""

    path: str
    numbers: Mapping[str, float]  # by dotted key, e.g. "sampling.interval"; every declared one
    sensors: tuple[SensorSpec, ...] = ()
    rules: Rules = field(default_factory=Rules)
    alerts: AlertsConfig | None = None  # [alerts]; None: the file has none


def read_config_file(path: str | Path, numbers: Mapping[str, NumberSpec]) -> FileConfig:
    """Read, parse and validate the configuration file at path."""
    shown = str(path)
    document = _read_toml(Path(path), shown)
    try:
        return _parse_document(document, shown, numbers)
    except _Invalid as invalid:
        raise ConfigError(shown, dotted(invalid.key) or None, invalid.problem) from None


def compile_id_pattern(glob: str) -> IdPattern:
    """Compile a sensor id glob, raising ValueError that says what is wrong with it."""
    if not glob:
        raise ValueError("a pattern must not be empty")
    if "/" not in glob:
        raise ValueError(
            f"{glob!r} matches no sensor id: ids look like 'chip/channel' and '*' does not "
            f"cross '/'; write e.g. {glob + '/*'!r}"
        )
    try:
        return IdPattern(glob, re.compile(_glob_to_regex(glob)))
    except re.error as error:
        raise ValueError(f"bad pattern {glob!r}: {error.msg}") from None


def dotted(key: KeyPath) -> str:
    """Spell a key path the way TOML would, e.g. thresholds."coretemp-isa-0000/temp1".max."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            text += f".{name}" if text else name
    return text


def _read_toml(path: Path, shown: str) -> dict[str, Any]:
    """Return the parsed TOML document at path, or raise ConfigError naming the problem."""
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError(shown, None, f"cannot read: {error.strerror or error}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(shown, None, "larger than 1 MiB, not a FrostServer configuration")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError(shown, None, f"not UTF-8 text (bad byte on line {line})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # The message carries "(at line L, column C)"; a repeated [sensors.<key>] lands here too.
        raise ConfigError(shown, None, f"invalid TOML: {error}") from None


def _parse_document(document: dict[str, Any], shown: str, specs: Mapping[str, NumberSpec]) -> FileConfig:
    """Turn the parsed TOML document into a FileConfig."""
    _reject_unknown(document, TOP_LEVEL_KEYS, ())
    _reject_unknown(_table(document.get("sampling", {}), ("sampling",)), SAMPLING_KEYS, ("sampling",))
    _reject_unknown(_table(document.get("history", {}), ("history",)), HISTORY_KEYS, ("history",))
    numbers = {key: _declared_number(document, key, spec) for key, spec in specs.items()}
    interval = numbers["sampling.interval"]
    if numbers["sampling.history"] < interval:
        raise _Invalid(
            ("sampling", "history"),
            f"must be at least sampling.interval ({interval:g}), got {numbers['sampling.history']:g}",
        )
    # The hour tier is rolled up from the minute tier: it must outlive it.
    if numbers["history.hour_days"] < numbers["history.minute_days"]:
        raise _Invalid(
            ("history", "hour_days"),
            f"must be at least history.minute_days ({numbers['history.minute_days']:g}), "
            f"got {numbers['history.hour_days']:g}",
        )
    sensors = _parse_sensors(document.get("sensors", {}), interval)
    rules = _parse_rules(document)
    _check_declared_sensors_kept(sensors, rules)
    # Imported here: alerts/config.py builds on this module's helpers.
    from .alerts.config import parse_alerts

    alerts = parse_alerts(document["alerts"]) if "alerts" in document else None
    return FileConfig(shown, MappingProxyType(numbers), sensors, rules, alerts)


def _declared_number(document: dict[str, Any], key: str, spec: NumberSpec) -> float:
    """Return the number at a dotted key (tables already checked to be tables), or its default."""
    *tables, name = key.split(".")
    table = document
    for part in tables:
        table = table.get(part, {})
    return _number(table.get(name, spec.default), tuple(key.split(".")), spec.low, spec.high)


def _parse_sensors(value: Any, sampling_interval: float) -> tuple[SensorSpec, ...]:
    """Parse every [sensors.<key>] table, in file order."""
    table = _table(value, ("sensors",))
    return tuple(_parse_sensor(name, body, sampling_interval) for name, body in table.items())


def _parse_sensor(name: str, value: Any, sampling_interval: float) -> SensorSpec:
    """Parse one [sensors.<key>] table."""
    key = ("sensors", name)
    if not SENSOR_KEY.fullmatch(name):
        raise _Invalid(key, "a sensor key is 1 to 64 letters, digits, '_' or '-' (it becomes the id config/<key>)")
    body = _table(value, key)
    _reject_unknown(body, SENSOR_KEYS, key)
    file, command = _parse_source(body, key)
    kind = _parse_kind(body.get("kind", "other"), (*key, "kind"))
    interval = _number(body.get("interval", sampling_interval), (*key, "interval"), 0.1, 86400)
    timeout = _number(body.get("timeout", 5), (*key, "timeout"), 0.1, 60) if command else None
    return SensorSpec(
        key=name,
        file=file,
        command=command,
        regex=_parse_regex(body.get("regex"), (*key, "regex")),
        scale=_parse_scale(body.get("scale", 1), (*key, "scale")),
        offset=_number(body.get("offset", 0), (*key, "offset")),
        kind=kind,
        unit=_parse_unit(body.get("unit", UNITS[kind]), kind, (*key, "unit")),
        label=_text(body.get("label", name), (*key, "label"), 64),
        # Reading more often than the sampler samples would only throw readings away.
        interval=max(interval, sampling_interval),
        timeout=timeout,
    )


def _parse_source(body: dict[str, Any], key: KeyPath) -> tuple[str | None, tuple[str, ...] | None]:
    """Return (file, command) of a sensor table, exactly one of them set."""
    if "file" in body and "command" in body:
        raise _Invalid(key, "set either 'file' or 'command', not both")
    if "file" in body:
        if "timeout" in body:
            raise _Invalid((*key, "timeout"), "only applies to 'command' sensors (a file read has no timeout)")
        return _parse_file(body["file"], (*key, "file")), None
    if "command" in body:
        return None, _parse_command(body["command"], (*key, "command"))
    raise _Invalid(key, "needs 'file' (a path to read) or 'command' (a program and its arguments, as a list)")


def _parse_file(value: Any, key: KeyPath) -> str:
    """Validate the path of a file sensor."""
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value:
        raise _Invalid(key, f"must be an absolute path like '/sys/bus/w1/devices/28-0000/w1_slave', got {_show(value)}")
    return value


def _parse_command(value: Any, key: KeyPath) -> tuple[str, ...]:
    """Validate the argv list of a command sensor."""
    if isinstance(value, str):
        raise _Invalid(key, _shell_string_problem(value))
    if not isinstance(value, list) or not value or not all(isinstance(arg, str) for arg in value):
        raise _Invalid(
            key, f"must be a non-empty list of strings (the program, then its arguments), got {_show(value)}"
        )
    if any("\0" in arg for arg in value):
        raise _Invalid(key, "arguments must not contain NUL characters")
    program = value[0]
    # The working directory of the server is nobody's business: relative paths would depend on it.
    if not program or ("/" in program and not program.startswith("/")):
        raise _Invalid(key, f"the program must be an absolute path or a name found on PATH, got {program!r}")
    return tuple(value)


def _shell_string_problem(command: str) -> str:
    """Explain why a command string is refused, suggesting the argv list when there is one."""
    problem = "must be a list of strings (argv), not a string: commands never run through a shell"
    if SHELL_SYNTAX & set(command):
        return f"{problem}; put pipes, redirections and wildcards in a script and run that"
    try:
        argv = shlex.split(command)
    except ValueError:
        return problem
    return f"{problem}; write command = {json.dumps(argv, ensure_ascii=False)}" if argv else problem


def _parse_kind(value: Any, key: KeyPath) -> str:
    """Validate a sensor kind against model.UNITS."""
    if isinstance(value, str) and value in UNITS:
        return value
    choices = ", ".join(sorted(UNITS))
    raise _Invalid(key, f"must be one of {choices}, got {_show(value)}{_did_you_mean(value, UNITS)}")


def _parse_unit(value: Any, kind: str, key: KeyPath) -> str:
    """Validate a unit: free for kind "other", the one unit of UNITS for every other kind."""
    unit = _text(value, key, 16, allow_empty=True)
    if kind != "other" and unit != UNITS[kind]:
        # One unit per kind keeps charts, thresholds and the frost check comparable.
        raise _Invalid(key, f"a {kind} is always in {UNITS[kind]!r} (convert with scale and offset), got {unit!r}")
    return unit


def _parse_regex(value: Any, key: KeyPath) -> re.Pattern[str] | None:
    """Compile a sensor's regex, whose first group (or whole match) is the number."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _Invalid(key, f"must be a regular expression string, got {_show(value)}")
    try:
        return re.compile(value)
    except re.error as error:
        raise _Invalid(key, f"invalid regular expression: {error}") from None


def _parse_scale(value: Any, key: KeyPath) -> float:
    """Validate a scale factor, which must not be zero."""
    scale = _number(value, key)
    if scale == 0:
        raise _Invalid(key, "must not be 0 (every reading would be 0)")
    return scale


def _parse_rules(document: dict[str, Any]) -> Rules:
    """Parse [filter], [relabel] and [thresholds] into Rules."""
    table = _table(document.get("filter", {}), ("filter",))
    _reject_unknown(table, FILTER_KEYS, ("filter",))
    return Rules(
        include=_patterns(table.get("include", []), ("filter", "include")),
        exclude=_patterns(table.get("exclude", []), ("filter", "exclude")),
        relabel=_parse_relabel(document.get("relabel", {})),
        thresholds=_parse_thresholds(document.get("thresholds", {})),
    )


def _patterns(value: Any, key: KeyPath) -> tuple[IdPattern, ...]:
    """Compile a list of sensor id globs."""
    if not isinstance(value, list):
        raise _Invalid(key, f'must be a list of patterns like ["coretemp-*/temp*"], got {_show(value)}')
    return tuple(_pattern(glob, (*key, index)) for index, glob in enumerate(value))


def _pattern(value: Any, key: KeyPath) -> IdPattern:
    """Compile one sensor id glob."""
    if not isinstance(value, str):
        raise _Invalid(key, f"must be a pattern string like 'coretemp-*/temp*', got {_show(value)}")
    try:
        return compile_id_pattern(value)
    except ValueError as error:
        raise _Invalid(key, str(error)) from None


def _parse_relabel(value: Any) -> Mapping[str, str]:
    """Parse [relabel]: exact sensor id -> label."""
    table = _table(value, ("relabel",))
    for sensor_id, label in table.items():
        key = ("relabel", sensor_id)
        if set("*?[") & set(sensor_id):
            raise _Invalid(key, "relabel takes exact sensor ids like 'coretemp-isa-0000/temp1', not patterns")
        if "/" not in sensor_id:
            raise _Invalid(key, "must be a whole sensor id like 'coretemp-isa-0000/temp1'")
        _text(label, key, 64)
    return MappingProxyType(dict(table))


def _parse_thresholds(value: Any) -> tuple[ThresholdOverride, ...]:
    """Parse [thresholds."<pattern>"] tables, in file order."""
    table = _table(value, ("thresholds",))
    return tuple(_parse_override(glob, limits) for glob, limits in table.items())


def _parse_override(glob: str, value: Any) -> ThresholdOverride:
    """Parse one [thresholds."<pattern>"] table of limit name -> value."""
    key = ("thresholds", glob)
    if not isinstance(value, dict):
        raise _Invalid(key, f'must be a table like [thresholds."coretemp-*/temp1"] with max = 85, got {_show(value)}')
    pattern = _pattern(glob, key)
    names = sorted(HIGH_LIMITS | LOW_LIMITS)
    _reject_unknown(value, names, key)
    if not value:
        raise _Invalid(key, f"sets no threshold; use some of {', '.join(names)}")
    limits = {name: _number(limit, (*key, name)) for name, limit in value.items()}
    return ThresholdOverride(pattern, MappingProxyType(limits))


def _check_declared_sensors_kept(sensors: tuple[SensorSpec, ...], rules: Rules) -> None:
    """Refuse a filter that would drop a sensor this same file declares: that is always a slip."""
    for spec in sensors:
        if rules.include and not any(p.matches(spec.sensor_id) for p in rules.include):
            raise _Invalid(
                ("filter", "include"),
                f"drops the declared sensor {spec.sensor_id!r}; add 'config/*' to keep it",
            )
        for pattern in rules.exclude:
            if pattern.matches(spec.sensor_id):
                raise _Invalid(
                    ("filter", "exclude"),
                    f"{pattern.glob!r} drops the declared sensor {spec.sensor_id!r}; "
                    f"remove [sensors.{spec.key}] instead",
                )


def _glob_to_regex(glob: str) -> str:
    """Translate a sensor id glob into a regular expression, rejecting malformed brackets."""
    parts: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        elif char == "[":
            end = glob.find("]", index + 1)
            if end == -1:
                raise ValueError(f"bad pattern {glob!r}: '[' at position {index} is never closed")
            parts.append(_bracket_to_regex(glob, glob[index + 1 : end]))
            index = end
        elif char == "]":
            raise ValueError(f"bad pattern {glob!r}: ']' at position {index} closes no '['")
        else:
            parts.append(re.escape(char))
        index += 1
    return "".join(parts)


def _bracket_to_regex(glob: str, body: str) -> str:
    """Translate the inside of a [...] or [!...] set into a regex character class."""
    negate = body.startswith("!")
    body = body[1:] if negate else body
    if not body:
        raise ValueError(f"bad pattern {glob!r}: empty '[]'")
    if "/" in body:
        raise ValueError(f"bad pattern {glob!r}: '/' cannot be inside '[...]'")
    escaped = "".join(char if char == "-" else re.escape(char) for char in body)
    return f"[^/{escaped}]" if negate else f"[{escaped}]"


def _reject_unknown(table: dict[str, Any], allowed: tuple[str, ...] | list[str], key: KeyPath) -> None:
    """Raise for the first key of table that is not allowed, naming the closest allowed one."""
    for name in table:
        if name in allowed:
            continue
        if name == "frost_threshold" and key:
            # TOML puts a key written after a [table] header into that table.
            hint = "; frost_threshold is a top-level key and must come before the first [table]"
        else:
            hint = _did_you_mean(name, allowed)
        raise _Invalid((*key, name), f"unknown key{hint}")


def _did_you_mean(name: Any, allowed: Any) -> str:
    """Return "; did you mean 'x'?" for the allowed name closest to name, or ""."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _table(value: Any, key: KeyPath) -> dict[str, Any]:
    """Return value if it is a TOML table."""
    if not isinstance(value, dict):
        raise _Invalid(key, f"must be a table, got {_show(value)}")
    return value


def _number(value: Any, key: KeyPath, low: float | None = None, high: float | None = None) -> float:
    """Return value as a finite float within [low, high], or raise naming the expected range."""
    number = _as_number(value)
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        bounds = f" between {low:g} and {high:g}" if low is not None and high is not None else ""
        raise _Invalid(key, f"must be a number{bounds}, got {_show(value)}")
    return number


def _as_number(value: Any) -> float | None:
    """Return value as a finite float, or None when it is no number (TOML booleans are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _text(value: Any, key: KeyPath, max_length: int, allow_empty: bool = False) -> str:
    """Return value if it is a one-line string of acceptable length."""
    if (
        not isinstance(value, str)
        or len(value) > max_length
        or (not value and not allow_empty)
        or any(char in value for char in "\r\n\0")
    ):
        size = f"0 to {max_length}" if allow_empty else f"1 to {max_length}"
        raise _Invalid(key, f"must be a one-line string of {size} characters, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    """Show a TOML value briefly, the way the user wrote it where possible."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
