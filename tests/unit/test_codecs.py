"""Every file one process writes and another reads has a typed codec beside its writer (codec.py).

For each: what the writer encodes, the reader decodes into the same dataclasses; a document of
another version is refused as such, a damaged one as damaged; and a reader that polls says a
refused file once, not at every poll.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from frostserver import codec, heartbeat
from frostserver.alerts import journal, notifier_status, send
from frostserver.alerts.alert import Alert
from frostserver.alerts.journal import JournalEvent, JournalView
from frostserver.alerts.notifier import Cursors, decode_cursors, encode_cursors
from frostserver.codec import Damaged, UnknownVersion, decode_document, encode_document, from_plain
from frostserver.history import pending
from frostserver.history.aggregate import Aggregate
from frostserver.http import workers
from frostserver.model import ALARM, Chip, ChipSetting, Reading, Sensor, SysfsChannel
from frostserver.model import FrostForecast
from frostserver.store import catalog, chips, counters, forecasts, latest, liveness
from frostserver.store.counters import Counters, CountersReader, HistoryCounters, HwmonCounters
from frostserver.store.files import Refusals, write_atomically
from frostserver.store.latest import LatestReader

ALERT = Alert("frost/w1/temp1", "frost", "w1/temp1", "Garden", "critical", "Garden at -1 °C: at or below ...",
              value=-1.0, limit=0.5, unit="°C", fired_at=1_700_000_000.5, expected_at=1_700_003_600.0)
SENSOR = Sensor("coretemp-isa-0000/temp1", "coretemp-isa-0000", "coretemp", "temp1", "temperature", "Core 0", "°C",
                thresholds={"max": 80.0}, sensor_type="thermistor",
                sysfs=SysfsChannel("platform_coretemp_0", "coretemp", "temp1", "Core 0", {"max": 80000.0}))
CHIP = Chip("nct6775-isa-0290", "nct6775", "ISA adapter", "platform_nct6775_656", "nct6775",
            (ChipSetting("pwm1", "pwm1", "pwm1", {"enable": 5.0}),))
READING = Reading(41.5, ALARM, None, ("alarm",), (("input", 41500.0), ("max", 40000.0)), None)


@dataclass(frozen=True)
class Case:
    """One codec: encode, decode, and a value its writer writes."""

    name: str
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]
    value: Any
    json: bool = True  # a versioned JSON document (the heartbeat and the lock's record are lines)


def request(kind: type) -> Callable[[bytes], Any]:
    return lambda data: decode_document(kind, data, send.VERSION, "a request")


CASES = [
    Case("counters.json", counters.encode, counters.decode,
         Counters(pid=42, seq=7, samples=7, durations_sum=0.0125, duration_bounds=(0.001, 0.5),
                  duration_buckets=(6, 1), dropped_sensors=1, source_failures={"config": 2},
                  read_errors_by_chip={"nct6775-isa-0290": 3}, hwmon=HwmonCounters(10, 1, 0, 0),
                  history=HistoryCounters("degraded", 2, 3, 0), alert_journal="ok")),
    Case("workers/<pid>.json", workers.encode, workers.decode, workers.WorkerCounters(1234, 3)),
    Case("alerts.json", journal.encode, journal.decode,
         JournalView(active=(ALERT,), recent=(ALERT,), events=(JournalEvent(1, 9, "firing", ALERT),), next_event=2)),
    Case("notifier.json", notifier_status.encode, notifier_status.decode,
         notifier_status.NotifierStatus(2, 1, {"sent": 5, "failed": 1, "dropped": 0})),
    Case("notified.json", encode_cursors, decode_cursors, Cursors({"0123456789abcdef": 8}, ALERT)),
    Case("the notifier's request", lambda v: encode_document(send.VERSION, v), request(send.SendRequest),
         send.SendRequest("json://hooks.example/x", "firing", "[Shed] FIRING: Garden", "Garden at -1 °C")),
    Case("its child's outcome", lambda v: encode_document(send.VERSION, v), request(send.Outcome),
         send.Outcome(False, "HTTP 500")),
    Case("the notifier's check", lambda v: encode_document(send.VERSION, v), request(send.CheckRequest),
         send.CheckRequest(("json://a/b", "nosuch://x"))),
    Case("its child's answer", lambda v: encode_document(send.VERSION, v), request(send.CheckOutcome),
         send.CheckOutcome((True, False))),
    Case("history-pending.json", pending.encode, pending.decode,
         [(60, {"a/temp1": Aggregate(1.0, 2.5, 7.0, 4, 1), "b/in0": Aggregate(None, None, 0.0, 0, 4)})]),
    Case("catalog.json", lambda v: catalog.encode(catalog.encode_entry(s, c) for s, c in v), catalog.decode,
         [(SENSOR, 0), (Sensor("cmd/load", "cmd", "cmd", "load", "other", "Load", "", source="config"), None)]),
    Case("chips.json", chips.encode, chips.decode, (CHIP,)),
    Case("latest.json", lambda v: latest.encode(v.seq, v.sampled_at, [latest.encode_row(*p) for p in v.readings]),
         latest.decode, latest.LatestReadings(12, 1_700_000_000.25, [(SENSOR.id, READING)])),
    Case("forecasts.json", forecasts.encode, forecasts.decode,
         forecasts.Forecasts(10800.0, 0.5, (FrostForecast("w1/temp1", 1_700_000_000.0, 1_700_003_600.0, None,
                                                          -0.0005, 2.25, -1.5),
                                            FrostForecast("w2/temp1", 1_700_000_000.0, None, "warming", 1e-4, 8.0)))),
    Case("the heartbeat", heartbeat.encode, heartbeat.decode, heartbeat.Beat(0.998), json=False),
    Case("sampler.lock", lambda v: liveness.encode(v.pid, v.published), liveness.decode,
         liveness.Liveness(42, 98765.4321), json=False),
]
IDS = [case.name for case in CASES]
BY_NAME = dict(zip(IDS, CASES, strict=True))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_reader_gets_what_the_writer_wrote(case):
    assert case.decode(case.encode(case.value)) == case.value


def another_version(case: Case) -> bytes:
    data = case.encode(case.value)
    if case.json:
        document = json.loads(data)
        assert next(iter(document)) == "version"  # first: what a reader looks at before anything else
        return json.dumps({**document, "version": 99}).encode()
    return b"99" + data[1:]  # "1 ..." -> "99 ..."


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_another_version_is_refused_as_such(case):
    with pytest.raises(UnknownVersion, match="version 99, and this FrostServer reads version 1"):
        case.decode(another_version(case))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_damaged_document_is_refused(case):
    data = case.encode(case.value)
    cut = data[: len(data) // 2] if case.json else b"1 x"  # a line is never cut: the pipe's reader splits them
    for damaged in (cut, b"", b"\xff\xfe", b"null"):
        with pytest.raises(Damaged):
            case.decode(damaged)


# notified.json of no version is the one from before versions (below).
NO_VERSION = [c for c in CASES if c.json and c.name != "notified.json"]


@pytest.mark.parametrize("case", NO_VERSION, ids=[c.name for c in NO_VERSION])
def test_a_document_of_no_version_is_refused(case):
    document = json.loads(case.encode(case.value))
    del document["version"]
    with pytest.raises(UnknownVersion, match="has no version"):
        case.decode(json.dumps(document).encode())


def test_the_cursors_written_before_versions_are_still_read():
    # notified.json lives on the history's volume, which outlives an upgrade: no event is sent twice.
    old = b'{"targets": {"0123456789abcdef": 8}, "sampling_stopped": 1700000000.0}'
    assert decode_cursors(old) == Cursors({"0123456789abcdef": 8})


# --- from_plain: what a damaged field says ------------------------------------------------------------


@dataclass(frozen=True)
class Inner:
    when: float
    note: str | None = None


@dataclass(frozen=True)
class Outer:
    count: int
    flags: tuple[bool, ...]
    pair: tuple[int, str]
    by_name: dict[str, Inner] = field(default_factory=dict)


@pytest.mark.parametrize("plain, where", [
    ({"flags": [], "pair": [1, "a"]}, "'count' is missing"),
    ({"count": True, "flags": [], "pair": [1, "a"]}, "count: expected an integer, got true"),
    ({"count": 1.5, "flags": [], "pair": [1, "a"]}, "count: expected an integer, got 1.5"),
    ({"count": 1, "flags": [1], "pair": [1, "a"]}, r"flags\[0\]: expected true or false, got 1"),
    ({"count": 1, "flags": [], "pair": [1]}, "outer is damaged: pair: expected 2 items, got 1"),
    ({"count": 1, "flags": [], "pair": [1, "a"], "by_name": {"x": {"when": "soon"}}},
     r"by_name\.x\.when: expected a number, got \"soon\""),
    ({"count": 1, "flags": [], "pair": [1, "a"], "by_name": {"x": {"when": float("nan")}}},
     "by_name.x.when: expected a number, got NaN"),
    ({"count": 1, "flags": "yes", "pair": [1, "a"]}, 'flags: expected a list, got "yes"'),
    ([1, 2], "expected an object, got a list of 2"),
])
def test_a_field_of_another_type_is_damage_named_by_its_path(plain, where):
    with pytest.raises(Damaged, match=where):
        from_plain(Outer, plain, "outer")


def test_defaults_fill_what_an_older_writer_left_out_and_unknown_keys_are_ignored():
    plain = {"count": 1, "flags": [True], "pair": [2, "b"], "by_name": {"x": {"when": 3}}, "added_later": 1}
    assert from_plain(Outer, plain, "outer") == Outer(1, (True,), (2, "b"), {"x": Inner(3.0)})
    assert codec.to_plain(Outer(1, (True,), (2, "b"), {"x": Inner(3.0)})) == {
        "count": 1, "flags": [True], "pair": [2, "b"], "by_name": {"x": {"when": 3.0, "note": None}}}


def test_a_value_no_json_can_hold_is_never_written():
    with pytest.raises(ValueError):
        encode_document(1, Inner(float("inf")))


# --- readers that poll say a refused file once ----------------------------------------------------------


def test_a_polled_file_of_another_version_is_said_once_and_the_last_good_one_kept(tmp_path, caplog):
    path = tmp_path / "counters.json"
    reader = CountersReader(path)
    good = BY_NAME["counters.json"].value
    write_atomically(path, counters.encode(good))
    assert reader.current() == good
    write_atomically(path, another_version(BY_NAME["counters.json"]))
    for _ in range(3):  # /metrics, /readyz: every scrape and probe
        assert reader.current() == good  # refused: what it had, until the sampler writes a version it reads
    write_atomically(path, json.dumps({"version": 98}).encode())  # another refused version, at once
    assert reader.current() == good
    lines = [r for r in caplog.records if r.name == "frostserver.store"]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    assert lines[0].getMessage() == (
        f"{path}: the sampler's counters has version 99, and this FrostServer reads version 1 (another one wrote "
        "it); ignored until its writer replaces it")


def test_a_damaged_file_is_said_once_too_and_read_again_once_replaced(tmp_path, caplog):
    path = tmp_path / "latest.json"
    reader = LatestReader(path)
    write_atomically(path, b'{"version": 1, "seq": 3')
    assert [reader.read() for _ in range(3)] == [None, None, None]
    assert caplog.text.count("the newest readings is damaged: not JSON") == 1
    case = BY_NAME["latest.json"]
    write_atomically(path, case.encode(case.value))
    assert reader.read() == case.value


def test_a_worker_file_of_another_version_is_left_out_of_metrics_and_said_once(tmp_path, caplog):
    directory = tmp_path / workers.WORKERS_DIR
    directory.mkdir()
    write_atomically(directory / f"{os.getpid()}.json", json.dumps({"version": 2, "streams": 1}).encode())
    refusals = Refusals()
    assert [workers.read_worker_counters(tmp_path, refusals) for _ in range(3)] == [{}, {}, {}]
    assert caplog.text.count("a worker's counters has version 2") == 1
