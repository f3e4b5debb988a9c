"""Read FrostServer's settings, once, into one typed object: the environment and the config file.

Every setting is declared once, below, with its default, its bounds and where it comes from: a
FROST_* environment variable (README.md, "Configuration") or a key of the TOML config file
(services/app/frostserver.example.toml).  A value the app cannot run with raises SettingsError
(ConfigError, for the file), whose message is one line naming the variable, or the file and key.
Nothing else is ever reported as a configuration error: a bug stays a bug.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .alerts.config import AlertsConfig
from .configfile import ConfigError, FileConfig, NumberSpec, Rules, SensorSpec, SettingsError, read_config_file

__all__ = ["ConfigError", "Settings", "SettingsError", "load_settings"]

STREAM_THREAD_RESERVE = 16  # threads per worker kept free of event streams for ordinary requests
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def _setting(
    default: Any, *, env: bool = False, key: str | None = None, bounds: tuple[float, float] | None = None
) -> Any:
    """Declare a setting: its default, FROST_<NAME> if `env`, its config-file `key`, its bounds."""
    return field(default=default, metadata={"env": env, "key": key, "bounds": bounds})


@dataclass(frozen=True)
class Settings:
    """Everything the app is configured with."""

    # Where things are.
    sysfs_root: Path = _setting(Path("/sys"), env=True)  # hwmon is read under <root>/class/hwmon
    config: Path | None = _setting(None, env=True)  # the TOML config file; None: none
    run_dir: Path = _setting(Path("/run/frostserver"), env=True)  # the sampler's store (tmpfs)
    # lm-sensors' configuration: <dir>/sensors3.conf (or sensors.conf), then <dir>/sensors.d/*.
    # None: not read (the image sets /etc; tests never read the machine's own files).
    lm_sensors_etc: Path | None = _setting(None, env=True)
    # The history on disk (history/): its directory, a volume in Compose; None: no history (the
    # image sets /var/lib/frostserver; tests and dev mode write none unless they say where).
    history_dir: Path | None = _setting(None, env=True)
    # Sampling, from the config file.
    sample_interval: float = _setting(1.0, key="sampling.interval", bounds=(0.1, 3600.0))  # s
    history_seconds: float = _setting(900.0, key="sampling.history", bounds=(10.0, 86400.0))  # kept in RAM
    frost_threshold: float = _setting(0.0, key="frost_threshold", bounds=(-100.0, 100.0))  # °C
    # How long each tier of the history on disk keeps its buckets, in days, from the config file.
    history_minute_days: float = _setting(14.0, key="history.minute_days", bounds=(1.0, 90.0))
    history_hour_days: float = _setting(730.0, key="history.hour_days", bounds=(1.0, 3660.0))
    sensors: tuple[SensorSpec, ...] = ()  # [sensors.<key>]: files to read and commands to run
    rules: Rules = field(default_factory=Rules)  # [filter], [relabel], [thresholds]
    alerts: AlertsConfig = field(default_factory=AlertsConfig)  # [alerts]: rules and where to notify
    # The sampler.
    max_sensors: int = _setting(2048, env=True, bounds=(1, 65536))  # columns in the history
    read_timeout: float = _setting(0.5, env=True, bounds=(0.01, 60.0))  # s; a slower read is abandoned
    # Serving.
    stream_heartbeat: float = _setting(15.0, env=True, bounds=(1.0, 55.0))  # s; well inside nginx's timeout
    workers: int = _setting(2, env=True, bounds=(1, 64))  # Gunicorn worker processes
    threads: int = _setting(256, env=True, bounds=(STREAM_THREAD_RESERVE + 1, 4096))  # per worker
    max_streams: int = _setting(0, env=True, bounds=(0, 100000))  # per worker; 0: threads - 16
    log_level: str = _setting("info", env=True)

    @property
    def history_capacity(self) -> int:
        """Return how many samples the history ring holds."""
        return max(2, int(self.history_seconds / self.sample_interval) + 1)


_ENV_PREFIX = "FROST_"


def env_name(name: str) -> str:
    """Return the environment variable of a setting: FROST_<NAME>."""
    return _ENV_PREFIX + name.upper()


def file_numbers() -> dict[str, NumberSpec]:
    """Return the config file's numeric settings by key, with their defaults and bounds."""
    return {
        f.metadata["key"]: NumberSpec(float(f.default), *f.metadata["bounds"])  # type: ignore[arg-type]  # numbers only
        for f in fields(Settings)
        if f.metadata.get("key")
    }


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None, *, read_file: bool = True
) -> Settings:
    """Build Settings from FROST_* variables, the config file they name, then overrides (tests)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in fields(Settings):
        raw = environ.get(env_name(setting.name)) if setting.metadata.get("env") else None
        if raw is not None and raw != "":
            values[setting.name] = _parse_env(setting.name, str(setting.type), raw)
    values.update(overrides or {})
    config = values.get("config")
    if read_file and config is not None:
        values = {**_from_file(read_config_file(config, file_numbers())), **values}
    settings = Settings(**values)
    _validate(settings)
    if settings.max_streams == 0:
        settings = replace(settings, max_streams=settings.threads - STREAM_THREAD_RESERVE)
    return settings


def _from_file(file: FileConfig) -> dict[str, Any]:
    by_key = {f.metadata["key"]: f.name for f in fields(Settings) if f.metadata.get("key")}
    values: dict[str, Any] = {by_key[key]: number for key, number in file.numbers.items()}
    values.update(sensors=file.sensors, rules=file.rules)
    if file.alerts is not None:
        values["alerts"] = file.alerts
    return values


def _parse_env(name: str, annotation: str, raw: str) -> Any:
    """Parse one FROST_* variable by the type its setting is declared with."""
    if annotation.startswith("Path"):
        return Path(raw)
    if annotation == "str":
        return raw.strip().lower() if name == "log_level" else raw
    kind = "an integer" if annotation == "int" else "a number"
    try:
        return int(raw) if annotation == "int" else float(raw)
    except ValueError:
        raise SettingsError(f"{env_name(name)}: must be {kind}, got {raw!r}") from None


def _validate(settings: Settings) -> None:
    for setting in fields(Settings):
        bounds = setting.metadata.get("bounds")
        value = getattr(settings, setting.name)
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            where = setting.metadata["key"] or env_name(setting.name)
            raise SettingsError(f"{where}: must be between {bounds[0]:g} and {bounds[1]:g}, got {value}")
    if settings.log_level not in LOG_LEVELS:
        raise SettingsError(f"FROST_LOG_LEVEL: must be one of {', '.join(LOG_LEVELS)}, got {settings.log_level!r}")
