"""Read the TOML configuration file: bounded in size, UTF-8, parsed, or one ConfigError line."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError

# A FrostServer config is a few KiB; refuse to parse anything absurd (e.g. FROST_CONFIG=/dev/zero).
MAX_CONFIG_BYTES = 1024 * 1024


def read_toml(path: Path) -> dict[str, Any]:
    """Return the parsed TOML document at path, or raise ConfigError naming the file and the problem."""
    shown = str(path)
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
