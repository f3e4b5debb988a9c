"""The history on disk: aggregates of every sensor, kept for days and years, in SQLite.

Two tiers: one bucket a minute, kept 14 days; one bucket an hour, rolled up from the minutes,
kept 2 years (the config file's [history] minute_days and hour_days). Each bucket holds a
sensor's min, max, mean (stored as a sum and a count), how many samples had a value, and the worst
status of them all. The database is `history.db` in FROST_HISTORY_DIR (a volume in Compose;
unset: no history).

The sampler process is the only writer (writer.py, HistoryWriter); the workers read through
HistoryReader, the interface the API builds on:

    configured_tiers(settings) -> (Tier, Tier)  Tier(name, seconds, retention_seconds): "minute", "hour"
    Bucket(start, seconds, min, max, mean, count, worst_status)
    HistoryReader(path)                path: the history directory or the database file; any thread
        .buckets(tier, sensor_ids, start, end) -> {sensor id: [Bucket, ...]}
                                       buckets starting in [start, end), oldest first; sensor_ids
                                       None: every sensor; a sensor without buckets there is absent
        .fold(tier, sensor_ids, start, end, origin, step, count) -> {sensor id: (min, max, sum, count)}
                                       the same buckets folded into `count` points `step` wide (what
                                       an answer reads: answer.py), reading rows a chunk at a time; blocks
                                       of points are kept per reader, keyed by a digest of their
                                       rows (blocks.py)
        .span(tier) -> (oldest start, newest start) | None
        .sensor_ids() -> [id, ...]     every sensor held, those that vanished included, until
                                       their newest hour ages out

A query of the history (GET /api/v1/history is its one user; the HTTP side reads the query string
and renders JSON or CSV) is answered here, from the tiers and the RAM ring together:

    query.py                           HistoryQuery (range, step, sensors), Limits, how a step is
                                       chosen (answer_step, default_step), MAX_POINTS
    plan.py                            plan(): which source (the ring, the minutes, the hours)
                                       answers which stretch of the range, at which step
    answer.py                          build_answer() -> HistoryAnswer: the plan, its point times,
                                       values made a batch at a time (the ring's folded there, a
                                       tier's by Tiers.fold); Tiers: what it reads of HistoryReader

A missing, broken, foreign or newer-schema database gives empty answers, never an exception (an
unknown tier name is a caller's bug: ValueError). The tiers' retention comes from the settings
passed in (configured_tiers; default_tiers() for tests and seeding): importing the history never
loads the configuration. A bucket is written when its minute has ended (the open minute lives in
the sampler's memory only: the API merges the RAM ring for it), an hour once it has ended.

On disk (schema 2, database.py): a table per tier with one row per bucket start, holding every
sensor's aggregate of that bucket packed in one zlib-compressed BLOB (packed.py), and a table of
sensor ids. A minute is one row appended, not a row per sensor; pruning deletes a bounded step of
the oldest rows. 1 KiB pages, WAL, synchronous=NORMAL: a power cut never corrupts the file and
can lose the commits not yet written back (about the last 30 s; at most the 30 since the last
checkpoint) plus the open minute. `make bench-history` (256 sensors, full retention; write_bytes
of the process, the database, its WAL and its -shm flushed each simulated minute): 56 MiB
written a day (the issue's target: 64), 129 MiB at full retention (target: 500; at most about
320 MiB for values that do not compress at all). An older-schema file is moved aside as
`history.db.schema-<n>-<UTC time>` (schema 1 was never released), another program's database as
`history.db.foreign-<UTC time>`, untouched (database.py). Minutes the writer cannot write are also
saved in the run directory and taken back by the next sampler (pending.py).

`python -m frostserver.history.seed --db PATH --days N --sensors N` fills a database with
synthetic days in seconds (tests, benchmarks).
"""

from .buckets import TIER_SECONDS, Bucket, Tier, configured_tiers, default_tiers
from .database import HISTORY_FILE, SCHEMA_VERSION
from .reader import HistoryReader

__all__ = [
    "HISTORY_FILE",
    "SCHEMA_VERSION",
    "TIER_SECONDS",
    "Bucket",
    "HistoryReader",
    "Tier",
    "configured_tiers",
    "default_tiers",
]
