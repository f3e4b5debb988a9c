"""The history when things go wrong: full disk, corrupt file, newer schema, a crash mid-write."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from history_helpers import T0, Feeder, sample

from frostserver.history import HistoryReader
from frostserver.history.database import APPLICATION_ID, schema
from frostserver.history.buckets import default_tiers
from frostserver.history.packed import encode
from frostserver.history.seed import main as seed_main
from frostserver.history.seed import sensor_ids
from frostserver.history.writer import KILL_HOOK, MAX_PENDING_MINUTES
from frostserver.store.counters import HistoryCounters
from frostserver.config import ConfigError, SettingsError, load_settings

APP = Path(__file__).resolve().parents[2] / "services" / "app"


def minute_starts(path: Path) -> list[int]:
    with sqlite3.connect(path / "history.db") as db:
        return [row[0] for row in db.execute("SELECT DISTINCT start FROM minute ORDER BY start")]


def history_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "frostserver.history" and r.levelno >= logging.WARNING]


@pytest.fixture
def tiny_volume(tmp_path):
    """A 512 KiB tmpfs: a disk that fills up (needs root, as the test machine and CI run)."""
    volume = tmp_path / "volume"
    volume.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(volume)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield volume
    subprocess.run(["umount", "-l", str(volume)], check=False)


def fill(volume: Path) -> Path:
    """Fill the volume to the last byte with a file; return it."""
    filler = volume / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 1024)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_degrades_the_history_keeps_minutes_in_memory_and_recovers(tiny_volume, caplog):
    caplog.set_level(logging.INFO, "frostserver.history")
    feeder = Feeder(tiny_volume)
    many = {f"t{n}": float(n) for n in range(64)}
    end = feeder.run(T0, 180, values=lambda at: sample(**many))
    written = minute_starts(tiny_volume)
    filler = fill(tiny_volume)
    end = feeder.run(end, 600, values=lambda at: sample(**many))  # ten minutes on a full disk
    state = feeder.writer.state()
    assert state.status == "degraded"
    assert state.write_errors >= 2  # one a minute, retried
    assert state.pending_minutes >= 9
    assert len(history_lines(caplog)) == 1 and "fails" in history_lines(caplog)[0]
    filler.unlink()
    feeder.run(end, 120, values=lambda at: sample(**many))
    assert feeder.writer.state().status == "ok"
    lines = history_lines(caplog)
    assert len(lines) == 2 and "works again (0 minute(s) lost" in lines[1]
    # Nothing lost: every minute but the open one is on disk.
    assert minute_starts(tiny_volume) == list(range(written[0], int(end) + 60, 60))


def test_a_restart_while_the_disk_is_full_loses_none_of_the_minutes_waiting(tiny_volume, tmp_path, caplog):
    from frostserver.history.pending import PENDING_FILE

    caplog.set_level(logging.INFO, "frostserver.history")
    run = tmp_path / "run"  # the run directory: a tmpfs of its own in the container
    run.mkdir()
    many = {f"t{n}": float(n) for n in range(64)}
    feeder = Feeder(tiny_volume, pending_dir=run)
    end = feeder.run(T0, 180, values=lambda at: sample(**many))
    written = minute_starts(tiny_volume)
    filler = fill(tiny_volume)
    feeder.run(end, 600, values=lambda at: sample(**many))  # ten minutes on a full disk
    feeder.writer.close()  # the sampler stops (SIGTERM): its open minute cannot be written either
    waiting = feeder.writer.state().pending_minutes
    assert waiting == 11 and (run / PENDING_FILE).exists()  # the minute open at the fill, then ten
    assert not [p.name for p in (*run.iterdir(), *tiny_volume.iterdir()) if p.name.endswith(".tmp")]
    filler.unlink()
    caplog.clear()
    restarted = Feeder(tiny_volume, pending_dir=run)  # the supervisor's new sampler, same run directory
    assert restarted.writer.state().pending_minutes == waiting
    [line] = history_lines(caplog)
    assert f"took back {waiting} minute(s)" in line
    restarted.run(end + 600, 120, values=lambda at: sample(**many))
    assert restarted.writer.state() == HistoryCounters("ok", write_errors=0, pending_minutes=0, dropped_minutes=0)
    assert not (run / PENDING_FILE).exists()
    # Every minute from before the restart is on disk, once: six samples each, never merged twice.
    assert minute_starts(tiny_volume) == list(range(written[0], int(end) + 660, 60))
    counts = {b.count for b in HistoryReader(tiny_volume).buckets("minute", ["chip-isa-0000/t1"], 0, 2e9)[
        "chip-isa-0000/t1"]}
    assert counts == {6}


def test_a_damaged_file_of_saved_minutes_is_removed_and_said_once(tmp_path, caplog):
    from frostserver.history.pending import PENDING_FILE, decode, encode

    caplog.set_level(logging.INFO, "frostserver.history")
    for garbage in (b"{not json", b'{"version": 9}', b'{"format": 1}',
                    b'{"version": 1, "minutes": [[1, {"a": [1, 2, "x", 1, 0]}]]}'):
        (tmp_path / PENDING_FILE).write_bytes(garbage)
        caplog.clear()
        feeder = Feeder(tmp_path / "history", pending_dir=tmp_path)
        assert feeder.writer.state().pending_minutes == 0 and not (tmp_path / PENDING_FILE).exists()
        [line] = history_lines(caplog)
        assert PENDING_FILE in line and "removing it" in line
    feeder = Feeder(tmp_path / "history")
    feeder.run(T0, 90)
    minutes = feeder.writer.aggregator.closed + [(feeder.writer.aggregator.open_start, feeder.writer.aggregator.open)]
    assert [(start, {sid: a.row() for sid, a in rows.items()}) for start, rows in decode(encode(minutes))] == [
        (start, {sid: a.row() for sid, a in rows.items()}) for start, rows in minutes]


def test_an_unwritable_directory_keeps_at_most_an_hour_of_minutes_and_sampling_goes_on(tmp_path, caplog):
    caplog.set_level(logging.INFO, "frostserver.history")
    (tmp_path / "file").write_text("not a directory")
    feeder = Feeder(tmp_path / "file" / "history")
    assert feeder.writer.status == "degraded"
    feeder.run(T0, 70 * 60 + 30, step=30)
    state = feeder.writer.state()
    assert state.pending_minutes == MAX_PENDING_MINUTES
    assert state.dropped_minutes >= 9
    assert state.write_errors >= 60
    assert len(history_lines(caplog)) == 1


def test_a_corrupt_file_is_moved_aside_and_a_fresh_one_started(tmp_path, caplog):
    caplog.set_level(logging.INFO, "frostserver.history")
    garbage = os.urandom(8192)
    (tmp_path / "history.db").write_bytes(garbage)
    (tmp_path / "history.db-wal").write_bytes(os.urandom(4096))
    assert HistoryReader(tmp_path).sensor_ids() == []  # no exception for a reader either
    caplog.clear()
    feeder = Feeder(tmp_path)
    assert feeder.writer.status == "ok"
    [aside] = tmp_path.glob("history.db.corrupt-*[0-9]Z")
    assert aside.read_bytes() == garbage
    [line] = history_lines(caplog)
    assert "moved it aside" in line and aside.name in line
    feeder.run(T0, 120)
    assert minute_starts(tmp_path) == [T0]


def test_a_database_of_a_newer_schema_is_refused_and_never_written(tmp_path, caplog):
    caplog.set_level(logging.INFO, "frostserver.history")
    with sqlite3.connect(tmp_path / "history.db") as db:  # a newer FrostServer's: its application id
        db.execute("CREATE TABLE future (x)")
        db.execute("PRAGMA user_version = 99")
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    before = (tmp_path / "history.db").read_bytes()
    feeder = Feeder(tmp_path)
    feeder.run(T0, 300)  # sampling goes on
    feeder.writer.close()
    assert feeder.writer.status == "degraded"
    assert (tmp_path / "history.db").read_bytes() == before
    [line] = history_lines(caplog)
    assert "schema version 99" in line and "newer" in line
    assert HistoryReader(tmp_path).sensor_ids() == []
    assert HistoryReader(tmp_path).span("minute") is None


def test_a_database_of_the_older_layout_is_moved_aside_and_a_fresh_one_started(tmp_path, caplog):
    caplog.set_level(logging.INFO, "frostserver.history")
    with sqlite3.connect(tmp_path / "history.db") as db:  # schema 1: a row per sensor and minute
        db.execute("CREATE TABLE minute (start INTEGER, sensor INTEGER, low REAL)")
        db.execute("PRAGMA user_version = 1")
    old = (tmp_path / "history.db").read_bytes()
    feeder = Feeder(tmp_path)
    feeder.run(T0, 120)
    assert feeder.writer.status == "ok"
    [aside] = tmp_path.glob("history.db.schema-1-*[0-9]Z")
    assert aside.read_bytes() == old
    [line] = history_lines(caplog)
    assert "schema version 1" in line and aside.name in line
    assert minute_starts(tmp_path) == [T0]


def make_database(path: Path, version: int, *statements: str, application: int = 0) -> bytes:
    """Write a database of these tables and this user_version (rollback journal, as most programs); return its bytes."""
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {version}")
        db.execute(f"PRAGMA application_id = {application}")
    db.close()
    return path.read_bytes()


OUR_TABLES = tuple(schema(default_tiers()))


@pytest.mark.parametrize("version, statements, application", [
    # The file: user_version 0 with tables of its own, one of them named like ours.
    (0, ("CREATE TABLE minute (id INTEGER, note TEXT)", "CREATE TABLE invoices (number INTEGER, total REAL)"), 0),
    # Tables named like ours with other columns, at user_version 0 and at ours.
    (0, ("CREATE TABLE sensors (key INTEGER, id TEXT)", "CREATE TABLE minute (start INTEGER, buckets BLOB)",
         "CREATE TABLE hour (start INTEGER, buckets BLOB)"), 0),
    (2, ("CREATE TABLE sensors (key INTEGER, name TEXT, last_seen INTEGER)",
         "CREATE TABLE minute (start INTEGER PRIMARY KEY, buckets BLOB NOT NULL)",
         "CREATE TABLE hour (start INTEGER PRIMARY KEY, buckets BLOB NOT NULL)"), 0),
    # Our very tables with one more of someone else's.
    (2, (*OUR_TABLES, "CREATE TABLE notes (text TEXT)"), 0),
    # An unknown version, and another application's id on our very schema.
    (7, ("CREATE TABLE things (x)",), 0),
    (-3, (), 0),
    (2, OUR_TABLES, 0x5042_4152),
], ids=["version-0-own-tables", "version-0-our-names", "version-2-other-columns", "one-table-more",
        "unknown-version", "negative-version", "another-application-id"])
def test_a_foreign_database_is_moved_aside_untouched_and_a_fresh_one_started(tmp_path, caplog, version, statements,
                                                                             application):
    caplog.set_level(logging.INFO, "frostserver.history")
    foreign = make_database(tmp_path / "history.db", version, *statements, application=application)
    assert HistoryReader(tmp_path).sensor_ids() == []  # the workers do not read it either
    caplog.clear()
    feeder = Feeder(tmp_path)
    assert feeder.writer.status == "ok"
    [aside] = tmp_path.glob("history.db.foreign-*[0-9]Z")
    assert aside.read_bytes() == foreign  # never stamped, never switched to WAL, never given our tables
    assert not list(tmp_path.glob("history.db.foreign-*-wal"))
    [line] = history_lines(caplog)
    assert "another program's" in line and f"user_version {version}" in line and aside.name in line
    feeder.run(T0, 120)
    assert minute_starts(tmp_path) == [T0]
    with sqlite3.connect(tmp_path / "history.db") as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_an_empty_file_is_made_ours_and_so_is_our_schema_from_before_the_application_id(tmp_path, caplog):
    caplog.set_level(logging.INFO, "frostserver.history")
    (tmp_path / "history.db").write_bytes(b"")  # created, nothing written yet
    Feeder(tmp_path).run(T0, 120)
    assert not history_lines(caplog) and minute_starts(tmp_path) == [T0]
    older = tmp_path / "older"
    older.mkdir()
    make_database(older / "history.db", 2, *OUR_TABLES)
    with sqlite3.connect(older / "history.db") as db:
        db.execute("INSERT INTO minute (start, buckets) VALUES (?, ?)", (T0 - 60, encode({})))
    db.close()
    Feeder(older).run(T0, 120)
    assert not history_lines(caplog) and not list(older.glob("history.db.*-*Z"))
    assert minute_starts(older) == [T0 - 60, T0]  # kept, and written to
    with sqlite3.connect(older / "history.db") as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID  # now stamped as ours


KILLED_WRITER = """
import sys
from history_helpers import T0, Feeder
directory = sys.argv[1]
first = Feeder(directory, environ={})
first.run(T0, 180)  # minutes T0 and T0 + 60 written, T0 + 120 open
first.writer.close()  # writes T0 + 120
feeder = Feeder(directory)  # with the hook from the environment
feeder.run(T0 + 180, 70)  # minute T0 + 180 is written as T0 + 240 opens: killed before COMMIT
print("not killed")
"""


def test_a_kill_inside_the_write_transaction_loses_at_most_that_minute(tmp_path):
    tests = Path(__file__).resolve().parents[1]
    environment = {**os.environ, "PYTHONPATH": f"{APP}:{tests}:{tests / 'unit'}", KILL_HOOK: "1"}
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(tmp_path)], env=environment,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    assert "not killed" not in done.stdout
    assert (tmp_path / "history.db-wal").exists()  # the uncommitted frames were there
    with sqlite3.connect(tmp_path / "history.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    # T0 + 120 was closed at close() of the first writer; T0 + 180 died with the transaction.
    assert minute_starts(tmp_path) == [T0, T0 + 60, T0 + 120]


def test_a_reader_answers_empty_without_a_database_and_follows_a_replaced_one(tmp_path):
    reader = HistoryReader(tmp_path)
    assert (reader.buckets("minute", None, 0, 2e9), reader.span("hour"), reader.sensor_ids()) == ({}, None, [])
    with pytest.raises(ValueError, match="unknown tier"):
        reader.buckets("day", None, 0, 1)
    Feeder(tmp_path).run(T0, 120)
    assert reader.span("minute") == (T0, T0)
    os.replace(tmp_path / "history.db", tmp_path / "old.db")
    for name in ("history.db-wal", "history.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    Feeder(tmp_path).run(T0 + 600, 120)
    assert reader.span("minute") == (T0 + 600, T0 + 600)


def test_a_reader_serves_many_threads_while_the_writer_writes(tmp_path):
    feeder = Feeder(tmp_path)
    feeder.run(T0, 120)
    reader = HistoryReader(tmp_path)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(50):
                answer = reader.buckets("minute", ["chip-isa-0000/temp1"], T0, T0 + 86400)
                assert answer["chip-isa-0000/temp1"][0].start == T0
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    feeder.run(T0 + 120, 600)
    for thread in threads:
        thread.join()
    assert errors == []
    # Each query borrowed a connection and gave it back: a few are kept, not one per thread that read.
    from frostserver.history.reader import IDLE_CONNECTIONS

    assert 1 <= len(reader._idle) <= IDLE_CONNECTIONS


def test_seed_fills_days_in_seconds(tmp_path):
    database = tmp_path / "seeded.db"
    assert seed_main(["--db", str(database), "--days", "3", "--sensors", "4", "--end", str(T0), "--quiet"]) == 0
    reader = HistoryReader(database)
    assert reader.sensor_ids() == sorted(sensor_ids(4))
    assert reader.span("minute") == (T0 - 3 * 86400, T0 - 60)
    assert reader.span("hour") == (T0 - 3 * 86400, T0 - 3600)
    hours = reader.buckets("hour", None, 0, T0)
    assert {len(buckets) for buckets in hours.values()} == {72}


def test_the_history_settings_are_validated_like_the_rest(tmp_path):
    config = tmp_path / "frost.toml"
    config.write_text("[history]\nminute_days = 7\nhour_days = 365\n")
    settings = load_settings({"FROST_CONFIG": str(config), "FROST_HISTORY_DIR": str(tmp_path)})
    assert (settings.history_minute_days, settings.history_hour_days, settings.history_dir) == (7, 365, tmp_path)
    assert load_settings({}).history_dir is None  # no history unless told where
    for text, message in (
        ("[history]\nminute_days = 0.5\n", "history.minute_days: must be a number between 1 and 90, got 0.5"),
        ("[history]\nminute_days = 30\nhour_days = 20\n", "history.hour_days: must be at least history.minute_days"),
        ("[history]\nminutes = 3\n", "history.minutes: unknown key; did you mean 'minute_days'?"),
    ):
        config.write_text(text)
        with pytest.raises(ConfigError) as caught:
            load_settings({"FROST_CONFIG": str(config)})
        assert message in str(caught.value)
    with pytest.raises(SettingsError):
        load_settings({"FROST_HISTORY_DIR": str(tmp_path)}, {"history_minute_days": 100})


def test_the_forecasts_backfill_keeps_no_connection_that_would_keep_the_wal(tmp_path):
    from frostserver.sampler import MinuteBackfill

    feeder = Feeder(tmp_path)
    feeder.run(T0, 600)
    backfill = MinuteBackfill(tmp_path, 3600.0)
    assert backfill("chip-isa-0000/temp1", T0 + 600)  # the minutes written so far
    feeder.writer.close()
    # The writer's close is the last one: SQLite removes the WAL, so a database file replaced
    # while the app is stopped (tests/integration/test_history_storage.py) is never read through it.
    assert not (tmp_path / "history.db-wal").exists()
