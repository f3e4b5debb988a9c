"""The history's state as the web side shows it: /readyz's "history" and the frost_history_* metrics."""

from __future__ import annotations

import re

import pytest
from history_helpers import FakeMonotonic, sample

from frostserver.history.writer import HistoryWriter
from frostserver.http import create_app
from frostserver.http.context import context
from frostserver.sampler import Sampler
from frostserver.store import LOCK_FILE
from frostserver.store.liveness import SamplerLock
from frostserver.store.writer import StoreWriter


class ListSource:
    """A sensor source of fixed readings."""

    def sample(self):
        return sample(temp1=45.0)

    def close(self):
        pass


@pytest.fixture
def app(tmp_path):
    return create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "ring_seconds": 60})


def sampled(app, history: HistoryWriter | None, samples: int = 2):
    """Take samples with a live sampler's lock held; return (/readyz body, the frost_history_* series)."""
    settings = context(app).settings
    clock = iter(range(1_700_000_000, 1_700_100_000, 30)).__next__
    store = StoreWriter.open(settings.run_dir, capacity=61, columns=16, interval=1.0)
    sampler = Sampler({"hwmon": ListSource()}, store, clock=lambda: float(clock()), history=history)
    lock = SamplerLock(settings.run_dir / LOCK_FILE)
    try:
        for _ in range(samples):
            sampler.sample_once()
        client = app.test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 200  # the history never makes the sampler unready
        metrics = client.get("/metrics").get_data(as_text=True)
    finally:
        lock.release()
        sampler.close()
    found = dict(re.findall(r"^(frost_history_\w+) (\S+)$", metrics, re.MULTILINE))
    return ready.get_json(), {name: float(value) for name, value in found.items()}


def test_with_a_working_history_readyz_says_ok_and_the_counters_are_zero(app, tmp_path):
    history = HistoryWriter(tmp_path / "history", monotonic=FakeMonotonic())
    body, series = sampled(app, history, samples=3)  # 90 s: a minute written
    assert body["history"] == "ok"
    assert series == {"frost_history_write_errors_total": 0.0, "frost_history_pending_minutes": 0.0}


def test_when_writing_fails_readyz_says_degraded_and_the_counters_say_why(app, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    monotonic = FakeMonotonic()
    history = HistoryWriter(tmp_path / "file" / "history", monotonic=monotonic)
    body, series = sampled(app, history, samples=5)  # 150 s: two closed minutes wait in memory
    assert body["history"] == "degraded"
    assert series["frost_history_write_errors_total"] >= 2  # the opening, then the first write
    assert series["frost_history_pending_minutes"] == 2


def test_without_a_history_readyz_says_off_and_there_are_no_history_metrics(app):
    body, series = sampled(app, None)
    assert body["history"] == "off"
    assert series == {}
