"""The sampler's signs of life: its heartbeat to the supervisor, its lock's time, and /readyz's verdict.

A sampler that lives but no longer samples (stopped, deadlocked, stuck in a read) holds its lock as
a working one does; only the samples it publishes tell the two apart.
"""

from __future__ import annotations

import logging
import math
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from clocks import WallClock
from history_helpers import FakeMonotonic, sample
from waiting import PATIENCE, eventually

import chips
from frostserver import heartbeat
from frostserver.codec import Damaged, UnknownVersion
from frostserver.heartbeat import Beat, BeatReader, Heartbeat
from frostserver.http import create_app
from frostserver.http.context import context
from frostserver.sampler import Sampler, sample_forever
from frostserver.store import LOCK_FILE
from frostserver.store.files import Refusals
from frostserver.store.liveness import Liveness, SamplerLock, decode, encode, sampler_liveness
from frostserver.store.writer import StoreWriter

APP = Path(__file__).resolve().parents[2] / "services" / "app"


# --- the beat's line -------------------------------------------------------------------------------


def test_a_beat_says_when_the_next_sample_is_due():
    assert heartbeat.encode(Beat(0.9984)) == b"1 0.998\n"
    assert heartbeat.decode(b"1 0.998") == Beat(0.998)
    assert heartbeat.encode(Beat(-0.5)) == b"1 0.000\n"  # a sample late already: due now
    assert heartbeat.encode(Beat(1e12)) == b"1 3600.000\n"  # never more than the longest interval


@pytest.mark.parametrize("line", [b"", b"1", b"1 x", b"x 0.5", b"1 nan", b"1 inf", b"1 -1", b"1 3601"])
def test_a_line_that_is_no_beat_is_told_apart(line):
    with pytest.raises(Damaged):
        heartbeat.decode(line)


def test_a_beat_of_another_version_is_refused_as_such():
    with pytest.raises(UnknownVersion, match="version 2, and this FrostServer reads version 1"):
        heartbeat.decode(b"2 0.5")


def test_beats_cut_across_reads_are_put_together():
    reader = BeatReader()
    assert reader.feed(b"1 0.5\n1 0.") == [Beat(0.5)]
    assert reader.feed(b"25\n") == [Beat(0.25)]
    assert reader.feed(b"x" * 10_000) == []  # garbage without an end is not kept whole
    garbage, beat = reader.feed(b"\n1 1\n")
    assert isinstance(garbage, Damaged) and beat == Beat(1.0)


# --- the sampler's side of the pipe ------------------------------------------------------------------


def test_without_a_pipe_the_heartbeat_does_nothing():
    environ: dict[str, str] = {}
    beat = Heartbeat.from_environment(environ)
    assert beat.fd is None
    beat.beat(1.0)  # nothing to write to, nothing raised


def test_the_heartbeat_writes_down_the_pipe_it_is_given_and_hides_it_from_commands():
    read_end, write_end = os.pipe()
    try:
        environ = {heartbeat.ENV: str(write_end)}
        beat = Heartbeat.from_environment(environ)
        assert environ == {}  # the commands the sampler runs (config-file sensors) never see it
        assert not os.get_inheritable(write_end)
        beat.beat(0.75)
        beat.beat(0.5)
        assert BeatReader().feed(os.read(read_end, 4096)) == [Beat(0.75), Beat(0.5)]
    finally:
        os.close(read_end)
        beat.close()


def test_a_full_pipe_costs_beats_not_samples():
    read_end, write_end = os.pipe()
    beat = Heartbeat.from_environment({heartbeat.ENV: str(write_end)})
    try:
        # A supervisor that does not read (stopped): the pipe fills (64 KiB), and the sampler
        # never blocks on it. 20,000 beats are over 100 KiB.
        for _ in range(20_000):
            beat.beat(1.0)
        assert beat.fd is not None  # still beating once the supervisor reads again
        os.read(read_end, 65536)
        beat.beat(0.25)
    finally:
        os.close(read_end)
        beat.close()


def test_a_sampler_that_lost_its_pipe_says_so_once_and_samples_on(caplog):
    read_end, write_end = os.pipe()
    beat = Heartbeat.from_environment({heartbeat.ENV: str(write_end)})
    os.close(read_end)  # the reader is gone: EPIPE (Python ignores SIGPIPE)
    with caplog.at_level(logging.WARNING, logger="frostserver"):
        for _ in range(3):
            beat.beat(1.0)
    assert beat.fd is None
    (record,) = caplog.records
    assert "the supervisor is gone" in record.getMessage() and "sampling on without it" in record.getMessage()


@pytest.mark.parametrize("value", ["not-a-number", "999999"])
def test_a_heartbeat_variable_naming_no_pipe_is_said_and_ignored(value, caplog, tmp_path):
    with caplog.at_level(logging.WARNING, logger="frostserver"):
        beat = Heartbeat.from_environment({heartbeat.ENV: value})
    assert beat.fd is None
    assert f"FROST_HEARTBEAT_FD={value!r} is no pipe" in caplog.text


def test_a_heartbeat_variable_naming_a_file_is_no_pipe(caplog, tmp_path):
    with open(tmp_path / "file", "w") as file, caplog.at_level(logging.WARNING, logger="frostserver"):
        beat = Heartbeat.from_environment({heartbeat.ENV: str(file.fileno())})
    assert beat.fd is None and "not a pipe" in caplog.text


class CountingSampler:
    """A stand-in for Sampler: its samples succeed except the ones listed."""

    def __init__(self, failing: set[int], stop_after: int, stopping: threading.Event):
        self.calls, self.failing, self.stop_after, self.stopping = 0, failing, stop_after, stopping

    def sample_once(self) -> int:
        self.calls += 1
        if self.calls >= self.stop_after:
            self.stopping.set()
        if self.calls in self.failing:
            raise RuntimeError("a bug")
        return self.calls

    def prepare(self, at: float) -> None:
        pass


def test_the_loop_beats_after_each_published_sample_only():
    stopping = threading.Event()
    sampler = CountingSampler(failing={2}, stop_after=4, stopping=stopping)
    beats: list[float] = []
    sample_forever(sampler, 0.01, stopping, beats.append)  # type: ignore[arg-type]  # a stand-in
    assert len(beats) == 3  # samples 1, 3 and 4: the failed one publishes nothing
    assert all(0 <= due <= 0.01 for due in beats), beats


def test_a_real_sampler_beats_down_the_pipe_it_is_given(tmp_path):
    chips.build_zoo(tmp_path / "sys", ("coretemp",))
    (tmp_path / "frostserver.toml").write_text("[sampling]\ninterval = 0.2\n")
    read_end, write_end = os.pipe()
    env = {**os.environ, "PYTHONPATH": str(APP), "FROST_SYSFS_ROOT": str(tmp_path / "sys"),
           "FROST_RUN_DIR": str(tmp_path / "run"), "FROST_CONFIG": str(tmp_path / "frostserver.toml"),
           "FROST_READ_TIMEOUT": "0.5", heartbeat.ENV: str(write_end)}
    process = subprocess.Popen([sys.executable, "-m", "frostserver.sampler"], env=env, pass_fds=(write_end,),
                               stderr=subprocess.DEVNULL)
    os.close(write_end)
    reader, beats = BeatReader(), []
    try:

        def three_beats() -> bool:
            if select.select([read_end], [], [], 0.5)[0]:
                data = os.read(read_end, 4096)
                assert data, f"the sampler closed the pipe (exit status {process.poll()})"
                beats.extend(reader.feed(data))
            return len(beats) >= 3

        eventually(three_beats, "three beats down the pipe")
        # Each says when the next beat is due at the latest: the next tick, plus the read deadline.
        assert all(isinstance(beat, Beat) and 0.5 <= beat.due <= 0.2 + 0.5 for beat in beats), beats
        liveness = sampler_liveness(tmp_path / "run")
        assert liveness is not None and liveness.pid == process.pid and liveness.published is not None
    finally:
        process.terminate()
        process.wait(PATIENCE)
        os.close(read_end)


# --- the lock's record ---------------------------------------------------------------------------------


def test_the_lock_records_the_newest_samples_monotonic_time(tmp_path):
    lock = SamplerLock(tmp_path / LOCK_FILE)
    try:
        assert sampler_liveness(tmp_path) == Liveness(os.getpid(), None)  # locked, nothing published yet
        lock.beat(now=1234.5)
        assert sampler_liveness(tmp_path) == Liveness(os.getpid(), 1234.5)
        assert sampler_liveness(tmp_path).since_published(1240.0) == 5.5
        length = (tmp_path / LOCK_FILE).stat().st_size
        lock.beat()  # the real clock: a larger number, the same length (rewritten in place)
        assert (tmp_path / LOCK_FILE).stat().st_size == length
    finally:
        lock.release()
    assert sampler_liveness(tmp_path) is None


@pytest.mark.parametrize("record", [b"", b"x 1 2\n", b"1 12", b"1 x 5\n"])
def test_a_record_cut_short_or_damaged_is_refused(record):
    with pytest.raises(Damaged):
        decode(record)


@pytest.mark.parametrize("record", [b"123\n", b"2 123 00000000000000000005\n"])
def test_a_record_of_another_version_is_refused_as_such(record):
    with pytest.raises(UnknownVersion):
        decode(record)


def test_a_lock_record_of_another_version_reads_as_alive_and_is_said_once(tmp_path, caplog):
    lock = SamplerLock(tmp_path / LOCK_FILE)
    try:
        with open(tmp_path / LOCK_FILE, "r+b") as record:  # as a sampler of another version writes it
            record.write(b"2 123 00000000000000000005\n")
        refusals = Refusals()
        for _ in range(3):  # /readyz polls it
            assert sampler_liveness(tmp_path, LOCK_FILE, refusals) == Liveness(0, None)
        assert caplog.text.count("the sampler's liveness record has version 2") == 1
    finally:
        lock.release()


def test_the_record_round_trips():
    assert decode(encode(42, None)) == Liveness(42, None)
    assert decode(encode(42, 98765.4321)) == Liveness(42, 98765.4321)


# --- /readyz's verdict --------------------------------------------------------------------------------


class ListSource:
    def sample(self):
        return sample(temp1=45.0)

    def close(self):
        pass


@pytest.fixture
def wall():
    return WallClock()


@pytest.fixture
def ready(tmp_path, wall):
    """A live sampler's lock and store (interval 1 s), two samples taken; yields (app, lock, monotonic)."""
    monotonic = FakeMonotonic()
    app = create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys"}, clock=wall, monotonic=monotonic)
    run_dir = context(app).settings.run_dir
    store = StoreWriter.open(run_dir, capacity=61, columns=16, interval=1.0)
    sampler = Sampler({"hwmon": ListSource()}, store)
    lock = SamplerLock(run_dir / LOCK_FILE)
    try:
        for _ in range(2):
            sampler.sample_once()
            lock.beat(monotonic.now)
        yield app, lock, monotonic
    finally:
        lock.release()
        sampler.close()


def test_readyz_is_ok_while_samples_come_and_gives_their_age(ready):
    app, _, monotonic = ready
    monotonic.now += 2.5  # a sample late by more than an interval: a busy machine, not a hung sampler
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["age"] == 2.5 and response.get_json()["samples"] == 2


def test_readyz_says_503_once_no_sample_came_for_three_intervals(ready):
    app, lock, monotonic = ready
    monotonic.now += 3.25
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["message"] == (f"no sample for 3 s (one is due every 1 s): the sampler (pid {os.getpid()}) is "
                               "stopped or hung; it is replaced by itself if it does not resume")
    assert (body["age"], body["samples"], body["sampler"]) == (3.25, 2, {"pid": os.getpid()})
    assert response.headers["Retry-After"] == "1" and response.headers["Cache-Control"] == "no-store"
    lock.beat(monotonic.now)  # it resumed
    assert app.test_client().get("/readyz").status_code == 200


def test_a_wall_clock_set_far_ahead_is_no_stalled_sampler(ready, wall):
    app, _, monotonic = ready
    wall.now = time.time() + 10 * 365 * 86400  # NTP after a boot in 1970
    monotonic.now += 0.5
    response = app.test_client().get("/readyz")
    assert response.status_code == 200 and math.isclose(response.get_json()["age"], 0.5)
