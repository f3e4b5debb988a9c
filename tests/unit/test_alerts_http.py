"""Alerts over HTTP: /api/v1/alerts, the stream's alert events, sampling_stopped, from a real sampler's journal."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
import schemathesis

from frostserver.config.alerts import AlertsConfig
from frostserver.alerts.engine import AlertEngine
from frostserver.alerts.journal import AlertJournal
from frostserver.alerts.messages import notification
from frostserver.alerts.notifier import Notifier
from frostserver.alerts.sampling_stopped import judge, resumed
from frostserver.config.alert_rules import BUILTIN_RULES
from frostserver.http import create_app
from frostserver.http.alerts import alert_document
from frostserver.http.context import context
from frostserver.model import Reading, Sensor
from frostserver.sampler import Sampler
from frostserver.store.writer import StoreWriter

from sources import ListSource

GARDEN = Sensor("w1_slave_temp-virtual-0/temp1", "w1_slave_temp-virtual-0", "w1_slave_temp", "temp1",
                "temperature", "Garden", "°C")
SECRET_URL = "ntfy://ntfy.example/very-secret-topic"


@pytest.fixture
def clock():
    return [1_000_000.0]


@pytest.fixture
def app(tmp_path, clock):
    config = AlertsConfig(device_name="Shed", targets=(SECRET_URL,),
                          rules=tuple(replace(r, hold=0) if r.name == "frost" else r for r in BUILTIN_RULES))
    return create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "ring_seconds": 60,
                       "alerts": config}, clock=lambda: clock[0])


@pytest.fixture
def source():
    return ListSource()


@pytest.fixture
def sampler(app, source, clock):
    settings = context(app).settings
    store = StoreWriter.open(settings.run_dir, capacity=61, columns=16, interval=1.0)
    journal = AlertJournal.open(settings.run_dir, durable=False)
    engine = AlertEngine(settings.alerts.rules, frost_threshold=0.0, interval=1.0)
    s = Sampler({"hwmon": source}, store, clock=lambda: clock[0], alerts=(engine, journal))
    yield s
    s.close()


def stream_text(app, last_event_id: int, newest: int) -> str:
    """The stream's replay after last_event_id, up to the event of sample `newest`."""
    response = app.test_client().get("/api/v1/stream", headers={"Last-Event-ID": str(last_event_id)}, buffered=False)
    text = ""
    for chunk in response.response:  # the retry advice, then one chunk per replayed event
        text += chunk.decode()
        if f"id: {newest}\nevent: sample" in text:
            break
    response.close()
    return text


def test_alerts_document_before_any_alert(app):
    body = app.test_client().get("/api/v1/alerts").get_json()
    assert body == {"active": [], "recent": [], "notifications": {"targets": 1, "unusable": 0}}


def test_a_firing_alert_is_in_the_api_the_stream_and_metrics_and_no_secret_is(app, sampler, source, clock):
    source.pairs = [(GARDEN, Reading(3.0))]
    sampler.sample_once()
    clock[0] += 1
    source.pairs = [(GARDEN, Reading(-1.0))]
    seq = sampler.sample_once()
    client = app.test_client()
    response = client.get("/api/v1/alerts")
    assert response.headers["Cache-Control"] == "no-store"
    (active,) = response.get_json()["active"]
    assert active == {"key": f"frost/{GARDEN.id}", "rule": "frost", "sensor": GARDEN.id, "label": "Garden",
                      "severity": "critical",
                      "summary": "Garden at -1 °C: at or below the frost threshold (0 °C)",
                      "value": -1.0, "limit": 0.0, "unit": "°C", "fired_at": clock[0], "resolved_at": None,
                      "expected_at": None}
    text = stream_text(app, seq - 2, seq)
    alert_at, sample_at = text.index("event: alert"), text.index(f"id: {seq}\nevent: sample")
    assert f"id: {seq}\nevent: alert\ndata: " in text and alert_at < sample_at  # before its sample
    data = json.loads(text[alert_at:].split("data: ", 1)[1].split("\n", 1)[0])
    assert data["state"] == "firing" and data["key"] == f"frost/{GARDEN.id}"
    source.pairs = [(GARDEN, Reading(-1.5))]
    newer = sampler.sample_once()
    assert "event: alert" not in stream_text(app, seq, newer)  # resumed after it: not sent again
    scraped = client.get("/metrics").get_data(as_text=True)
    assert 'frost_alerts_firing{rule="frost"} 1.0' in scraped
    for text in (scraped, response.get_data(as_text=True)):
        assert "very-secret-topic" not in text


def test_sampling_stopped_fires_from_the_newest_samples_age_and_clears_with_a_new_one(app, sampler, source, clock):
    source.pairs = [(GARDEN, Reading(3.0))]
    sampler.sample_once()
    client = app.test_client()
    clock[0] += 119
    assert client.get("/api/v1/alerts").get_json()["active"] == []
    clock[0] += 2  # the rule's `for`: 120 s without a sample
    (stopped,) = client.get("/api/v1/alerts").get_json()["active"]
    assert stopped["key"] == "sampling_stopped" and stopped["sensor"] is None
    assert stopped["summary"] == "No sample for 2 min: sampling has stopped"
    assert 'frost_alerts_firing{rule="sampling_stopped"} 1.0' in client.get("/metrics").get_data(as_text=True)
    sampler.sample_once()
    assert client.get("/api/v1/alerts").get_json()["active"] == []


def test_the_alerts_document_matches_the_openapi_schema(app, sampler, source, clock):
    source.pairs = [(GARDEN, Reading(-3.0))]
    sampler.sample_once()
    clock[0] += 500  # and sampling_stopped too
    client = app.test_client()
    schema = schemathesis.openapi.from_dict(client.get("/api/v1/openapi.json").get_json())
    operation = schema["/api/v1/alerts"]["GET"]
    response = client.get("/api/v1/alerts")
    assert len(response.get_json()["active"]) == 2
    operation.validate_response(response)


class AlertEvents:
    """The live stream of an app, read an alert event at a time."""

    def __init__(self, app):
        self.response = app.test_client().get("/api/v1/stream", buffered=False)
        self.chunks = iter(self.response.response)
        self.text = ""

    def next(self) -> dict:
        """Return the data of the next alert event (sampling_stopped's: after a heartbeat, 1 s, without a sample)."""
        while "event: alert\ndata: " not in self.text:
            self.text += next(self.chunks).decode()
        line = self.text.split("event: alert\ndata: ", 1)[1]
        self.text = line.split("\n", 1)[1]
        return json.loads(line.split("\n", 1)[0])

    def close(self) -> None:
        self.response.close()


def test_the_api_the_stream_and_the_notifier_tell_the_same_sampling_stopped_alert(tmp_path, source, clock):
    # One judge (alerts/sampling_stopped.py), three renderings: the API's and the stream's JSON are
    # the same document, the notifier's message is worded from the same Alert.
    config = AlertsConfig(device_name="Shed", targets=(SECRET_URL,))
    app = create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "ring_seconds": 60,
                      "alerts": config, "stream_heartbeat": 1.0}, clock=lambda: clock[0])
    settings = context(app).settings
    sampler = Sampler({"hwmon": source}, StoreWriter.open(settings.run_dir, capacity=61, columns=16, interval=1.0),
                      clock=lambda: clock[0])
    notifier = Notifier(settings, lambda url, message: None, clock=lambda: clock[0])  # its targets' threads not started
    source.pairs = [(GARDEN, Reading(3.0))]
    sampler.sample_once()
    newest = clock[0]
    clock[0] += 500
    rule = next(r for r in settings.alerts.rules if r.name == "sampling_stopped")
    expected = judge(rule, newest, 1.0, since=0.0, now=clock[0])
    assert expected is not None and expected.summary == "No sample for 8 min: sampling has stopped"
    stream = AlertEvents(app)
    try:
        (api,) = app.test_client().get("/api/v1/alerts").get_json()["active"]
        streamed = stream.next()
        notifier.watch_sampling()
        (told,) = notifier.targets[0].queue
        assert api == alert_document(expected)
        assert streamed == {**alert_document(expected), "state": "firing"}
        assert (told.state, told.title, told.body) == ("firing", *notification("firing", expected, "Shed", None))

        # Its end, at the next sample: the stream and the notifier tell the same resolved alert.
        sampler.sample_once()
        ended = resumed(expected, clock[0])
        streamed = stream.next()
        notifier.watch_sampling()
        told = notifier.targets[0].queue[-1]
        assert streamed == {**alert_document(ended), "state": "resolved"}
        assert (told.state, told.title, told.body) == ("resolved", *notification("resolved", ended, "Shed", None))
        assert app.test_client().get("/api/v1/alerts").get_json()["active"] == []
    finally:
        stream.close()
        sampler.close()
