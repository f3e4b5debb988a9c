"""The sampling process (`python -m frostserver.sampler`): the store's one writer, over a fake tree."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from waiting import PATIENCE, eventually

import chips
from frostserver.sampler import Watchdog
from frostserver.store.reader import StoreReader

APP = Path(__file__).resolve().parents[2] / "services" / "app"


def start_sampler(tmp_path: Path, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(APP), "FROST_SYSFS_ROOT": str(tmp_path / "sys"),
                   "FROST_RUN_DIR": str(tmp_path / "run"), "FROST_CONFIG": "", **env}
    return subprocess.Popen([sys.executable, "-m", "frostserver.sampler"], env=environment,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture
def sampler(tmp_path):
    chips.build_zoo(tmp_path / "sys", ("coretemp",))
    process = start_sampler(tmp_path)
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()
    process.stderr.close()


def test_it_samples_into_the_store_and_holds_the_lock(tmp_path, sampler):
    store = StoreReader(tmp_path / "run")
    eventually(lambda: (store.header() or None) and store.header().seq >= 2, "two samples")
    sample = store.latest_sample()
    assert dict((s.id, r.value) for s, r in sample.pairs)["coretemp-isa-0000/temp1"] == 45.0
    assert store.sampler_pid() == sampler.pid
    assert store.counters.current().pid == sampler.pid


def test_a_second_sampler_on_the_same_store_refuses_to_start(tmp_path, sampler):
    store = StoreReader(tmp_path / "run")
    eventually(lambda: store.sampler_pid() == sampler.pid, "the first sampler's lock")
    second = start_sampler(tmp_path)
    _, err = second.communicate(timeout=PATIENCE)
    assert second.returncode == 1
    assert f"another sampler (pid {sampler.pid}) is running" in err
    assert store.sampler_pid() == sampler.pid  # the first one goes on


def test_sigterm_stops_it_and_frees_the_lock(tmp_path, sampler):
    store = StoreReader(tmp_path / "run")
    eventually(lambda: store.sampler_pid() == sampler.pid, "the sampler's lock")
    sampler.send_signal(signal.SIGTERM)
    assert sampler.wait(PATIENCE) == 0
    assert store.sampler_pid() is None


def test_a_bad_configuration_exits_78_saying_why_once(tmp_path):
    config = tmp_path / "frostserver.toml"
    config.write_text("[sampling]\nintervall = 2\n")
    process = start_sampler(tmp_path, FROST_CONFIG=str(config))
    _, err = process.communicate(timeout=PATIENCE)
    assert process.returncode == 78  # the supervisor does not restart it
    lines = [line for line in err.splitlines() if "configuration error" in line]
    assert len(lines) == 1 and "sampling.intervall: unknown key; did you mean 'interval'?" in lines[0]


def test_the_watchdog_ends_a_sampler_that_stopped_making_progress():
    stalls = []
    progress = iter([1, 2, 3, 3])  # three samples, then none any more
    watchdog = Watchdog(lambda: next(progress, 3), stall_after=0.2, on_stall=stalls.append)
    watchdog.start()
    watchdog.join(PATIENCE)
    assert not watchdog.is_alive() and len(stalls) == 1 and stalls[0] > 0.2


def test_the_watchdog_leaves_a_sampler_that_makes_progress_alone():
    samples = iter(range(10**9))
    watchdog = Watchdog(lambda: next(samples), stall_after=0.2, on_stall=lambda _: pytest.fail("stalled"))
    watchdog.start()
    time.sleep(1.0)  # five stall periods: a sampler making progress is never ended
    watchdog.stopping.set()
    watchdog.join(PATIENCE)
    assert not watchdog.is_alive()


class BrokenSource:
    """A source whose every sample fails, as the hwmon source did on a 3,000-term compute."""

    def sample(self):
        raise RecursionError("maximum recursion depth exceeded")

    def close(self):
        pass


def test_a_source_failing_at_every_sample_is_logged_once_per_five_minutes_with_a_count(tmp_path, monkeypatch):
    from frostserver import sampler as sampler_module
    from frostserver.logs import RepeatLimiter
    from frostserver.model import Reading, Sensor
    from frostserver.sampler import Sampler
    from frostserver.store.writer import StoreWriter
    from sources import ListSource

    now = [1000.0]
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    sampler_module.log.addHandler(handler)  # its own: the app's logging config may stop propagation
    monkeypatch.setattr(sampler_module, "repeats", RepeatLimiter(sampler_module.log, clock=lambda: now[0]))
    good = Sensor(id="a/temp1", chip="a", chip_name="a", channel="temp1", kind="temperature", label="t", unit="°C")
    store = StoreWriter.open(tmp_path / "run", capacity=8, columns=4, interval=1.0)
    sampler = Sampler({"hwmon": BrokenSource(), "config": ListSource([(good, Reading(1.0))])}, store)
    try:
        for _ in range(600):  # ten minutes of one sample a second
            sampler.sample_once()
            now[0] += 1.0
    finally:
        sampler.close()
        sampler_module.log.removeHandler(handler)
    failures = [r for r in records if r.getMessage().startswith("sensor source hwmon failed")]
    assert [r.getMessage() for r in failures] == [
        "sensor source hwmon failed", "sensor source hwmon failed (repeated 299 times in the last 5 min)"]
    assert all(r.exc_info and r.exc_info[0] is RecursionError for r in failures)  # the traceback, now and then
    assert sampler.counters.source_failures == {"hwmon": 600}  # every failure still counts in /metrics
    assert [pair[0].id for pair in StoreReader(tmp_path / "run").latest_sample().pairs] == ["a/temp1"]
