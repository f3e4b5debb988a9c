"""The sampler process with the history on: its counters say so, and stopping keeps the open minute."""

from __future__ import annotations

import signal
import sqlite3

import pytest
from test_sampler import start_sampler
from waiting import PATIENCE, eventually

import chips
from frostserver.store.counters import HistoryCounters
from frostserver.history import HistoryReader
from frostserver.store.reader import StoreReader


@pytest.fixture
def tree(tmp_path):
    chips.build_zoo(tmp_path / "sys", ("coretemp",))
    return tmp_path


def test_the_sampler_records_history_and_writes_the_open_minute_when_stopped(tree):
    process = start_sampler(tree, FROST_HISTORY_DIR=str(tree / "history"))
    try:
        store = StoreReader(tree / "run")
        counters = eventually(lambda: (c := store.counters.current()) is not None and c.samples >= 2 and c, "samples")
        assert counters.history == HistoryCounters("ok", write_errors=0, pending_minutes=0, dropped_minutes=0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(PATIENCE) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stderr.close()
    with sqlite3.connect(tree / "history" / "history.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    answer = HistoryReader(tree / "history").buckets("minute", None, 0, 2**40)
    [bucket, *_] = answer["coretemp-isa-0000/temp1"]
    assert bucket.count >= 1 and bucket.min == 45.0  # the minute that was open when it stopped


def test_without_a_history_dir_the_history_is_off(tree):
    process = start_sampler(tree)
    try:
        store = StoreReader(tree / "run")
        counters = eventually(lambda: (c := store.counters.current()) is not None and c.samples >= 1 and c, "a sample")
        assert counters.history is None  # off
    finally:
        process.kill()
        process.wait()
        process.stderr.close()


def test_a_sampler_that_cannot_write_the_history_leaves_its_minutes_in_the_run_directory(tree):
    from frostserver.history.pending import PENDING_FILE, decode

    (tree / "not-a-directory").write_text("")  # the history cannot be created under it
    process = start_sampler(tree, FROST_HISTORY_DIR=str(tree / "not-a-directory" / "history"))
    try:
        store = StoreReader(tree / "run")
        counters = eventually(lambda: (c := store.counters.current()) is not None and c.samples >= 2 and c, "samples")
        assert counters.history is not None and counters.history.status == "degraded"
        process.send_signal(signal.SIGTERM)
        assert process.wait(PATIENCE) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stderr.close()
    minutes = decode((tree / "run" / PENDING_FILE).read_bytes())  # every minute it sampled, the open one included
    assert sum(rows["coretemp-isa-0000/temp1"].count for _, rows in minutes) >= 2
