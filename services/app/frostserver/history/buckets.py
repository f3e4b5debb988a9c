"""What the history holds: its tiers and their aggregated points (buckets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import STATUSES

if TYPE_CHECKING:
    from ..config import Settings

DAY = 86400.0


@dataclass(frozen=True)
class Tier:
    """One resolution of the history: buckets `seconds` wide, kept `retention_seconds`."""

    name: str  # also the name of its table
    seconds: int
    retention_seconds: float


@dataclass(frozen=True)
class Bucket:
    """One aggregated point of one sensor: every sample taken from `start` for `seconds`."""

    start: float  # Unix time of the bucket's start (a multiple of `seconds`)
    seconds: float  # the bucket's width
    min: float | None  # None when no sample of the bucket had a value
    max: float | None
    mean: float | None
    count: int  # samples with a value (the mean's weight); samples with none count in worst_status only
    worst_status: str  # the worst status of every sample, in model.STATUSES order (worst last)


# The tiers by name, with the width of their buckets in seconds; their retention is configured.
TIER_SECONDS = {"minute": 60, "hour": 3600}


def configured_tiers(settings: Settings) -> tuple[Tier, ...]:
    """Return the tiers with the retention the settings ([history] in the config file) give them."""
    return (
        Tier("minute", TIER_SECONDS["minute"], settings.history_minute_days * DAY),
        Tier("hour", TIER_SECONDS["hour"], settings.history_hour_days * DAY),
    )


def default_tiers() -> tuple[Tier, ...]:
    """Return the tiers with the retention Settings declares by default (for tests and seeding)."""
    # Imported when called, never at import: importing the history (the codec, the reader) must not
    # load the configuration, let alone build Settings.
    from ..config import Settings

    return configured_tiers(Settings())


# Statuses are stored as their index in model.STATUSES, so that the worst is the largest.
STATUS_CODES = {status: code for code, status in enumerate(STATUSES)}
WORST_CODE = len(STATUSES) - 1


def status_name(code: int) -> str:
    """Return the status stored as `code` (an unknown code reads as the worst)."""
    return STATUSES[code] if 0 <= code < len(STATUSES) else STATUSES[WORST_CODE]
