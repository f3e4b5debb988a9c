"""Fill a history database with synthetic days in seconds, for tests and benchmarks.

    python -m frostserver.history.seed --db PATH --days N --sensors N [--end UNIX_TIME]

Sensors are "seed-isa-0000/temp<n>"; minute rows cover the newest min(days, minute retention),
hour rows every whole hour of the days; every minute has 60 samples of values in 20..60.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .buckets import Tier, default_tiers
from .database import open_for_writing
from .packed import Row, encode

DAY = 86400


def sensor_ids(count: int) -> list[str]:
    """Return the ids of `count` seeded sensors."""
    return [f"seed-isa-0000/temp{number}" for number in range(1, count + 1)]


def synthetic(start: int, keys: list[int], samples: int) -> dict[int, Row]:
    """Return a bucket's aggregates: values vary with time and sensor, with fractions (a float's 8 bytes)."""
    rows: dict[int, Row] = {}
    for key in keys:
        value = 20.0 + ((start // 60 * 7 + key * 13) % 4000) / 100.0
        rows[key] = (value - 1.5, value + 1.25, value * samples, samples, 0)  # one sample a second
    return rows


def seed(
    path: Path,
    days: float,
    sensors: int,
    *,
    end: float | None = None,
    tiers: tuple[Tier, ...] | None = None,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Fill the database at path with `days` of minutes and hours of `sensors` sensors, up to end."""
    tiers = default_tiers() if tiers is None else tiers
    minute, hour = tiers
    end_minute = int((time.time() if end is None else end) // 60 * 60)
    begin = end_minute - int(days * DAY)
    db = open_for_writing(Path(path), tiers)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO sensors (id, last_seen) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET last_seen = "
            "max(last_seen, excluded.last_seen)",
            [(sensor_id, end_minute) for sensor_id in sensor_ids(sensors)],
        )
        db.execute("COMMIT")
        keys = [row[0] for row in db.execute("SELECT key FROM sensors WHERE id LIKE 'seed-%' ORDER BY key")]
        # A day per transaction: the WAL stays small and progress shows.
        for tier, first in (
            (hour, begin // 3600 * 3600),
            (minute, max(begin, end_minute - int(minute.retention_seconds))),
        ):
            last = end_minute // tier.seconds * tier.seconds
            for day_start in range(first, last, DAY):
                day_end = min(day_start + DAY, last)
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    f"INSERT OR REPLACE INTO {tier.name} (start, buckets) VALUES (?, ?)",
                    (
                        (start, encode(synthetic(start, keys, tier.seconds)))
                        for start in range(day_start, day_end, tier.seconds)
                    ),
                )
                db.execute("COMMIT")
                if progress is not None:
                    progress(f"seeded {tier.name} buckets up to {time.strftime('%Y-%m-%d', time.gmtime(day_end))}")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    """Seed a database from the command line."""
    parser = argparse.ArgumentParser(prog="python -m frostserver.history.seed", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="the database file (created if missing)")
    parser.add_argument("--days", type=float, required=True, help="days of history, up to --end")
    parser.add_argument("--sensors", type=int, default=16, help="how many sensors (default 16)")
    parser.add_argument("--end", type=float, default=None, help="Unix time of the newest minute (default: now)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    seed(args.db, args.days, args.sensors, end=args.end, progress=None if args.quiet else print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
