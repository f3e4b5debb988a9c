"""The history reader's fold gives an answer the same points as folding its Buckets (the reference, fold_buckets)."""
from __future__ import annotations

import math
import sqlite3
from array import array

import pytest

from frostserver.history import HistoryReader
from frostserver.history.packed import decode, encode
from frostserver.history.seed import seed, sensor_ids
from frostserver.history.answer import means
from frostserver.history.plan import Part, bucket_range

from history_helpers import Feeder, fold_buckets, sample


def same(a, b):
    return len(a) == len(b) and all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y) for x, y in zip(a, b))


@pytest.mark.parametrize(("tier", "step"), [("minute", 60.0), ("minute", 120.0), ("minute", 900.0), ("hour", 7200.0)])
def test_fold_equals_folding_the_buckets(tmp_path, tier, step):
    seed(tmp_path / "history.db", 2, 8)
    reader = HistoryReader(tmp_path / "history.db")
    oldest, newest = reader.span(tier)
    ids = sensor_ids(8)[:5] + ["no/such-sensor"]
    folded, where = _fold(reader, ids, Part(tier, math.floor(oldest / step) * step + step, newest, step, raw=False))
    assert set(folded) == set(ids)
    _assert_folds_to(folded, _expected(reader, ids, where), ids)
    assert all(math.isnan(v) for v in folded["no/such-sensor"][0])
    assert any(not math.isnan(v) for v in folded[ids[0]][0])  # the seeded ones have values


def test_fold_without_a_database_gives_nulls(tmp_path):
    folded = HistoryReader(tmp_path / "history.db").fold("minute", ["a/b"], 0, 600, 0, 60, 10)
    assert all(math.isnan(v) for v in folded["a/b"][0]) and list(folded["a/b"][3]) == [0.0] * 10


def _fold(reader, ids, part):
    """Fold a part's points as the API does; return them and where they are (for _expected)."""
    times = part.grid()
    start, stop = bucket_range(part, times)
    return reader.fold(part.source, ids, start, stop, times[0], part.step, len(times)), (part, times, start, stop)


def _fold_day(reader, ids, end, step=120.0):
    """Fold the day before `end` as the API does at the default step (points aligned to the step)."""
    return _fold(reader, ids, Part("minute", math.floor((end - 86400) / step) * step, end, step, raw=False))


def _expected(reader, ids, where):
    """Fold the same points from the reader's Buckets, the plain way (the reference)."""
    part, times, start, stop = where
    return fold_buckets(reader.buckets(part.source, ids, start, stop), ids, start, stop, times[0], part.step, len(times))


def _assert_folds_to(folded, expected, ids):
    for sid in ids:
        low, high, total, weight = folded[sid]
        low_expected, high_expected, total_expected, weight_expected = expected[sid]
        assert same(low, low_expected) and same(high, high_expected), sid
        assert list(weight) == list(weight_expected), sid
        # Sums of means times counts (the reference) and of stored sums (fold) differ in the last digits.
        assert same(means(total, weight), means(total_expected, weight_expected)), sid


def test_a_second_fold_takes_whole_blocks_from_the_cache_and_gives_the_same_points(tmp_path):
    end = 1_700_000_000 // 3600 * 3600
    seed(tmp_path / "history.db", 2, 8, end=end)
    reader = HistoryReader(tmp_path / "history.db")
    ids = sensor_ids(8)[1::2]
    first, where = _fold_day(reader, ids, end)
    assert reader._blocks.hits == 0 and reader._blocks.misses > 20  # 721 points: 22 whole blocks of 32
    second, _ = _fold_day(reader, ids, end)
    assert reader._blocks.hits == reader._blocks.misses  # every whole block again; the ends folded anew
    assert all(same(a, b) for sid in ids for a, b in zip(second[sid], first[sid], strict=True))
    _assert_folds_to(second, _expected(reader, ids, where), ids)
    # Another order of the same sensors, or a range moved by minutes (the dashboard's), finds the same blocks.
    for moved in (60, 180, 3600):
        hits = reader._blocks.hits
        _fold_day(reader, ids[::-1], end - moved)
        assert reader._blocks.hits >= hits + 20, moved


def test_a_cached_block_is_folded_again_when_a_row_of_it_changes(tmp_path):
    """A minute written late (a clock set back) or damaged: the cache never serves the old points."""
    end = 1_700_000_000 // 3600 * 3600
    seed(tmp_path / "history.db", 2, 8, end=end)
    reader = HistoryReader(tmp_path / "history.db")
    ids = sensor_ids(8)
    _fold_day(reader, ids, end)
    changed = end - 6 * 3600  # well inside the day: in a whole block
    with sqlite3.connect(tmp_path / "history.db") as db:
        keys = dict(db.execute("SELECT key, id FROM sensors"))
        held = decode(db.execute("SELECT buckets FROM minute WHERE start = ?", (changed,)).fetchone()[0]).rows()
        key = next(k for k, sid in keys.items() if sid == ids[0])
        low, high, total, count, worst = held[key]
        held[key] = (-40.0, 99.0, total + 5 * 99.0, count + 5, worst)  # five late samples merged in
        db.execute("UPDATE minute SET buckets = ? WHERE start = ?", (encode(held), changed))
        db.execute("DELETE FROM minute WHERE start = ?", (changed - 3 * 3600,))  # a row gone (pruned, say)
    misses = reader._blocks.misses
    folded, where = _fold_day(reader, ids, end)
    assert reader._blocks.misses == misses + 2  # the two blocks with a changed row; the ends are never kept
    _assert_folds_to(folded, _expected(reader, ids, where), ids)
    slot = int((changed - where[1][0]) // 120)
    assert (folded[ids[0]][0][slot], folded[ids[0]][1][slot]) == (-40.0, 99.0)


def test_fold_follows_rows_of_different_sensor_sets(tmp_path):
    """A sensor plugged in mid-day: rows before it hold fewer keys; each set is unpacked on its own."""
    feeder = Feeder(tmp_path)
    start = 1_700_000_000 // 3600 * 3600
    at = feeder.run(start, 7200, step=20.0, values=lambda at: sample(temp1=20.0 + at % 7))
    end = feeder.run(at, 7200, step=20.0, values=lambda at: sample(temp1=21.0, temp2=30.0 + at % 5))
    feeder.writer.close()
    reader = HistoryReader(tmp_path)
    ids = ["chip-isa-0000/temp2", "chip-isa-0000/temp1"]
    folded, where = _fold(reader, ids, Part("minute", start, end, 300.0, raw=False))
    _assert_folds_to(folded, _expected(reader, ids, where), ids)
    assert math.isnan(folded[ids[0]][0][0]) and folded[ids[0]][0][-2] == 30.0


def test_means_are_nan_exactly_where_nothing_was_counted():
    total, weight = array("d", [0.0, 6.0, 0.0, 9.0, 0.0]), array("d", [0.0, 2.0, 0.0, 3.0, 0.0])
    assert str(list(means(total, weight))) == "[nan, 3.0, nan, 3.0, nan]"
    assert list(means(array("d", [1.0]), array("d", [4.0]))) == [0.25] and len(means(array("d"), array("d"))) == 0
    assert list(weight) == [0.0, 2.0, 0.0, 3.0, 0.0]  # the caller's counts are left as they were


def test_a_damaged_row_spoils_only_its_own_bucket_in_a_fold_too(tmp_path):
    end = 1_700_000_000 // 3600 * 3600
    seed(tmp_path / "history.db", 2, 4, end=end)
    with sqlite3.connect(tmp_path / "history.db") as db:  # the first and the second minute of two points
        db.execute("UPDATE minute SET buckets = x'00' WHERE start IN (?, ?)", (end - 7200, end - 3600 + 60))
    reader = HistoryReader(tmp_path / "history.db")
    ids = sensor_ids(4)
    folded, where = _fold_day(reader, ids, end)
    _assert_folds_to(folded, _expected(reader, ids, where), ids)
    slot = int((end - 7200 - where[1][0]) // 120)
    assert folded[ids[0]][3][slot] == 60 and folded[ids[0]][3][slot + 1] == 120  # one minute of 60 samples left


def test_folded_blocks_keep_to_their_limit_dropping_the_least_recently_used():
    from frostserver.history.blocks import FoldedBlocks

    def points(n):
        column = array("d", [float(n)]) * 32
        return {"a/b": (column, column, column, column)}

    blocks = FoldedBlocks(limit=5300)  # three blocks of one sensor (1,736 bytes each), not four
    for n in range(3):
        blocks.put(("minute", 120.0, n, ()), n, points(n))
    assert blocks.get(("minute", 120.0, 0, ()), 0) is not None  # 0 is now the most recently used
    blocks.put(("minute", 120.0, 3, ()), 3, points(3))
    assert blocks.size <= 5300
    assert blocks.get(("minute", 120.0, 1, ()), 1) is None  # the least recently used went first
    assert blocks.get(("minute", 120.0, 0, ()), 0) is not None and blocks.get(("minute", 120.0, 3, ()), 3) is not None
    assert blocks.get(("minute", 120.0, 3, ()), 4) is None  # another digest: other rows
    FoldedBlocks(limit=100).put(("minute", 120.0, 0, ()), 0, points(0))  # larger than the limit: not kept


def test_fold_of_two_minutes_a_point_where_a_minute_had_no_value(tmp_path):
    """A sensor without a value for a whole minute (count 0, no min or max) beside a minute with values."""
    feeder = Feeder(tmp_path)
    start = 1_700_000_000 // 3600 * 3600

    def values(at):
        minute = int(at - start) // 60
        silent = minute % 4 == 1 or minute % 6 == 2  # the second, or the first, minute of some points
        return sample(temp1=(None, "error") if silent else 20.0 + at % 7, temp2=None if minute % 10 == 5 else 30.0)

    end = feeder.run(start, 3 * 3600, step=20.0, values=values)
    feeder.writer.close()
    reader = HistoryReader(tmp_path)
    ids = ["chip-isa-0000/temp1", "chip-isa-0000/temp2"]
    folded, where = _fold(reader, ids, Part("minute", start, end, 120.0, raw=False))
    _assert_folds_to(folded, _expected(reader, ids, where), ids)
    assert list(folded[ids[0]][3][:4]) == [3.0, 3.0, 3.0, 6.0]  # minutes 1, 2 and 5 without a value


def test_a_tier_span_is_read_from_the_ends_of_its_table_never_by_a_scan(tmp_path):
    from frostserver.history.reader import SPAN_QUERY

    end = 1_700_000_000 // 3600 * 3600
    seed(tmp_path / "history.db", 1, 2, end=end)

    def plan(db, query):
        return " ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {query}"))

    with sqlite3.connect(tmp_path / "history.db") as db:
        for tier in ("minute", "hour"):
            assert f"SCAN {tier}" not in plan(db, SPAN_QUERY.format(tier=tier))
            assert f"SCAN {tier}" in plan(db, f"SELECT min(start), max(start) FROM {tier}")  # what it was
    assert HistoryReader(tmp_path / "history.db").span("minute") == (end - 86400, end - 60)


@pytest.mark.parametrize("step", [120.0, 900.0, 7 * 86400.0, 25340280.0])
def test_a_fold_read_a_row_at_a_time_gives_the_same_points(tmp_path, monkeypatch, step):
    """Rows stream in chunks: a point whose rows are split across chunks folds as one, cached blocks or not."""
    from frostserver.history import reader as reader_module

    end = 1_700_000_000 // 3600 * 3600
    seed(tmp_path / "history.db", 2, 6, end=end)
    ids = sensor_ids(6)[1:]
    whole = HistoryReader(tmp_path / "history.db")
    part = Part("minute", math.floor((end - 2 * 86400) / step) * step, end, step, raw=False)
    expected, where = _fold(whole, ids, part)
    _assert_folds_to(expected, _expected(whole, ids, where), ids)
    for chunk, block in ((1, reader_module.BLOCK_BYTES), (3000, reader_module.BLOCK_BYTES), (3000, 5000), (1, 1)):
        monkeypatch.setattr(reader_module, "CHUNK_BYTES", chunk)  # 1: a row at a time; 3000: a few
        monkeypatch.setattr(reader_module, "BLOCK_BYTES", block)  # 1: no block is ever gathered for the cache
        for reader in (HistoryReader(tmp_path / "history.db"), whole):  # cold, then from whole's cache
            folded, _ = _fold(reader, ids, part)
            for sid in ids:
                assert all(same(a, b) for a, b in zip(folded[sid], expected[sid], strict=True)), (chunk, block, sid)


def test_what_a_fold_holds_does_not_grow_with_the_rows_it_reads(tmp_path):
    """A step of months: every minute row of the range is in one point (the issue's largest answer)."""
    import tracemalloc

    from frostserver.history.reader import BLOCK_BYTES, CHUNK_BYTES, UNPACKED_BYTES_PER_SENSOR

    end = 1_700_000_000 // 3600 * 3600
    seed(tmp_path / "history.db", 3, 64, end=end)  # 4,320 minute rows of 64 sensors
    ids = sensor_ids(64)
    part = Part("minute", 0.0, end, 25340280.0, raw=False)
    # Every row unpacked at once (as fold did): about 34 MiB here, and more with every day and sensor.
    assert 4320 * 64 * UNPACKED_BYTES_PER_SENSOR > 4 * (2 * CHUNK_BYTES + BLOCK_BYTES)
    tracemalloc.start()
    try:
        folded, _ = _fold(HistoryReader(tmp_path / "history.db"), ids, part)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * CHUNK_BYTES + BLOCK_BYTES, f"{peak / 2**20:.1f} MiB"
    assert sum(folded[ids[0]][3]) == 3 * 1440 * 60  # every sample of three days, in the one point
