"""Every setting FrostServer has, declared once: its default, its bounds and where it may come from.

A setting comes from a FROST_* environment variable (README.md, "Configuration") or from a key of
the configuration document (the TOML config file, services/app/frostserver.example.toml); never
both. resolve.py decides each one's value and source and builds the one typed Settings object.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .access import AccessConfig
from .alerts import AlertsConfig
from .device import DeviceConfig
from .errors import SettingsError
from .sensor_overrides import SensorOverrides
from .sensors import SensorSpec
from .validate import NumberSpec

STREAM_THREAD_RESERVE = 16  # threads per worker kept free of event streams for ordinary requests
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
ENV_PREFIX = "FROST_"


def setting(
    default: Any, *, env: bool = False, key: str | None = None, bounds: tuple[float, float] | None = None
) -> Any:
    """Declare a setting: its default, FROST_<NAME> if `env`, its document `key`, its bounds."""
    return field(default=default, metadata={"env": env, "key": key, "bounds": bounds})


def tables(*names: str, default_factory: Any) -> Any:
    """Declare a setting parsed from whole tables of the document (e.g. [sensors.<key>])."""
    return field(default_factory=default_factory, metadata={"tables": names})


@dataclass(frozen=True)
class Settings:
    """Everything the app is configured with."""

    # Where things are.
    sysfs_root: Path = setting(Path("/sys"), env=True)  # hwmon is read under <root>/class/hwmon
    config: Path | None = setting(None, env=True)  # the TOML config file; None: none
    run_dir: Path = setting(Path("/run/frostserver"), env=True)  # the sampler's store (tmpfs)
    # lm-sensors' configuration: <dir>/sensors3.conf (or sensors.conf), then <dir>/sensors.d/*.
    # None: not read (the image sets /etc; tests never read the machine's own files).
    lm_sensors_etc: Path | None = setting(None, env=True)
    # The history on disk (history/): its directory, a volume in Compose; None: no history (the
    # image sets /var/lib/frostserver; tests and dev mode write none unless they say where).
    history_dir: Path | None = setting(None, env=True)
    # The accounts (accounts/): accounts.db in this directory; None: in history_dir (the volume, in
    # Compose), else in run_dir (tests and dev mode, where the accounts go with the run).
    accounts_dir: Path | None = setting(None, env=True)
    # Sampling, from the config file.
    sample_interval: float = setting(1.0, key="sampling.interval", bounds=(0.1, 3600.0))  # s
    # What the ring of recent samples (store/ring.py, in RAM) spans. Its key is `[sampling] history`,
    # a public key written in users' files, kept as it is: "history" in the code is the one on disk.
    ring_seconds: float = setting(900.0, key="sampling.history", bounds=(10.0, 86400.0))
    frost_threshold: float = setting(0.0, key="frost_threshold", bounds=(-100.0, 100.0))  # °C
    # How long each tier of the history on disk keeps its buckets, in days, from the config file.
    history_minute_days: float = setting(14.0, key="history.minute_days", bounds=(1.0, 90.0))
    history_hour_days: float = setting(730.0, key="history.hour_days", bounds=(1.0, 3660.0))
    # [sensors.<key>]: files to read and commands to run.
    sensors: tuple[SensorSpec, ...] = tables("sensors", default_factory=tuple)
    # [filter], [relabel], [thresholds]: which sensors to keep, their labels, their thresholds.
    # [customize."<id>"]: names, places, calibrations and limits, per sensor (wins over the two before).
    sensor_overrides: SensorOverrides = tables(
        "filter", "relabel", "thresholds", "customize", default_factory=SensorOverrides
    )
    alerts: AlertsConfig = tables("alerts", default_factory=AlertsConfig)  # [alerts]: rules and where to notify
    access: AccessConfig = tables("access", default_factory=AccessConfig)  # [access]: who reads, sessions, lockouts
    device: DeviceConfig = tables("device", default_factory=DeviceConfig)  # [device]: its name, display units
    # The sampler.
    max_sensors: int = setting(2048, env=True, bounds=(1, 65536))  # columns in the ring of recent samples
    read_timeout: float = setting(0.5, env=True, bounds=(0.01, 60.0))  # s; a slower read is abandoned
    # Serving.
    stream_heartbeat: float = setting(15.0, env=True, bounds=(1.0, 55.0))  # s; well inside nginx's timeout
    workers: int = setting(2, env=True, bounds=(1, 64))  # Gunicorn worker processes
    threads: int = setting(256, env=True, bounds=(STREAM_THREAD_RESERVE + 1, 4096))  # per worker
    max_streams: int = setting(0, env=True, bounds=(0, 100000))  # per worker; 0: threads - 16
    log_level: str = setting("info", env=True)

    @property
    def accounts_home(self) -> Path:
        """Return the directory of accounts.db: accounts_dir, else history_dir, else run_dir."""
        return self.accounts_dir or self.history_dir or self.run_dir

    @property
    def ring_capacity(self) -> int:
        """Return how many samples the ring of recent samples holds."""
        return max(2, int(self.ring_seconds / self.sample_interval) + 1)


def env_name(name: str) -> str:
    """Return the environment variable of a setting: FROST_<NAME>."""
    return ENV_PREFIX + name.upper()


def env_settings() -> tuple[str, ...]:
    """Return the names of the settings a FROST_* variable may set."""
    return tuple(f.name for f in fields(Settings) if f.metadata.get("env"))


def file_numbers() -> dict[str, NumberSpec]:
    """Return the document's numeric settings by dotted key, with their defaults and bounds."""
    return {
        f.metadata["key"]: NumberSpec(float(f.default), *f.metadata["bounds"])  # type: ignore[arg-type]  # numbers only
        for f in fields(Settings)
        if f.metadata.get("key")
    }


def field_of_key() -> dict[str, str]:
    """Return the Settings field of each numeric document key ("sampling.interval": "sample_interval")."""
    return {f.metadata["key"]: f.name for f in fields(Settings) if f.metadata.get("key")}


def parse_env(name: str, annotation: str, raw: str) -> Any:
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


def check_bounds(settings: Settings) -> None:
    """Raise SettingsError for the first setting out of its bounds, naming its key or variable."""
    for declared in fields(Settings):
        bounds = declared.metadata.get("bounds")
        value = getattr(settings, declared.name)
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            where = declared.metadata["key"] or env_name(declared.name)
            raise SettingsError(f"{where}: must be between {bounds[0]:g} and {bounds[1]:g}, got {value}")
    if settings.log_level not in LOG_LEVELS:
        raise SettingsError(f"FROST_LOG_LEVEL: must be one of {', '.join(LOG_LEVELS)}, got {settings.log_level!r}")
