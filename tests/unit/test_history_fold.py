"""The history reader's fast path (fold) gives the API the same points as folding its Buckets."""
from __future__ import annotations

import math

import pytest

from frostserver.history import HistoryReader
from frostserver.history.seed import seed, sensor_ids
from frostserver.http.history_points import Part, aggregate_buckets, bucket_range, means


class BucketsOnly:
    """The reader without its fast path: what a reader offering only buckets() gives."""

    def __init__(self, reader):
        self.reader = reader

    def buckets(self, *args):
        return self.reader.buckets(*args)


def same(a, b):
    return len(a) == len(b) and all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y) for x, y in zip(a, b))


@pytest.mark.parametrize(("tier", "step"), [("minute", 60.0), ("minute", 120.0), ("minute", 900.0), ("hour", 7200.0)])
def test_fold_equals_folding_the_buckets(tmp_path, tier, step):
    seed(tmp_path / "history.db", 2, 8)
    reader = HistoryReader(tmp_path / "history.db")
    oldest, newest = reader.span(tier)
    ids = sensor_ids(8)[:5] + ["no/such-sensor"]
    part = Part(tier, math.floor(oldest / step) * step + step, newest, step, raw=False)
    times = part.grid()
    start, end = bucket_range(part, times)
    expected = aggregate_buckets(part, times, BucketsOnly(reader).buckets(tier, ids, start, end), ids)
    folded = reader.fold(tier, ids, start, end, times[0], step, len(times))
    assert set(folded) == set(ids)
    for sid in ids:
        low, high, total, weight = folded[sid]
        assert same(low, expected.low[sid]) and same(high, expected.high[sid]), sid
        assert same(means(total, weight), expected.mean[sid]), sid
    assert all(math.isnan(v) for v in folded["no/such-sensor"][0])
    assert any(not math.isnan(v) for v in folded[ids[0]][0])  # the seeded ones have values


def test_fold_without_a_database_gives_nulls(tmp_path):
    folded = HistoryReader(tmp_path / "history.db").fold("minute", ["a/b"], 0, 600, 0, 60, 10)
    assert all(math.isnan(v) for v in folded["a/b"][0]) and list(folded["a/b"][3]) == [0.0] * 10
