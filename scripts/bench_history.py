#!/usr/bin/env python3
"""Measure what the history on disk costs the flash: bytes written per day, size at full retention.

Run by `make bench-history` (and `make bench`): seeds a database at full retention (2 years of
hours, 14 days of minutes, 256 sensors), then runs the real writer (HistoryWriter) on a simulated
clock for some days, days in seconds, through its roll-ups, checkpoints and pruning, and counts
the bytes this process sends to storage (write_bytes of /proc/self/io).

How it is counted, so that it never under-counts: the kernel charges write_bytes when a clean
page-cache page (a folio: 4 KiB, or more on kernels with large folios) turns dirty, and writes
it back within dirty_expire_centisecs (30 s) plus a flusher period (5 s), well inside the minute
between two writes. So after every simulated minute the database, its WAL and its -shm (the
WAL index, mmapped and written back like any file on the volume) are flushed (fdatasync): a
block rewritten every minute costs its bytes every minute, as on a device. The cached pages of
the database and the WAL are then dropped (POSIX_FADV_DONTNEED), so that a large folio left by
readahead or by the seeding is not charged whole for a 1 KiB page written into it (a device
gets only the dirty blocks). Not counted: the filesystem's own journal and metadata (the files
keep their size in steady state; fdatasync skips timestamps). Needs a real filesystem (not a
tmpfs, where nothing is written to storage): FROST_BENCH_HISTORY_DIR, /var/tmp by default.

Before the writer runs, it also times the API's answer for 24 h of 64 of the sensors at the
default step (Flask's test client, in-process): cold, the first request of a fresh app, and warm.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "services" / "app"))

from frostserver.history import HISTORY_FILE, default_tiers  # noqa: E402
from frostserver.history.seed import seed, sensor_ids  # noqa: E402
from frostserver.history.writer import HistoryWriter  # noqa: E402
from frostserver.model import Reading, Sensor  # noqa: E402

TARGET_BYTES_PER_DAY = 64 * 2**20
TARGET_FULL_SIZE = 500 * 2**20
QUERY_COLD_APPS = 3
QUERY_REQUESTS = 10
STARTED = time.monotonic()


def progress(message: str) -> None:
    """Print one progress line with the elapsed time."""
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def write_bytes() -> int:
    """Bytes this process has caused to be sent to storage so far."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no write_bytes")


def flush(directory: Path) -> None:
    """fdatasync the database, its WAL and its -shm: what writeback does in a real minute."""
    for name in (HISTORY_FILE, HISTORY_FILE + "-wal", HISTORY_FILE + "-shm"):
        try:
            fd = os.open(directory / name, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.fdatasync(fd)
            if not name.endswith("-shm"):  # mapped: it stays, charged whole each minute (up to 32 KiB)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def size_of(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir() if p.name.startswith(HISTORY_FILE))


def time_query(directory: Path, end: float, ids: list[str]) -> dict[str, float]:
    """Time the API's answer for a day of these sensors at the default step, in-process: cold and warm.

    Cold: the first request of a freshly made app (no folded points cached), QUERY_COLD_APPS
    apps; warm: QUERY_REQUESTS more to the last one. Milliseconds, the whole JSON rendered.
    """
    from frostserver.http import create_app

    query = urlencode([("from", int(end - 86400)), ("to", int(end))] + [("sensor", sid) for sid in ids])
    path = f"/api/v1/history?{query}"
    cold, warm = [], []
    with tempfile.TemporaryDirectory(prefix="frost-bench-run-") as run:
        for _ in range(QUERY_COLD_APPS):
            client = create_app({"run_dir": Path(run), "history_dir": directory}).test_client()
            began = time.perf_counter()
            response = client.get(path)
            response.get_data()
            cold.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"history query: HTTP {response.status_code}")
        for _ in range(QUERY_REQUESTS):
            began = time.perf_counter()
            client.get(path).get_data()
            warm.append((time.perf_counter() - began) * 1000)
    cold.sort()
    warm.sort()
    return {
        "cold_min_ms": round(cold[0], 1),
        "cold_p50_ms": round(cold[len(cold) // 2], 1),
        "cold_max_ms": round(cold[-1], 1),
        "warm_min_ms": round(warm[0], 1),
        "warm_p50_ms": round(warm[len(warm) // 2], 1),
        "warm_max_ms": round(warm[-1], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensors", type=int, default=256)
    parser.add_argument("--days", type=float, default=2.0, help="simulated days measured (default 2)")
    parser.add_argument("--interval", type=float, default=20.0, help="simulated seconds between samples")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks-history.json")
    args = parser.parse_args()
    parent = os.environ.get("FROST_BENCH_HISTORY_DIR", "/var/tmp")
    directory = Path(tempfile.mkdtemp(prefix="frost-bench-history-", dir=parent))
    try:
        return run(directory, args)
    finally:
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()


def run(directory: Path, args: argparse.Namespace) -> int:
    minute, hour = default_tiers()
    start = int(time.time()) // 3600 * 3600
    progress(
        f"seeding {args.sensors} sensors at full retention ({hour.retention_seconds / 86400:.0f} days of "
        f"hours, {minute.retention_seconds / 86400:.0f} days of minutes) into {directory}"
    )
    last = [0.0]

    def seeded(message: str) -> None:
        if time.monotonic() - last[0] > 5:
            last[0] = time.monotonic()
            progress(message)

    seed(directory / HISTORY_FILE, hour.retention_seconds / 86400, args.sensors, end=start, progress=seeded)
    full_size = size_of(directory)
    progress(f"seeded: {full_size / 2**20:.1f} MiB")
    # The seeding wrote the whole database in seconds, which no device does: its writeback would
    # slow the reads being timed.
    os.sync()
    query = time_query(directory, start, sensor_ids(args.sensors)[::4][:64])
    progress(
        f"GET /api/v1/history, 24 h of 64 of the {args.sensors} sensors at the default step: cold p50 "
        f"{query['cold_p50_ms']} ms ({query['cold_min_ms']}-{query['cold_max_ms']}, {QUERY_COLD_APPS} fresh apps), "
        f"warm p50 {query['warm_p50_ms']} ms ({query['warm_min_ms']}-{query['warm_max_ms']}, {QUERY_REQUESTS} requests)"
    )
    sensors = [
        Sensor(sid, "seed-isa-0000", "seed", sid.rsplit("/", 1)[1], "temperature", "", "°C")
        for sid in sensor_ids(args.sensors)
    ]
    clock = [1000.0]
    writer = HistoryWriter(directory, default_tiers(), monotonic=lambda: clock[0])
    steps = int(args.days * 86400 / args.interval)
    before = write_bytes()
    at = float(start)
    writes = 0
    for step in range(steps):
        pairs = [(s, Reading(20.0 + ((step * 7 + n * 13) % 4000) / 100.0)) for n, s in enumerate(sensors)]
        pending = len(writer.aggregator.closed)
        writer.observe(at, pairs)
        if pending == 0 and writer.aggregator.closed == [] and writer._last_attempt == clock[0]:
            writes += 1
            flush(directory)
        at += args.interval
        clock[0] += args.interval
        if step and step % int(21600 / args.interval) == 0:
            day = step * args.interval / 86400
            progress(f"simulated {day:.2f} days: {(write_bytes() - before) / day / 2**20:.1f} MiB/day so far")
    writer.close()
    flush(directory)
    written = write_bytes() - before
    per_day = written / args.days
    end_size = size_of(directory)
    result = {
        "sensors": args.sensors,
        "simulated_days": args.days,
        "write_transactions": writes,
        "bytes_written_per_day": per_day,
        "size_at_full_retention_bytes": max(full_size, end_size),
        "query_24h_64_sensors_ms": query,
        "targets": {"bytes_per_day": TARGET_BYTES_PER_DAY, "size_at_full_retention": TARGET_FULL_SIZE},
        "state": asdict(writer.state()),  # the writer's typed HistoryCounters (store/counters.py)
    }
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    progress(f"{writes} write transactions in {args.days:g} simulated days")
    print(
        f"bytes written per day, {args.sensors} sensors: {per_day / 2**20:.1f} MiB "
        f"(target <= {TARGET_BYTES_PER_DAY / 2**20:.0f} MiB): {'met' if per_day <= TARGET_BYTES_PER_DAY else 'NOT met'}"
    )
    size = max(full_size, end_size)
    verdict = "met" if size <= TARGET_FULL_SIZE else "NOT met"
    print(
        f"database at full retention: {size / 2**20:.1f} MiB (target <= {TARGET_FULL_SIZE / 2**20:.0f} MiB): {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
