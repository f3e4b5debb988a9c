"""The shared sample store: one writer, many readers, a ring that wraps."""
import math

import pytest

from frostserver.store import StoreReader, StoreWriter


def sensor(sid: str) -> dict:
    return {"id": sid, "chip": sid.split("/")[0], "kind": "temperature"}


@pytest.fixture
def writer(tmp_path):
    w = StoreWriter(tmp_path, capacity=5, columns=4, interval=1.0)
    w.update_catalog([sensor("a/temp1"), sensor("b/temp1")])
    yield w
    w.close()


def append(writer, t, a, b=None, status="ok"):
    readings = {"a/temp1": (a, status)}
    if b is not None:
        readings["b/temp1"] = (b, "ok")
    return writer.append(t, readings, b'{"t": %d}' % t)


def test_reader_sees_what_the_writer_appended(writer, tmp_path):
    append(writer, 100.0, 1.5, 2.5)
    append(writer, 101.0, None, 3.5, status="error")
    reader = StoreReader(tmp_path)
    header = reader.header()
    assert (header.seq, header.last_timestamp, header.interval) == (2, 101.0, 1.0)
    window = reader.window(None, 1)
    assert window.timestamps == [100.0, 101.0]
    assert window.values == {"a/temp1": [1.5, None], "b/temp1": [2.5, 3.5]}
    assert window.statuses["a/temp1"] == ["ok", "error"]
    assert reader.latest_body() == b'{"t": 101}'


def test_ring_keeps_only_the_newest_samples_in_order(writer, tmp_path):
    for i in range(12):
        append(writer, 100.0 + i, float(i))
    window = StoreReader(tmp_path).window(["a/temp1"], 1)
    assert window.first_seq == 8
    assert window.timestamps == [107.0, 108.0, 109.0, 110.0, 111.0]
    assert window.values["a/temp1"] == [7.0, 8.0, 9.0, 10.0, 11.0]


def test_a_sensor_that_vanished_has_no_status_at_later_samples(writer, tmp_path):
    append(writer, 100.0, 1.0, 2.0)
    append(writer, 101.0, 1.0)  # b/temp1 is gone (a chip was unplugged)
    window = StoreReader(tmp_path).window(["b/temp1"], 1)
    assert window.values["b/temp1"] == [2.0, None]
    assert window.statuses["b/temp1"] == ["ok", None]


def test_catalog_overflow_reports_the_sensors_without_a_column(writer):
    dropped = writer.update_catalog([sensor(f"c/temp{i}") for i in range(1, 5)])
    assert dropped == ["c/temp3", "c/temp4"]


def test_a_new_leader_keeps_the_history_of_the_last_one(writer, tmp_path):
    append(writer, 100.0, 1.0)
    writer.close()
    successor = StoreWriter(tmp_path, capacity=5, columns=4, interval=1.0)
    assert successor.columns == {"a/temp1": 0, "b/temp1": 1}
    successor.append(101.0, {"a/temp1": (2.0, "ok")}, b"{}")
    assert StoreReader(tmp_path).window(["a/temp1"], 1).values["a/temp1"] == [1.0, 2.0]
    successor.close()


def test_a_differently_sized_store_is_recreated(writer, tmp_path):
    append(writer, 100.0, 1.0)
    writer.close()
    bigger = StoreWriter(tmp_path, capacity=10, columns=4, interval=1.0)
    reader = StoreReader(tmp_path)
    assert reader.header().capacity == 10 and reader.header().seq == 0
    assert reader.catalog()["sensors"] == []
    bigger.close()


def test_reader_before_any_sampler_answers_nothing(tmp_path):
    reader = StoreReader(tmp_path)
    assert reader.header() is None and reader.latest_body() is None and reader.window(None, 1) is None


def test_nan_never_leaks_out(writer, tmp_path):
    append(writer, 100.0, math.nan)
    assert StoreReader(tmp_path).window(["a/temp1"], 1).values["a/temp1"] == [None]
