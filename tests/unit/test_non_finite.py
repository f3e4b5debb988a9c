"""No NaN or infinity in any JSON: refused by the sampler, and written as null at the edge anyway.

A compute that gave NaN made /api/v1/sensors answer 500 ("Out of range float values are not JSON
compliant"); an infinity reached the stream as a bare `Infinity`, which JSON.parse refuses.
"""

from __future__ import annotations

import json
import logging
import math
from array import array

import pytest

from frostserver.alerts.messages import FIRING
from frostserver.finite import FiniteGuard
from frostserver.http import create_app, json_text
from frostserver.http.context import context
from frostserver.alerts.alert import Alert
from frostserver.http.alerts import alert_document, encode_alert_event
from frostserver.http.documents import SensorDocuments
from frostserver.http.json_text import dumps, number
from frostserver.http.sample_events import SampleWatcher, encode_event
from frostserver.logs import RepeatLimiter
from frostserver.model import ERROR, OK, Reading, Sample, Sensor
from frostserver.sampler import Sampler
from frostserver.store.ring import STATUS_CODES, Series
from frostserver.store.writer import StoreWriter

from sources import ListSource

NON_FINITE = [math.nan, math.inf, -math.inf]


def strict(text: str | bytes) -> object:
    """Parse JSON as a browser does: NaN, Infinity and -Infinity are syntax errors."""

    def refuse(constant: str) -> object:
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def event_data(event: bytes) -> object:
    (data,) = [line[len(b"data: "):] for line in event.split(b"\n") if line.startswith(b"data: ")]
    return strict(data)


def sensor(channel: str, **thresholds: float) -> Sensor:
    return Sensor(id=f"board-isa-0000/{channel}", chip="board-isa-0000", chip_name="board", channel=channel,
                  kind="temperature", label=channel, unit="°C", thresholds=thresholds)


@pytest.fixture
def edge_warnings(monkeypatch):
    """Collect the encoder's warnings, with its rate limit starting afresh."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    # Its own handler: create_app's configure_logging stops frostserver's records propagating.
    json_text.log.addHandler(handler)
    monkeypatch.setattr(json_text, "_repeats", RepeatLimiter(json_text.log))
    yield lambda: [record.getMessage() for record in records if record.levelno == logging.WARNING]
    json_text.log.removeHandler(handler)


# --- The source: the sampler lets none through ---------------------------------------------------


@pytest.fixture
def app(tmp_path):
    return create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "ring_seconds": 60})


@pytest.fixture
def sampled(app):
    """A sample whose source gave NaN, +inf and -inf values and limits, taken by a real Sampler."""
    settings = context(app).settings
    store = StoreWriter.open(settings.run_dir, capacity=61, columns=16, interval=1.0)
    source = ListSource([
        (sensor("temp1", max=math.nan, crit=math.inf, min=-math.inf, high=80.0), Reading(math.nan)),
        (sensor("temp2"), Reading(math.inf, OK, uncomputed=1.0)),
        (sensor("temp3"), Reading(-math.inf)),
        (sensor("temp4", max=80.0), Reading(45.5)),
    ])
    sampler = Sampler({"hwmon": source}, store, clock=lambda: 1000.0)
    sampler.sample_once()
    yield app.test_client()
    sampler.close()


def test_the_sampler_turns_non_finite_values_into_errors_and_leaves_out_such_limits():
    guard = FiniteGuard()
    first = sensor("temp1", max=math.nan, crit=80.0)
    pairs = [(first, Reading(math.inf)), (sensor("temp2"), Reading(21.0))]
    checked = guard.check(pairs)
    assert checked[0][1] == Reading(None, ERROR, "value is not finite")
    assert checked[0][0].thresholds == {"crit": 80.0} and checked[0][0].id == first.id
    assert checked[1] is pairs[1]
    assert guard.check(pairs)[0][0] is checked[0][0]  # one cleaned Sensor per Sensor: caches downstream hold
    clean = [(sensor("temp2"), Reading(21.0))]
    assert guard.check(clean) is clean  # nothing to change: nothing copied


def test_the_api_serves_no_value_with_a_reason_and_answers_200(sampled):
    for path in ("/api/v1/sensors", "/sensor_reading"):
        response = sampled.get(path)
        assert response.status_code == 200, path
        found = {s["id"]: s for s in strict(response.data)["sensors"]}
        for channel in ("temp1", "temp2", "temp3"):
            assert (found[f"board-isa-0000/{channel}"]["value"], found[f"board-isa-0000/{channel}"]["status"],
                    found[f"board-isa-0000/{channel}"]["error"]) == (None, ERROR, "value is not finite")
        assert found["board-isa-0000/temp1"]["thresholds"] == {"high": 80.0}
        assert found["board-isa-0000/temp4"]["value"] == 45.5
    one = sampled.get("/api/v1/sensors/board-isa-0000/temp2")
    assert one.status_code == 200 and strict(one.data)["value"] is None


def test_metrics_leave_a_non_finite_value_out_and_answer_200(sampled):
    response = sampled.get("/metrics")
    assert response.status_code == 200
    values = [line for line in response.get_data(as_text=True).splitlines() if line.startswith("frost_sensor_value")]
    assert len(values) == 1 and 'sensor="board-isa-0000/temp4"' in values[0]


def test_the_stream_event_of_such_a_sample_is_valid_json(app, sampled):
    (event,) = SampleWatcher(context(app).store).events(1, 1)
    data = event_data(event)
    assert data["values"] == {f"board-isa-0000/temp{n}": None for n in (1, 2, 3)} | {"board-isa-0000/temp4": 45.5}
    assert data["status"] == {f"board-isa-0000/temp{n}": ERROR for n in (1, 2, 3)}


# --- The edge: whatever arrives is null, logged, never a 500 -------------------------------------


@pytest.mark.parametrize("bad", NON_FINITE)
def test_dumps_writes_non_finite_numbers_as_null_wherever_they_are(bad, edge_warnings):
    value = {"a": bad, "b": [1.5, bad, (bad, 2)], "c": {"d": bad}, "e": "NaN", "f": None}
    assert strict(dumps(value, "a test")) == {"a": None, "b": [1.5, None, [None, 2]], "c": {"d": None},
                                               "e": "NaN", "f": None}
    assert number(bad, "a test") == "null"
    assert number(None, "a test") == "null" and number(2.5, "a test") == "2.5"
    assert len(edge_warnings()) == 1  # then at most once per 5 minutes, with a count of the rest
    assert "a test held a number that is not finite" in edge_warnings()[0]


def test_dumps_is_compact_and_keeps_text_as_text():
    assert dumps({"label": "Garten \u2744 °C", "v": 1.0}, "a test") == '{"label":"Garten \u2744 °C","v":1.0}'


def test_dumps_still_raises_for_what_is_not_a_number_problem():
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps(loop, "a test")


@pytest.mark.parametrize("bad", NON_FINITE)
def test_the_sensors_document_renders_non_finite_values_and_limits_as_null(tmp_path, bad, edge_warnings):
    store = StoreWriter.open(tmp_path / "run", capacity=4, columns=4, interval=1.0)
    documents = SensorDocuments(store_reader(tmp_path), 1.0, 0.5)
    sample = Sample(1, 1000.0, ((sensor("temp1", max=bad), Reading(bad, uncomputed=bad)),))
    body = strict(documents._render(None, sample).body)
    (rendered,) = body["sensors"]
    assert (rendered["value"], rendered["thresholds"]) == (None, {"max": None})
    assert "raw_value" not in rendered  # a number when present (openapi.json)
    assert edge_warnings()
    store.close()


@pytest.mark.parametrize("bad", NON_FINITE)
def test_a_stream_event_writes_a_non_finite_value_as_null(bad):
    window = Series(array("d", [1000.0]), {"a/temp1": array("d", [bad]), "a/temp2": array("d", [2.0])},
                    {"a/temp1": bytes([STATUS_CODES[OK]]), "a/temp2": bytes([STATUS_CODES[OK]])}, 7)
    assert event_data(encode_event(7, 1000.0, window, 0))["values"] == {"a/temp1": None, "a/temp2": 2.0}


@pytest.mark.parametrize("bad", NON_FINITE)
def test_an_alert_event_and_the_alerts_document_write_non_finite_numbers_as_null(app, bad):
    alert = Alert("hot/a", "hot", "a", "A", "warning", "A is hot", value=bad, limit=bad, unit="", fired_at=1000.0)
    assert event_data(encode_alert_event(FIRING, alert, 3)) == {**alert_document(alert), "value": None, "limit": None,
                                                               "state": FIRING}
    reader = context(app).alerts
    reader.document = lambda: {"active": [alert_document(alert)], "recent": [], "notifications": {}}
    response = app.test_client().get("/api/v1/alerts")
    assert response.status_code == 200
    assert strict(response.data)["active"][0]["value"] is None


@pytest.mark.parametrize("bad", NON_FINITE)
def test_flasks_jsonify_goes_through_the_same_encoder(app, bad):
    with app.app_context():
        response = app.json.response({"a": bad, "label": "é"})
    assert strict(response.get_data()) == {"a": None, "label": "é"}
    assert "é" in response.get_data(as_text=True)  # text as is, not \u00e9


def store_reader(tmp_path):
    from frostserver.store.reader import StoreReader

    return StoreReader(tmp_path / "run")
