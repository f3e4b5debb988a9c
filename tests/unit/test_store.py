"""The store: the sampler's files in the run directory, one writer each, readers safe across threads."""

import math
from dataclasses import replace
import os
import subprocess
import sys
import threading
import time

import pytest

from frostserver.model import ERROR, OK, Reading, Sensor, SysfsChannel
from frostserver.store import LOCK_FILE, RING_FILE
from frostserver.store.counters import Counters
from frostserver.store.liveness import SamplerAlreadyRunning, SamplerLock, sampler_pid
from frostserver.store.reader import StoreReader
from frostserver.store.writer import StoreWriter
from frostserver.store.catalog import decode_sensor, encode_sensor
from frostserver.store.ring import RingHeader, RingReader, RingWriter


def sensor(sid: str, **changes) -> Sensor:
    chip, channel = sid.split("/")
    fields = dict(id=sid, chip=chip, chip_name=chip, channel=channel, kind="temperature", label=channel, unit="°C")
    return Sensor(**{**fields, **changes})


A, B = sensor("a/temp1"), sensor("b/temp1")


@pytest.fixture
def store(tmp_path):
    writer = StoreWriter.open(tmp_path, capacity=5, columns=4, interval=1.0)
    yield writer
    writer.close()


def publish(store: StoreWriter, t: float, *pairs) -> int:
    """Publish one sample as the sampler does: catalog, readings, then the history row."""
    store.catalog.update(s for s, _ in pairs)
    store.latest.write(store.ring.next_seq, t, pairs)
    columns = store.catalog.columns
    cells = [(columns[s.id], r.value, r.status) for s, r in pairs if s.id in columns]
    return store.ring.append(t, cells, len(columns))


# --- the ring of recent samples ------------------------------------------------------------------


def values(window) -> dict[str, list[float | None]]:
    return {sid: [window.value(sid, i) for i in range(len(window.timestamps))] for sid in window.values}


def statuses(window, sid: str) -> list[str | None]:
    return [window.status(sid, i) for i in range(len(window.timestamps))]


def test_a_reader_sees_what_the_writer_appended(store, tmp_path):
    publish(store, 100.0, (A, Reading(1.5)), (B, Reading(2.5)))
    publish(store, 101.0, (A, Reading(None, ERROR, "EIO")), (B, Reading(3.5)))
    reader = StoreReader(tmp_path)
    header = reader.header()
    assert (header.seq, header.last_timestamp, header.interval, header.busy % 2) == (2, 101.0, 1.0, 0)
    window = reader.window(None, 1)
    assert window.timestamps.tolist() == [100.0, 101.0]
    assert values(window) == {"a/temp1": [1.5, None], "b/temp1": [2.5, 3.5]}
    assert statuses(window, "a/temp1") == [OK, ERROR]


def test_the_ring_keeps_only_the_newest_samples_in_order(store, tmp_path):
    for i in range(12):
        publish(store, 100.0 + i, (A, Reading(float(i))))
    window = StoreReader(tmp_path).window(["a/temp1"], 1)
    assert window.first_seq == 8
    assert window.timestamps.tolist() == [107.0, 108.0, 109.0, 110.0, 111.0]
    assert values(window)["a/temp1"] == [7.0, 8.0, 9.0, 10.0, 11.0]


def test_a_sensor_that_vanished_has_no_status_at_later_samples(store, tmp_path):
    publish(store, 100.0, (A, Reading(1.0)), (B, Reading(2.0)))
    publish(store, 101.0, (A, Reading(1.0)))  # b/temp1 is gone (a chip was unplugged)
    window = StoreReader(tmp_path).window(["b/temp1"], 1)
    assert values(window)["b/temp1"] == [2.0, None]
    assert statuses(window, "b/temp1") == [OK, None]


def test_nan_never_leaks_out(store, tmp_path):
    publish(store, 100.0, (A, Reading(math.nan)))
    assert values(StoreReader(tmp_path).window(["a/temp1"], 1))["a/temp1"] == [None]


def test_the_header_is_read_and_written_through_its_struct(store, tmp_path):
    publish(store, 100.0, (A, Reading(1.0)))
    raw = RingHeader.from_buffer_copy((tmp_path / RING_FILE).read_bytes())
    assert (raw.magic, raw.capacity, raw.columns, raw.seq, raw.last_timestamp) == (b"FROSTv2", 5, 4, 1, 100.0)


def test_a_restarted_sampler_continues_the_ring_and_its_columns(store, tmp_path):
    publish(store, 100.0, (A, Reading(1.0)), (B, Reading(2.0)))
    store.close()
    successor = StoreWriter.open(tmp_path, capacity=5, columns=4, interval=1.0)
    try:
        assert successor.catalog.columns == {"a/temp1": 0, "b/temp1": 1}
        assert publish(successor, 101.0, (B, Reading(3.0))) == 2  # the sample numbers go on
        assert values(StoreReader(tmp_path).window(None, 1)) == {"a/temp1": [1.0, None], "b/temp1": [2.0, 3.0]}
    finally:
        successor.close()


def test_a_ring_of_another_shape_is_started_afresh(store, tmp_path):
    publish(store, 100.0, (A, Reading(1.0)))
    store.close()
    bigger = StoreWriter.open(tmp_path, capacity=10, columns=4, interval=1.0)
    try:
        reader = StoreReader(tmp_path)
        assert reader.header().capacity == 10 and reader.header().seq == 0
        assert reader.catalog.current().sensors == {}
    finally:
        bigger.close()


def test_before_any_sampler_a_reader_answers_nothing(tmp_path):
    reader = StoreReader(tmp_path)
    assert reader.header() is None and reader.latest_sample() is None and reader.window(None, 1) is None
    assert reader.counters.current() is None and reader.sampler_pid() is None


def test_window_survives_a_ring_replaced_under_64_threads(tmp_path):
    # A worker's threads share one reader. The code before this test existed closed the old
    # mapping when one thread noticed the file had been replaced, while others were copying out
    # of it: 2,164 "ValueError: mmap closed or invalid" in 20 replacements (a 500 each).
    path = tmp_path / RING_FILE
    columns = {f"c/temp{i}": i for i in range(8)}

    def fill(writer: RingWriter, samples: int) -> None:
        for t in range(samples):
            writer.append(float(t), [(column, float(column), OK) for column in columns.values()], len(columns))

    writer = RingWriter(path, capacity=50, columns=8, interval=1.0)
    fill(writer, 60)
    reader = RingReader(path)
    errors, copies, stop = [], [0], threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                window = reader.window(columns, 1)
                if window is not None:
                    assert all(list(got) == [float(columns[sid])] * len(got) for sid, got in window.values.items())
                    copies[0] += 1
            except Exception as error:  # noqa: BLE001 - every failure is collected for the assertion
                errors.append(repr(error))
            time.sleep(0)  # hand the GIL on, so the writer gets its turn among 64 readers

    threads = [threading.Thread(target=hammer) for _ in range(64)]
    for thread in threads:
        thread.start()
    try:
        for replacement in range(20):
            writer.close()
            writer = RingWriter(path, capacity=50 + replacement % 2 + 1, columns=8, interval=1.0)  # a new file
            fill(writer, 5)
            time.sleep(0.005)  # let the readers map the new file and copy from it
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        writer.close()
    assert errors == []
    assert copies[0] > 20  # the threads really read meanwhile


# --- the catalog, the latest readings, the counters ------------------------------------------------


def test_a_sensor_survives_the_catalog_exactly():
    hwmon = sensor("coretemp-isa-0000/temp1", thresholds={"max": 80.0}, sensor_type="thermistor",
                   sysfs=SysfsChannel("platform_coretemp_0", "coretemp", "temp1", "Package id 0", {"max": 80000.0}))
    for original in (hwmon, sensor("config/garden", source="config")):
        decoded = decode_sensor(encode_sensor(original))
        assert decoded == original and decoded.thresholds == original.thresholds
        assert decoded.sysfs == original.sysfs and (decoded.sysfs is None or decoded.sysfs.attributes ==
                                                    original.sysfs.attributes)


def test_the_catalog_is_rewritten_only_when_metadata_changes(store, tmp_path):
    publish(store, 100.0, (A, Reading(1.0)))
    path = tmp_path / "catalog.json"
    first = path.stat().st_ino
    publish(store, 101.0, (A, Reading(2.0)))  # the same Sensor object: nothing to write
    assert path.stat().st_ino == first
    relabelled = sensor("a/temp1", label="Garden")
    publish(store, 102.0, (relabelled, Reading(3.0)))
    assert path.stat().st_ino != first
    assert StoreReader(tmp_path).catalog.current().sensors["a/temp1"].label == "Garden"


def test_sensors_beyond_the_rings_room_are_counted_and_still_published(tmp_path):
    writer = StoreWriter.open(tmp_path, capacity=5, columns=2, interval=1.0)
    try:
        many = [(sensor(f"c/temp{i}"), Reading(float(i))) for i in range(1, 5)]
        publish(writer, 100.0, *many)
        assert writer.catalog.dropped == {"c/temp3", "c/temp4"}
        reader = StoreReader(tmp_path)
        assert set(reader.window(None, 1).values) == {"c/temp1", "c/temp2"}  # history for those with room
        assert [s.id for s, _ in reader.latest_sample().pairs] == [f"c/temp{i}" for i in range(1, 5)]
    finally:
        writer.close()


def test_the_latest_sample_comes_back_in_domain_terms(store, tmp_path):
    alarm = Reading(81.5, "alarm", None, ("max",), (("input", 81500), ("max_alarm", 1)))
    publish(store, 100.0, (A, alarm), (B, Reading(None, ERROR, 'bad "quote"')))
    sample = StoreReader(tmp_path).latest_sample()
    assert (sample.seq, sample.sampled_at) == (1, 100.0)
    assert sample.pairs == ((A, alarm), (B, Reading(None, ERROR, 'bad "quote"')))
    assert sample.pairs[0][1].raw == alarm.raw


def test_counters_are_read_again_only_when_replaced(store, tmp_path):
    reader = StoreReader(tmp_path)
    first = Counters(pid=1, seq=1, samples=1, durations_sum=0.5, duration_bounds=(1.0,), duration_buckets=(1,))
    store.counters.write(first)
    assert reader.counters.current() == first
    assert reader.counters.current() is reader.counters.current()  # decoded once per version
    store.counters.write(replace(first, samples=2))
    assert reader.counters.current() == replace(first, samples=2)


# --- the sampler's liveness --------------------------------------------------------------------


def test_the_lock_tells_whether_a_sampler_is_alive(tmp_path):
    assert sampler_pid(tmp_path) is None
    lock = SamplerLock(tmp_path / LOCK_FILE)
    assert sampler_pid(tmp_path) == os.getpid()
    with pytest.raises(SamplerAlreadyRunning, match=f"another sampler \\(pid {os.getpid()}\\)"):
        SamplerLock(tmp_path / LOCK_FILE, wait=0.05)
    lock.release()
    assert sampler_pid(tmp_path) is None


def test_a_killed_samplers_lock_is_gone_with_it(tmp_path):
    code = ("import sys, time; from frostserver.store.liveness import SamplerLock; "
            f"SamplerLock(__import__('pathlib').Path({str(tmp_path / LOCK_FILE)!r})); print('locked', flush=True); "
            "time.sleep(60)")
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}) as holder:
        try:
            assert holder.stdout.readline() == "locked\n"
            assert sampler_pid(tmp_path) == holder.pid
        finally:
            holder.kill()
    assert sampler_pid(tmp_path) is None  # the kernel released it: no time limit involved


# --- the chips -------------------------------------------------------------------------------------


def test_chips_survive_the_store_exactly_and_are_rewritten_only_when_they_change(store, tmp_path):
    from frostserver.model import Chip, ChipSetting

    pwm1 = ChipSetting("pwm1", "pwm1", None, {"enable": 5, "auto_point1_temp": 25000})
    chip = Chip("nct6779-isa-0a20", "nct6779", "ISA adapter", "platform_nct6775_2592", "nct6779", (pwm1,))
    reader = StoreReader(tmp_path)
    assert reader.chips.current().chips == ()  # before the sampler wrote any
    store.chips.update([chip])
    (decoded,) = reader.chips.current().chips
    assert decoded == chip and decoded.settings[0].attributes == pwm1.attributes
    first = (tmp_path / "chips.json").stat().st_ino
    store.chips.update([chip])  # the same objects
    store.chips.update([Chip(*chip.__dict__.values())])  # equal ones: the same document
    assert (tmp_path / "chips.json").stat().st_ino == first
    changed = ChipSetting("pwm1", "pwm1", None, {"enable": 1, "auto_point1_temp": 25000})
    store.chips.update([Chip(chip.id, chip.name, chip.adapter, chip.sysfs_chip, chip.sysfs_chip_name, (changed,))])
    assert reader.chips.current().chips[0].settings[0].attributes["enable"] == 1


def test_a_failed_atomic_write_leaves_no_temp_file_behind(tmp_path):
    from frostserver.store.files import write_atomically

    target = tmp_path / "alerts.json"
    target.mkdir()  # the rename onto it fails (a directory in its place)
    (target / "inside").write_text("x")
    with pytest.raises(OSError):
        write_atomically(target, b"{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alerts.json"]


def test_a_write_that_fills_the_disk_leaves_no_temp_file_behind(tmp_path):
    """ENOSPC, the issue's `.alerts.json.<pid>.tmp`: a 64 KiB tmpfs (needs root, as the test machine and CI run)."""
    from frostserver.store.files import write_atomically

    volume = tmp_path / "volume"
    volume.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(volume)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        write_atomically(volume / "alerts.json", b"old")
        for durable in (False, True):
            with pytest.raises(OSError) as raised:
                write_atomically(volume / "alerts.json", b"x" * 2**20, durable=durable)
            assert raised.value.errno == 28  # ENOSPC
            assert sorted(p.name for p in volume.iterdir()) == ["alerts.json"]
            assert (volume / "alerts.json").read_bytes() == b"old"
    finally:
        subprocess.run(["umount", "-l", str(volume)], check=False)
