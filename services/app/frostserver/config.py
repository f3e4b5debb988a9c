"""Read FrostServer's settings, once, into one typed object."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Mapping


class SettingsError(ValueError):
    """A setting has a value the app cannot run with."""


@dataclass(frozen=True)
class Settings:
    """Everything the app is configured with; the environment variables are documented in README.md."""

    sysfs_root: Path = Path("/sys")  # FROST_SYSFS_ROOT: hwmon is read under <root>/class/hwmon
    config: Path | None = None  # FROST_CONFIG: optional TOML with extra sensors and rules
    run_dir: Path = Path("/run/frostserver")  # FROST_RUN_DIR: the shared sample store (tmpfs)
    sample_interval: float = 1.0  # s; from the config file's [sampling] interval
    history_seconds: int = 900  # from the config file's [sampling] history
    max_sensors: int = 2048  # FROST_MAX_SENSORS: columns in the shared history
    read_timeout: float = 0.5  # FROST_READ_TIMEOUT (s): a sensor read slower than this is abandoned
    stream_heartbeat: float = 15.0  # FROST_STREAM_HEARTBEAT (s): well inside nginx's read timeout
    workers: int = 2  # FROST_WORKERS: Gunicorn worker processes
    threads: int = 256  # FROST_THREADS per worker: each open event stream holds one
    # FROST_MAX_STREAMS per worker; 0 means threads - 16, so API requests always find a thread.
    max_streams: int = 0
    log_level: str = "info"  # FROST_LOG_LEVEL


_ENV_PREFIX = "FROST_"
# Sampling is configured in the TOML file only (one place); tests pass these as overrides.
_FILE_ONLY = {"sample_interval", "history_seconds"}
_BOUNDS = {
    "sample_interval": (0.1, 3600.0),
    "history_seconds": (10, 86400),
    "max_sensors": (1, 65536),
    "read_timeout": (0.01, 60.0),
    "stream_heartbeat": (1.0, 55.0),
    "max_streams": (0, 100000),
    "workers": (1, 64),
    "threads": (17, 4096),
}
STREAM_THREAD_RESERVE = 16  # threads per worker kept free of streams for ordinary requests
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def load_settings(environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None) -> Settings:
    """Build Settings from FROST_* variables, then explicit overrides (tests pass those)."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for field in fields(Settings):
        if field.name in _FILE_ONLY:
            continue
        raw = environ.get(_ENV_PREFIX + field.name.upper())
        if raw is not None and raw != "":
            values[field.name] = _parse(field.name, raw)
    values.update(overrides or {})
    settings = Settings(**values)
    _validate(settings)
    if settings.max_streams == 0:
        settings = replace(settings, max_streams=settings.threads - STREAM_THREAD_RESERVE)
    return settings


def _parse(name: str, raw: str) -> object:
    env_name = _ENV_PREFIX + name.upper()
    default = getattr(Settings, name)
    try:
        if name == "config" or isinstance(default, Path):
            return Path(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        kind = "an integer" if isinstance(default, int) else "a number"
        raise SettingsError(f"{env_name}: must be {kind}, got {raw!r}") from None
    return raw.strip().lower() if name == "log_level" else raw


def _validate(settings: Settings) -> None:
    for name, (low, high) in _BOUNDS.items():
        value = getattr(settings, name)
        if not low <= value <= high:
            where = name if name in _FILE_ONLY else _ENV_PREFIX + name.upper()
            raise SettingsError(f"{where}: must be between {low} and {high}, got {value}")
    if settings.log_level not in _LOG_LEVELS:
        raise SettingsError(f"FROST_LOG_LEVEL: must be one of {', '.join(_LOG_LEVELS)}, got {settings.log_level!r}")
