"""[sensors.<key>]: the extra sensors the document declares, a file to read or a command to run.

Only the configuration chooses what is read or run (config_sensors.py reads them); nothing in a
request can. Commands are argument lists, never a shell string.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

from ..model import UNITS
from . import validate
from .errors import Invalid, KeyPath

# Sensor keys become ids ("config/<key>") and URL parts, so they stay plain.
SENSOR_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
SENSOR_KEYS = ("file", "command", "regex", "scale", "offset", "unit", "kind", "label", "interval", "timeout")

# Characters that only mean something to a shell; commands never run through one.
SHELL_SYNTAX = set("|&;<>$`*?(){}")


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


def parse_sensors(value: Any, sampling_interval: float) -> tuple[SensorSpec, ...]:
    """Parse every [sensors.<key>] table, in document order."""
    body = validate.table(value, ("sensors",))
    return tuple(parse_sensor(name, spec, sampling_interval) for name, spec in body.items())


def parse_sensor(name: str, value: Any, sampling_interval: float) -> SensorSpec:
    """Parse one [sensors.<key>] table."""
    key = ("sensors", name)
    if not SENSOR_KEY.fullmatch(name):
        raise Invalid(key, "a sensor key is 1 to 64 letters, digits, '_' or '-' (it becomes the id config/<key>)")
    body = validate.table(value, key)
    validate.reject_unknown(body, SENSOR_KEYS, key)
    file, command = parse_source(body, key)
    kind = parse_kind(body.get("kind", "other"), (*key, "kind"))
    interval = validate.number(body.get("interval", sampling_interval), (*key, "interval"), 0.1, 86400)
    timeout = validate.number(body.get("timeout", 5), (*key, "timeout"), 0.1, 60) if command else None
    return SensorSpec(
        key=name,
        file=file,
        command=command,
        regex=parse_regex(body.get("regex"), (*key, "regex")),
        scale=parse_scale(body.get("scale", 1), (*key, "scale")),
        offset=validate.number(body.get("offset", 0), (*key, "offset")),
        kind=kind,
        unit=parse_unit(body.get("unit", UNITS[kind]), kind, (*key, "unit")),
        label=validate.text(body.get("label", name), (*key, "label"), 64),
        # Reading more often than the sampler samples would only throw readings away.
        interval=max(interval, sampling_interval),
        timeout=timeout,
    )


def parse_source(body: dict[str, Any], key: KeyPath) -> tuple[str | None, tuple[str, ...] | None]:
    """Return (file, command) of a sensor table, exactly one of them set."""
    if "file" in body and "command" in body:
        raise Invalid(key, "set either 'file' or 'command', not both")
    if "file" in body:
        if "timeout" in body:
            raise Invalid((*key, "timeout"), "only applies to 'command' sensors (a file read has no timeout)")
        return parse_file(body["file"], (*key, "file")), None
    if "command" in body:
        return None, parse_command(body["command"], (*key, "command"))
    raise Invalid(key, "needs 'file' (a path to read) or 'command' (a program and its arguments, as a list)")


def parse_file(value: Any, key: KeyPath) -> str:
    """Validate the path of a file sensor."""
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value:
        raise Invalid(
            key, f"must be an absolute path like '/sys/bus/w1/devices/28-0000/w1_slave', got {validate.show(value)}"
        )
    return value


def parse_command(value: Any, key: KeyPath) -> tuple[str, ...]:
    """Validate the argv list of a command sensor."""
    if isinstance(value, str):
        raise Invalid(key, shell_string_problem(value))
    if not isinstance(value, list) or not value or not all(isinstance(arg, str) for arg in value):
        raise Invalid(
            key, f"must be a non-empty list of strings (the program, then its arguments), got {validate.show(value)}"
        )
    if any("\0" in arg for arg in value):
        raise Invalid(key, "arguments must not contain NUL characters")
    program = value[0]
    # The working directory of the server is nobody's business: relative paths would depend on it.
    if not program or ("/" in program and not program.startswith("/")):
        raise Invalid(key, f"the program must be an absolute path or a name found on PATH, got {program!r}")
    return tuple(value)


def shell_string_problem(command: str) -> str:
    """Explain why a command string is refused, suggesting the argv list when there is one."""
    problem = "must be a list of strings (argv), not a string: commands never run through a shell"
    if SHELL_SYNTAX & set(command):
        return f"{problem}; put pipes, redirections and wildcards in a script and run that"
    try:
        argv = shlex.split(command)
    except ValueError:
        return problem
    return f"{problem}; write command = {json.dumps(argv, ensure_ascii=False)}" if argv else problem


def parse_kind(value: Any, key: KeyPath) -> str:
    """Validate a sensor kind against model.UNITS."""
    return validate.one_of(value, key, sorted(UNITS))


def parse_unit(value: Any, kind: str, key: KeyPath) -> str:
    """Validate a unit: free for kind "other", the one unit of UNITS for every other kind."""
    unit = validate.text(value, key, 16, allow_empty=True)
    if kind != "other" and unit != UNITS[kind]:
        # One unit per kind keeps charts, thresholds and the frost check comparable.
        raise Invalid(key, f"a {kind} is always in {UNITS[kind]!r} (convert with scale and offset), got {unit!r}")
    return unit


def parse_regex(value: Any, key: KeyPath) -> re.Pattern[str] | None:
    """Compile a sensor's regex, whose first group (or whole match) is the number."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise Invalid(key, f"must be a regular expression string, got {validate.show(value)}")
    try:
        return re.compile(value)
    except re.error as error:
        raise Invalid(key, f"invalid regular expression: {error}") from None


def parse_scale(value: Any, key: KeyPath) -> float:
    """Validate a scale factor, which must not be zero."""
    scale = validate.number(value, key)
    if scale == 0:
        raise Invalid(key, "must not be 0 (every reading would be 0)")
    return scale
