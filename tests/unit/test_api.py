"""The HTTP layer: routes, parameters and the one JSON error shape, over a real shared store."""
import json
import os

import pytest

from frostserver.http import create_app
from frostserver.http.context import context
from frostserver.model import ERROR, OK, Reading, Sensor, SysfsChannel
from frostserver.sampler import Sampler
from frostserver.store import LOCK_FILE
from frostserver.store.liveness import SamplerLock
from frostserver.store.writer import StoreWriter

from clocks import WallClock
from sources import ListSource


def temperature(chip: str, channel: str, label: str, **thresholds) -> Sensor:
    return Sensor(id=f"{chip}/{channel}", chip=chip, chip_name=chip.split("-")[0], channel=channel,
                  kind="temperature", label=label, unit="°C", thresholds=thresholds)


PACKAGE = temperature("coretemp-isa-0000", "temp1", "Package id 0", max=80.0, crit=100.0)
CORE0 = temperature("coretemp-isa-0000", "temp2", "Core 0")


@pytest.fixture
def source():
    return ListSource()


@pytest.fixture
def clock():
    return WallClock()


@pytest.fixture
def app(tmp_path, clock):
    return create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "ring_seconds": 60}, clock=clock)


@pytest.fixture
def sampler(app, source):
    settings = context(app).settings
    clock = iter(range(1000, 100000)).__next__
    store = StoreWriter.open(settings.run_dir, capacity=61, columns=16, interval=1.0)
    s = Sampler({"hwmon": source}, store, clock=lambda: float(clock()))
    yield s
    s.close()


@pytest.fixture
def sampler_alive(app):
    """Hold the sampler's lock, as a live sampler process does."""
    run_dir = context(app).settings.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = SamplerLock(run_dir / LOCK_FILE)
    yield lock
    lock.release()


@pytest.fixture
def client(app):
    return app.test_client()


def test_sensors_before_the_first_sample_is_an_empty_document(client):
    body = client.get("/api/v1/sensors").get_json()
    assert body["sensors"] == [] and body["sampled_at"] is None


def test_sensors_lists_every_reading_of_the_latest_sample(client, source, sampler):
    source.pairs = [(PACKAGE, Reading(45.0)), (CORE0, Reading(None, ERROR, "EIO"))]
    sampler.sample_once()
    response = client.get("/api/v1/sensors")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["sampled_at"] == 1000.0
    assert [(s["id"], s["label"], s["value"], s["status"], s["error"]) for s in body["sensors"]] == [
        ("coretemp-isa-0000/temp1", "Package id 0", 45.0, OK, None),
        ("coretemp-isa-0000/temp2", "Core 0", None, ERROR, "EIO"),
    ]
    assert body["sensors"][0]["thresholds"] == {"max": 80.0, "crit": 100.0}
    assert body["sensors"][0]["unit"] == "°C"


def test_sensor_reading_is_the_original_designs_name_for_the_same_document(client, source, sampler):
    source.pairs = [(PACKAGE, Reading(45.0))]
    sampler.sample_once()
    assert client.get("/sensor_reading").get_json() == client.get("/api/v1/sensors").get_json()


def test_one_sensor_by_id_and_an_unknown_id(client, source, sampler):
    source.pairs = [(PACKAGE, Reading(45.0))]
    sampler.sample_once()
    assert client.get("/api/v1/sensors/coretemp-isa-0000/temp1").get_json()["value"] == 45.0
    missing = client.get("/api/v1/sensors/nope/temp9")
    assert missing.status_code == 404 and "nope/temp9" in missing.get_json()["message"]


def test_history_returns_columnar_series(client, source, sampler):
    for value in (40.0, 41.0, 42.0):
        source.pairs = [(PACKAGE, Reading(value)), (CORE0, Reading(value - 10))]
        sampler.sample_once()
    body = client.get("/api/v1/history?seconds=60&sensor=coretemp-isa-0000/temp1").get_json()
    assert body["timestamps"] == [1000.0, 1001.0, 1002.0]
    assert body["series"] == {"coretemp-isa-0000/temp1": [40.0, 41.0, 42.0]}
    everything = client.get("/api/v1/history").get_json()
    assert set(everything["series"]) == {PACKAGE.id, CORE0.id}


def test_history_shows_a_missing_value_as_null(client, source, sampler):
    for reading in (Reading(40.0), Reading(None, ERROR, "EIO"), Reading(42.5)):
        source.pairs = [(PACKAGE, reading)]
        sampler.sample_once()
    response = client.get("/api/v1/history?sensor=coretemp-isa-0000/temp1")
    assert response.mimetype == "application/json" and b"NaN" not in response.data
    assert response.get_json()["series"] == {PACKAGE.id: [40.0, None, 42.5]}


def test_history_window_is_cut_to_the_seconds_asked_for(client, source, sampler):
    for value in range(10):
        source.pairs = [(PACKAGE, Reading(float(value)))]
        sampler.sample_once()
    body = client.get("/api/v1/history?seconds=2").get_json()
    assert body["timestamps"] == [1007.0, 1008.0, 1009.0]


@pytest.mark.parametrize("query, parameter", [
    ("seconds=abc", "seconds"),
    ("seconds=0", "seconds"),
    ("seconds=61", "seconds"),
    ("seconds=1e9", "seconds"),
    ("sensor=nope/temp1", "sensor"),
])
def test_bad_history_parameters_are_a_400_that_names_the_parameter(client, source, sampler, query, parameter):
    source.pairs = [(PACKAGE, Reading(45.0))]
    sampler.sample_once()
    response = client.get(f"/api/v1/history?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter and body["message"].startswith(parameter + ":")


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"] == "Not Found"


def test_wrong_method_is_a_json_405(client):
    response = client.post("/api/v1/sensors")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert response.get_json()["status"] == 405


def test_healthz_is_ok_and_readyz_follows_the_samplers_life(app, client, source, sampler, clock):
    assert client.get("/healthz").status_code == 200
    down = client.get("/readyz")
    assert down.status_code == 503 and down.get_json()["message"].startswith("the sampler is not running")
    lock = SamplerLock(context(app).settings.run_dir / LOCK_FILE)
    try:
        starting = client.get("/readyz")
        assert starting.status_code == 503 and "first sample" in starting.get_json()["message"]
        clock.now = 1000.5
        sampler.sample_once()
        ready = client.get("/readyz").get_json()
        assert (ready["status"], ready["samples"], ready["age"], ready["sampler"]) == ("ok", 1, 0.5, {"pid": os.getpid()})
        # However old the newest sample: a live sampler is judged by its liveness, not by a time limit.
        clock.now = 1100.0
        assert client.get("/readyz").status_code == 200
    finally:
        lock.release()
    assert client.get("/readyz").status_code == 503  # the sampler died: its lock went with it


def test_openapi_document_is_served(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/sensors" in document["paths"]


def test_a_bad_setting_refuses_to_run_and_says_why(tmp_path):
    app = create_app({"run_dir": tmp_path, "read_timeout": 0.0})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert "FROST_READ_TIMEOUT: must be between" in response.get_json()["message"]


def test_a_bug_is_never_reported_as_a_configuration_error(tmp_path, monkeypatch):
    import frostserver.http

    def buggy(*_, **__):
        raise ValueError("a bug, not a setting")

    monkeypatch.setattr(frostserver.http, "LiveSettings", buggy)
    with pytest.raises(ValueError, match="a bug"):  # it surfaces, instead of a JSON 503 blaming the config
        create_app({"run_dir": tmp_path})


def test_settings_come_from_the_environment(monkeypatch):
    from frostserver.config import SettingsError, load_settings

    settings = load_settings({"FROST_SYSFS_ROOT": "/host/sys", "FROST_READ_TIMEOUT": "0.25"})
    assert str(settings.sysfs_root) == "/host/sys" and settings.read_timeout == 0.25
    with pytest.raises(SettingsError, match="FROST_MAX_SENSORS: must be an integer, got 'lots'"):
        load_settings({"FROST_MAX_SENSORS": "lots"})


def test_stream_sends_retry_advice_then_the_latest_sample(client, source, sampler):
    source.pairs = [(PACKAGE, Reading(45.0))]
    sampler.sample_once()
    response = client.get("/api/v1/stream")
    assert response.mimetype == "text/event-stream" and response.headers["X-Accel-Buffering"] == "no"
    chunks = response.response
    assert next(chunks) == b"retry: 3000\n\n"
    event = next(chunks).decode()
    lines = dict(line.split(": ", 1) for line in event.strip().split("\n"))
    assert lines["id"] == "1" and lines["event"] == "sample"
    assert json.loads(lines["data"]) == {"t": 1000.0, "values": {PACKAGE.id: 45.0}, "status": {}}
    response.close()


def test_stream_resumes_after_last_event_id(client, source, sampler):
    for value in (40.0, 41.0, 42.0, 43.0):
        source.pairs = [(PACKAGE, Reading(value)), (CORE0, Reading(None, ERROR, "EIO"))]
        sampler.sample_once()
    response = client.get("/api/v1/stream", headers={"Last-Event-ID": "2"})
    chunks = response.response
    next(chunks)  # retry advice
    replayed = [next(chunks).decode() for _ in range(2)]
    assert [e.split("\n")[0] for e in replayed] == ["id: 3", "id: 4"]
    data = json.loads(replayed[0].split("data: ")[1])
    assert data["values"][PACKAGE.id] == 42.0 and data["status"] == {CORE0.id: "error"}
    response.close()


def test_the_config_file_comes_from_frost_config():
    from frostserver.config import load_settings

    settings = load_settings({"FROST_CONFIG": "/etc/frostserver/frostserver.toml"}, read_file=False)
    assert str(settings.config) == "/etc/frostserver/frostserver.toml"


def test_a_bad_config_file_refuses_to_run_naming_file_and_key(tmp_path):
    config = tmp_path / "frostserver.toml"
    config.write_text("[sampling]\nintervall = 2\n")
    app = create_app({"run_dir": tmp_path / "run", "config": config})
    message = app.test_client().get("/api/v1/sensors").get_json()["message"]
    assert str(config) in message and "sampling.intervall" in message


def test_openapi_document_is_valid_openapi_and_every_reference_resolves(client):
    import schemathesis
    from schemathesis.core.result import Ok

    schema = schemathesis.openapi.from_dict(client.get("/api/v1/openapi.json").get_json())
    schema.validate()  # against the OpenAPI 3.1 schema; raises on the first violation
    broken = [result.err() for result in schema.get_all_operations() if not isinstance(result, Ok)]
    assert broken == []


def test_history_being_rewritten_is_a_503_with_retry_after(app, client, source, sampler, monkeypatch):
    source.pairs = [(PACKAGE, Reading(45.0))]
    sampler.sample_once()
    monkeypatch.setattr(context(app).store, "window", lambda *args: None)  # a writer lapped the reader
    response = client.get("/api/v1/history")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert set(response.get_json()) == {"status", "error", "message"}


@pytest.mark.parametrize("template, path_parameters, query", [
    ("/api/v1/sensors", {}, {}),
    ("/sensor_reading", {}, {}),
    ("/api/v1/sensors/{sensor_id}", {"sensor_id": "coretemp-isa-0000/temp1"}, {}),
    ("/api/v1/sensors/{sensor_id}", {"sensor_id": "nope/temp9"}, {}),
    ("/api/v1/chips", {}, {}),
    ("/api/v1/history", {}, {"sensor": ["coretemp-isa-0000/temp2"], "seconds": 30}),
    ("/api/v1/history", {}, {"seconds": "abc"}),
    ("/healthz", {}, {}),
    ("/readyz", {}, {}),
    ("/metrics", {}, {}),
])
def test_answers_match_the_openapi_document(app, source, sampler, sampler_alive, clock, template, path_parameters,
                                            query):
    import schemathesis

    # A hwmon sensor with node_exporter's labels and raw values: /metrics plumbing, never in the public API.
    package = Sensor(**{**PACKAGE.__dict__, "sysfs": SysfsChannel("platform_coretemp_0", "coretemp", "temp1", None,
                                                                   {"max": 80000.0})})
    source.pairs = [(package, Reading(45.0, raw=(("input", 45000),))), (CORE0, Reading(None, ERROR, "EIO"))]
    sampler.sample_once()
    clock.now = 1000.5  # the sample is fresh: /readyz says ok
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    case = schema[template]["GET"].Case(path_parameters=path_parameters, query=query)
    case.call_and_validate()


def test_the_sensors_document_is_exactly_what_json_would_encode(client, source, sampler):
    from frostserver.http.documents import sensor_metadata

    pairs = [(PACKAGE, Reading(45.25, "alarm", None, ("max",))), (CORE0, Reading(None, ERROR, 'bad "quote"'))]
    source.pairs = pairs
    for _ in range(2):  # the second time from the cached metadata
        sampler.sample_once()
        body = client.get("/api/v1/sensors").get_json()
    expected = [dict(sensor_metadata(s), value=r.value, status=r.status, error=r.error, alarms=list(r.alarms))
                for s, r in pairs]
    assert body == {"sampled_at": 1001.0, "interval": 1.0, "frost_threshold": 0.0, "sensors": expected,
                    "device": {"name": "FrostServer", "units": "celsius"}, "revision": 0}
    one = client.get(f"/api/v1/sensors/{CORE0.id}")  # a slice of the same rendered document
    assert one.mimetype == "application/json" and one.get_json() == expected[1]


def test_the_sensors_document_is_rendered_once_per_sample(app, client, source, sampler, monkeypatch):
    from frostserver.http import documents

    renders = []
    real = documents.SensorDocuments._render
    monkeypatch.setattr(documents.SensorDocuments, "_render", lambda self, *a: renders.append(1) or real(self, *a))
    source.pairs = [(PACKAGE, Reading(45.0))]
    sampler.sample_once()
    for path in ("/api/v1/sensors", "/sensor_reading", f"/api/v1/sensors/{PACKAGE.id}") * 3:
        assert client.get(path).status_code == 200
    assert len(renders) == 1
    sampler.sample_once()
    assert client.get("/api/v1/sensors").status_code == 200 and len(renders) == 2


def test_the_stream_notifier_sleeps_until_the_next_sample_is_due():
    from frostserver.http.sample_events import SampleWatcher
    from frostserver.store.ring import Header

    notifier = SampleWatcher(store=None, clock=lambda: 1000.3)
    sampled = lambda at: Header(capacity=10, columns=4, busy=0, seq=5, last_timestamp=at, interval=1.0)
    assert notifier.delay(None) == SampleWatcher.LOOK_NOW_AND_THEN
    assert abs(notifier.delay(sampled(1000.0)) - 0.7) < 1e-9  # the next sample starts at 1001.0
    assert notifier.delay(sampled(999.2)) == SampleWatcher.LOOK_OFTEN  # due 0.1 s ago: being taken
    assert notifier.delay(sampled(990.0)) == SampleWatcher.LOOK_NOW_AND_THEN  # the sampler is late
    assert notifier.delay(sampled(4600.0)) == 1.0  # the clock went back an hour: one interval, not an hour


# --- chips and their settings -------------------------------------------------------------------------


def test_chips_show_the_settings_of_channels_without_a_reading(tmp_path):
    import chips
    from frostserver.sampler import build_sampler

    chips.build_zoo(tmp_path / "sys", ("nct6779", "asus_nb_wmi"))
    app = create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "read_timeout": 60.0})
    client = app.test_client()
    assert client.get("/api/v1/chips").get_json() == {"chips": {}}  # before the first sample
    sampler = build_sampler(context(app).settings)
    try:
        sampler.sample_once()
        document = client.get("/api/v1/chips").get_json()
        sensors = {s["id"] for s in client.get("/api/v1/sensors").get_json()["sensors"]}
    finally:
        sampler.close()
    assert set(document["chips"]) == {"nct6779-isa-0a20", "asus-isa-0000", "asus_wmi_sensors-isa-0000"}
    assert document["chips"]["asus-isa-0000"] == {"name": "asus", "adapter": "ISA adapter",
                                                  "settings": {"pwm1": {"enable": 2}}}
    nct = document["chips"]["nct6779-isa-0a20"]
    assert (nct["name"], nct["adapter"], list(nct["settings"])) == ("nct6779", "ISA adapter", ["pwm1"])
    assert nct["settings"]["pwm1"]["auto_point1_temp"] == 25000 and len(nct["settings"]["pwm1"]) == 29
    assert document["chips"]["asus_wmi_sensors-isa-0000"]["settings"] == {}
    # settings are no sensors with a null value
    assert "nct6779-isa-0a20/pwm1" not in sensors and "nct6779-isa-0a20/pwm2" in sensors
    assert not any(sid.startswith("asus-isa-0000/") for sid in sensors)


def test_the_chips_document_is_rendered_once_per_version(app, client, source, sampler, monkeypatch):
    from frostserver.http import chips as chip_documents

    renders = []
    real = chip_documents.chips_document
    monkeypatch.setattr(chip_documents, "chips_document", lambda c: renders.append(1) or real(c))
    source.pairs = [(PACKAGE, Reading(45.0))]
    for _ in range(3):
        sampler.sample_once()
        assert client.get("/api/v1/chips").get_json() == {"chips": {}}
    assert len(renders) == 1
