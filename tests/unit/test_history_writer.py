"""The history's writer: minute aggregation, hourly roll-ups, pruning in steps, clock jumps."""

from __future__ import annotations

import sqlite3
import sys

import pytest
from history_helpers import DAY, T0, Feeder, sample, sensor

from frostserver.store.counters import HistoryCounters
from frostserver.history import Bucket, HistoryReader, Tier
from frostserver.history.aggregate import Aggregate, MinuteAggregator
from frostserver.history.packed import decode, encode
from frostserver.history.writer import PRUNE_ROWS
from frostserver.model import Reading


def rows(directory, table="minute"):
    """Return (start, sensor id, low, high, total, count, worst) of every bucket of a tier, in order."""
    with sqlite3.connect(directory / "history.db") as db:
        names = dict(db.execute("SELECT key, id FROM sensors"))
        found = db.execute(f"SELECT start, buckets FROM {table} ORDER BY start").fetchall()
    out = []
    for start, blob in found:
        out += sorted((start, names[key], *row) for key, row in decode(blob).rows().items() if key in names)
    return out


def row_count(directory, table="minute"):
    with sqlite3.connect(directory / "history.db") as db:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_an_aggregate_keeps_min_max_sum_count_and_the_worst_status():
    aggregate = Aggregate()
    for value, status in ((3.0, 0), (None, 4), (1.0, 1), (float("nan"), 0), (2.0, 0)):
        aggregate.add(value, status)
    assert aggregate.row() == (1.0, 3.0, 6.0, 3, 4)


def test_the_aggregator_closes_a_minute_when_a_sample_lands_in_another():
    aggregator = MinuteAggregator()
    aggregator.add(T0 + 1, sample(temp1=1.0))
    aggregator.add(T0 + 59.9, sample(temp1=3.0, temp2=(None, "fault")))
    assert aggregator.closed == []
    aggregator.add(T0 + 60, [(sensor("chip-isa-0000/temp9", ignored=True), Reading(9.0))])
    [(start, closed)] = aggregator.closed
    assert start == T0
    assert closed["chip-isa-0000/temp1"].row() == (1.0, 3.0, 4.0, 2, 0)
    assert closed["chip-isa-0000/temp2"].row() == (None, None, 0.0, 0, 3)
    assert aggregator.open == {}  # lm-sensors' ignored sensors stay out of the history


def test_each_minute_is_written_as_the_next_opens_and_read_back_as_buckets(tmp_path):
    feeder = Feeder(tmp_path)
    end = feeder.run(T0, 180)  # three minutes; the third is still open
    assert [row[:2] for row in rows(tmp_path)] == [
        (T0, "chip-isa-0000/temp1"),
        (T0, "chip-isa-0000/temp2"),
        (T0 + 60, "chip-isa-0000/temp1"),
        (T0 + 60, "chip-isa-0000/temp2"),
    ]
    answer = HistoryReader(tmp_path).buckets("minute", ["chip-isa-0000/temp1"], T0, end)
    [first, second] = answer["chip-isa-0000/temp1"]
    assert (first.start, first.seconds, first.count, first.worst_status) == (T0, 60, 6, "ok")
    assert (first.min, first.max, first.mean) == (20.0, 25.0, pytest.approx(22.5))
    assert second.start == T0 + 60
    assert feeder.writer.state() == HistoryCounters("ok", write_errors=0, pending_minutes=0, dropped_minutes=0)


def test_an_ended_hour_is_rolled_up_from_its_minutes(tmp_path):
    feeder = Feeder(tmp_path)
    feeder.run(T0, 3600 + 120)
    [temp1, temp2] = rows(tmp_path, "hour")
    assert temp1 == (T0, "chip-isa-0000/temp1", 20.0, 25.0, pytest.approx(360 * 22.5), 360, 0)
    assert temp2[1:] == ("chip-isa-0000/temp2", 30.0, 30.0, 360 * 30.0, 360, 0)
    reader = HistoryReader(tmp_path)
    assert reader.span("hour") == (T0, T0)
    assert reader.span("minute") == (T0, T0 + 3600)  # the minute at T0 + 3660 is still open
    assert reader.buckets("hour", None, T0, T0 + 3600)["chip-isa-0000/temp2"][0].mean == 30.0


def test_closing_writes_the_open_minute_and_a_restart_merges_into_it(tmp_path):
    feeder = Feeder(tmp_path)
    feeder.run(T0, 30)  # 3 samples of minute T0, none written yet
    feeder.writer.close()
    again = Feeder(tmp_path)
    again.run(T0 + 30, 30)  # 3 more of the same minute
    again.writer.close()
    [temp1, _] = rows(tmp_path)
    assert temp1 == (T0, "chip-isa-0000/temp1", 20.0, 25.0, pytest.approx(135.0), 6, 0)
    # The partial hour rolled up at close is recomputed whole after the restart, never added twice.
    assert rows(tmp_path, "hour")[0][5] == 6


def test_pruning_deletes_in_bounded_steps(tmp_path):
    tiers = (Tier("minute", 60, 1 * DAY), Tier("hour", 3600, 2 * DAY))
    feeder = Feeder(tmp_path, tiers)
    many = {f"t{n}": float(n) for n in range(200)}
    feeder.run(T0, DAY, step=60, values=lambda at: sample(**many))
    before = row_count(tmp_path)
    assert before >= 1439  # one row a minute, 200 sensors in each
    # Shorten the retention to an hour: the excess goes a step per write, never in one DELETE.
    feeder.writer.minute = Tier("minute", 60, 3600)
    feeder.writer.tiers = (feeder.writer.minute, feeder.writer.hour)
    sizes = [before]
    for _ in range(3):
        feeder.run(T0 + DAY + 60 * (len(sizes) - 1), 60, step=60, values=lambda at: sample(**many))
        sizes.append(row_count(tmp_path))
    deleted = [a - b + 1 for a, b in zip(sizes, sizes[1:], strict=False)]  # each write adds a minute
    assert deleted == [PRUNE_ROWS] * 3, deleted


def test_a_row_packs_every_sensor_and_keeps_none_and_large_counts():
    rows = {3: (1.5, 2.25, 7.0, 4, 0), 1: (None, None, 0.0, 0, 4), 70000: (-1e300, 1e300, 0.5, 2**31, 2)}
    packed = decode(encode(rows))
    assert packed.keys == (1, 3, 70000)
    assert packed.rows() == rows


def test_a_damaged_row_spoils_only_its_own_bucket(tmp_path):
    feeder = Feeder(tmp_path)
    end = feeder.run(T0, 240)
    with sqlite3.connect(tmp_path / "history.db") as db:
        db.execute("UPDATE minute SET buckets = x'00' WHERE start = ?", (T0 + 60,))
    answer = HistoryReader(tmp_path).buckets("minute", None, T0, end)
    assert [b.start for b in answer["chip-isa-0000/temp1"]] == [T0, T0 + 120]


def test_a_day_of_64_sensors_is_read_from_one_row_a_minute(tmp_path, monkeypatch):
    # The API's case, judged by the work it does rather than by how long a shared machine takes
    # (scripts/bench_history.py times it): one query for the rows, and a few Python calls per row
    # of 64 buckets, never one per bucket (92,160 of them) nor a query per bucket.
    feeder = Feeder(tmp_path, (Tier("minute", 60, 2 * DAY), Tier("hour", 3600, 2 * DAY)))
    many = {f"t{n}": 20.0 + n / 7 for n in range(256)}
    feeder.run(T0, 3 * 60, step=60, values=lambda at: sample(**many))
    with sqlite3.connect(tmp_path / "history.db") as db:  # a day of rows, copied from the first
        blob = db.execute("SELECT buckets FROM minute WHERE start = ?", (T0,)).fetchone()[0]
        db.executemany("INSERT OR REPLACE INTO minute VALUES (?, ?)", ((T0 + 60 * n, blob) for n in range(1440)))
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args, **kwargs):
        db = connect(*args, **kwargs)
        db.set_trace_callback(statements.append)
        return db

    monkeypatch.setattr(sqlite3, "connect", traced)
    reader = HistoryReader(tmp_path)
    wanted = [f"chip-isa-0000/t{n}" for n in range(0, 256, 4)]
    reader.buckets("minute", wanted[:1], T0, T0 + 60)  # opens the connection
    statements.clear()
    calls = [0]

    def count(frame, event, arg):
        calls[0] += event == "call"  # a Python function called (or a generator resumed)

    sys.setprofile(count)
    try:
        answer = reader.buckets("minute", wanted, T0, T0 + DAY)
    finally:
        sys.setprofile(None)
    assert len(answer) == 64 and {len(buckets) for buckets in answer.values()} == {1440}
    assert answer["chip-isa-0000/t4"][5] == Bucket(T0 + 300, 60.0, 20.0 + 4 / 7, 20.0 + 4 / 7, 20.0 + 4 / 7, 1, "ok")
    assert len([s for s in statements if "FROM minute" in s]) == 1, statements
    assert calls[0] <= 10 * 1440, f"{calls[0]} Python calls for 1440 rows of 64 buckets"


def test_both_tiers_age_out_and_a_vanished_sensor_with_them(tmp_path):
    tiers = (Tier("minute", 60, 1 * DAY), Tier("hour", 3600, 1 * DAY))
    feeder = Feeder(tmp_path, tiers)
    end = feeder.run(T0, 7200, step=60, values=lambda at: sample(gone=1.0))
    reader = HistoryReader(tmp_path)
    assert reader.sensor_ids() == ["chip-isa-0000/gone"]
    # The sensor vanishes; its buckets stay queryable by id until they age out.
    end = feeder.run(end, DAY, step=60, values=lambda at: sample(kept=2.0))
    assert "chip-isa-0000/gone" in reader.buckets("hour", None, 0, end)
    feeder.run(end, DAY, step=60, values=lambda at: sample(kept=2.0))
    assert reader.sensor_ids() == ["chip-isa-0000/kept"]
    assert reader.span("minute")[0] >= T0 + DAY


def test_a_clock_that_jumps_back_merges_into_its_buckets_without_duplicates(tmp_path):
    feeder = Feeder(tmp_path)
    feeder.run(T0, 3600 + 120, step=10, values=lambda at: sample(temp1=10.0))
    # Set back an hour: the same minutes again, with other values.
    feeder.run(T0, 600, step=10, values=lambda at: sample(temp1=(99.0, "alarm")))
    feeder.run(T0 + 7200, 120, step=10, values=lambda at: sample(temp1=10.0))
    minutes = rows(tmp_path)
    assert len(minutes) == len({row[0] for row in minutes})  # one row per minute and sensor
    first = minutes[0]
    assert first == (T0, "chip-isa-0000/temp1", 10.0, 99.0, 6 * 10.0 + 6 * 99.0, 12, 1)
    hour = rows(tmp_path, "hour")[0]
    assert hour[5] == 360 + 60  # rolled up again, whole, once the jumped-back minutes were written
    assert hour[3] == 99.0


def test_a_clock_that_boots_in_1970_then_jumps_forward_leaves_nothing_stuck(tmp_path):
    feeder = Feeder(tmp_path)
    feeder.run(0, 300, values=lambda at: sample(temp1=1.0))  # boot: the RTC says 1970
    end = feeder.run(T0, 3600 + 120, values=lambda at: sample(temp1=2.0))  # NTP
    feeder.run(end, 900 + 60, values=lambda at: sample(temp1=2.0))  # a pruning batch later
    reader = HistoryReader(tmp_path)
    assert reader.span("minute")[0] == T0  # the 1970 minutes aged out
    assert reader.span("hour") is not None and reader.span("hour")[0] >= T0
    assert feeder.writer.status == "ok"


def test_a_clock_flapping_between_minutes_costs_at_most_one_transaction_a_minute(tmp_path):
    feeder = Feeder(tmp_path)
    writes = []
    real_write = feeder.writer.write
    feeder.writer.write = lambda: writes.append(1) or real_write()
    for n in range(60):  # one minute of samples, alternating between two minutes
        feeder.feed(T0 + 60 * (n % 2), sample(temp1=float(n)))
        feeder.monotonic.now += 1
    assert len(writes) <= 2
    feeder.writer.close()
    assert sum(row[5] for row in rows(tmp_path)) == 60  # and nothing was lost
