"""[mqtt], [forecast] and [derived.<name>] set from the browser (issues 23 and 24 on top of 22).

Over a real app, a real sampler and a real settings.db, as test_settings_http.py: the broker's
fields with their sources and the password write-only (never in an answer, the change log, the
export or a log line); FROST_MQTT_URL above the browser; the forecast's settings and the
frost_expected rule; a temperature and a humidity sensor paired into dew point, frost point and
absolute humidity, placed, removed, exported.
"""

from __future__ import annotations

import logging
import tomllib

import pytest

from frostserver.accounts.model import Role, Scope
from frostserver.http import create_app
from frostserver.http.context import context
from frostserver.model import Reading, Sensor
from frostserver.overrides import OverrideApplier
from frostserver.sampler import Sampler, build_alerts
from frostserver.store.writer import StoreWriter

from accounts_helpers import START, cheap_passwords
from clocks import WallClock
from sources import ListSource

PASSWORD = "correct horse battery staple"
ORIGIN = {"Origin": "http://localhost"}
AIR = Sensor("sht3x-i2c-1-44/temp1", "sht3x-i2c-1-44", "sht3x", "temp1", "temperature", "temp1", "°C")
RH = Sensor("sht3x-i2c-1-44/humidity1", "sht3x-i2c-1-44", "sht3x", "humidity1", "humidity", "humidity1", "%")
BROKER_SECRET = "s3cret-broker-pw"
CONFIG = """
frost_threshold = 0.5
[mqtt]
host = "file-broker.local"
discovery_prefix = "ha"
[customize."sht3x-i2c-1-44/temp1"]
place = "Greenhouse"
"""


class Rig:
    def __init__(self, app, sampler: Sampler, clock: WallClock):
        self.app, self.sampler, self.clock = app, sampler, clock
        self.admin = app.test_client()
        response = self.admin.post("/api/v1/session", json={"username": "ada", "password": PASSWORD}, headers=ORIGIN)
        assert response.status_code == 200, response.json
        self.csrf = response.json["csrf_token"]

    def send(self, method: str, path: str, body=None, **headers):
        return self.admin.open(path, method=method, json=body, headers={**ORIGIN, "X-CSRF-Token": self.csrf, **headers})

    def settings(self) -> dict:
        return self.admin.get("/api/v1/settings").get_json()

    def sample(self) -> None:
        self.sampler.sample_once()
        self.clock.now += 1.0


def make_rig(tmp_path, config: str, **more) -> Rig:
    path = tmp_path / "frostserver.toml"
    path.write_text(config)
    (tmp_path / "run").mkdir(exist_ok=True)
    clock = WallClock(START)
    app = create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "config": path, **more},
                     clock=clock, passwords=cheap_passwords())
    context(app).accounts.add_user("cli", "ada", PASSWORD, Role.ADMIN, "local")
    live = context(app).live
    settings = live.current().settings
    source = ListSource([(AIR, Reading(4.0)), (RH, Reading(80.0))])
    store = StoreWriter.open(tmp_path / "run", capacity=64, columns=16, interval=1.0)
    sampler = Sampler({"hwmon": source}, store, clock=clock, alerts=build_alerts(settings, always=True), live=live)
    sampler.overrides, sampler.settings = OverrideApplier(settings.sensor_overrides).apply, settings
    made = Rig(app, sampler, clock)
    made.sample()
    return made


@pytest.fixture
def rig(tmp_path):
    made = make_rig(tmp_path, CONFIG)
    yield made
    made.sampler.close()


# --- the MQTT broker ----------------------------------------------------------------------------


def test_the_broker_set_here_replaces_the_files_with_the_password_write_only(rig, caplog):
    caplog.set_level(logging.DEBUG)
    before = rig.settings()["mqtt"]
    assert before["host"] == {"value": "file-broker.local", "source": "file", "file_value": "file-broker.local"}
    assert before["password"]["value"] is None and before["discovery_prefix"]["value"] == "ha"
    response = rig.send("PATCH", "/api/v1/settings", {"mqtt": {
        "host": "broker.lan", "port": 8883, "tls": True, "username": "frost", "password": BROKER_SECRET,
        "min_interval": "20s", "max_interval": "10m"}})
    assert response.status_code == 200, response.json
    mqtt = response.get_json()["mqtt"]
    assert mqtt["broker"] == {"value": "mqtts://broker.lan:8883", "source": "browser",
                              "file_value": "mqtt://file-broker.local:1883"}
    assert mqtt["host"] == {"value": "broker.lan", "source": "browser", "file_value": "file-broker.local"}
    assert mqtt["password"] == {"value": "…", "source": "browser", "file_value": None}
    assert (mqtt["min_interval"]["value"], mqtt["max_interval"]["value"]) == (20.0, 600.0)
    assert mqtt["discovery_prefix"] == {"value": "ha", "source": "file", "file_value": "ha"}  # not the broker's
    settings = context(rig.app).live.current().settings.mqtt
    assert (settings.host, settings.port, settings.tls, settings.password) == ("broker.lan", 8883, True, BROKER_SECRET)
    rig.sample()
    assert rig.sampler.settings.mqtt.host == "broker.lan"  # the publisher's process reads the same layer
    # Write-only: in no answer, the change log, the export, a log line.
    changes = rig.admin.get("/api/v1/settings/changes").get_data(as_text=True)
    export = rig.admin.get("/api/v1/settings/export").get_data(as_text=True)
    for text in (rig.admin.get("/api/v1/settings").get_data(as_text=True), changes, export, caplog.text,
                 rig.admin.get("/metrics").get_data(as_text=True)):
        assert BROKER_SECRET not in text
    assert "mqtt.password" in changes  # the field changed, never its value
    assert "[mqtt] password is left out" in export
    assert tomllib.loads(export)["mqtt"] == {"host": "broker.lan", "port": 8883, "tls": True, "username": "frost",
                                             "discovery_prefix": "ha", "min_interval": "20s", "max_interval": "10m"}


def test_removing_the_broker_set_here_gives_the_files_back_and_a_url_replaces_host(rig):
    rig.send("PATCH", "/api/v1/settings", {"mqtt": {"host": "broker.lan", "username": "u", "password": "pw"}})
    url = rig.send("PATCH", "/api/v1/settings", {"mqtt": {"url": "mqtt://frost:pw2@other.lan:1884"}}).get_json()
    assert url["mqtt"]["url"]["value"] == "mqtt://other.lan:1884"  # never its user or password
    assert url["mqtt"]["host"] == {"value": "other.lan", "source": "browser", "file_value": "file-broker.local"}
    assert "pw2" not in str(url)
    removed = rig.send("DELETE", "/api/v1/settings/mqtt")
    assert removed.status_code == 200, removed.json
    assert removed.get_json()["mqtt"]["broker"]["value"] == "mqtt://file-broker.local:1883"
    assert removed.get_json()["mqtt"]["broker"]["source"] == "file"
    off = rig.send("PATCH", "/api/v1/settings", {"mqtt": {"enabled": False}}).get_json()
    assert off["mqtt"]["enabled"] == {"value": False, "source": "browser", "file_value": True}
    assert context(rig.app).live.current().settings.mqtt.enabled is False


def test_a_broker_only_in_the_browser_and_its_removal(tmp_path):
    rig = make_rig(tmp_path, "frost_threshold = 0.5\n")
    try:
        assert rig.settings()["mqtt"]["broker"] == {"value": None, "source": "default", "file_value": None}
        rig.send("PATCH", "/api/v1/settings", {"mqtt": {"host": "10.0.0.5"}})
        assert context(rig.app).live.current().settings.mqtt.shown == "mqtt://10.0.0.5:1883"
        assert rig.send("PATCH", "/api/v1/settings", {"mqtt": None}).get_json()["mqtt"]["broker"]["value"] is None
        assert context(rig.app).live.current().settings.mqtt is None
    finally:
        rig.sampler.close()


@pytest.mark.parametrize(("mqtt", "field", "words"), [
    ({"host": "bad host!"}, "mqtt.host", "host name or an IP address"),
    ({"host": "b.lan", "port": 70000}, "mqtt.port", "65535"),
    ({"host": "b.lan", "port": 1.5}, "mqtt.port", "whole port number"),
    ({"url": "http://b.lan"}, "mqtt.url", "mqtt:// or mqtts://"),
    ({"host": "b.lan", "password": "pw-alone"}, "mqtt.password", "needs a user name"),
    ({"min_interval": "0s"}, "mqtt.min_interval", "at least"),
    ({"discovery_prefix": "ha/#"}, "mqtt.discovery_prefix", "topic levels"),
    ({"colour": "red"}, "mqtt.colour", "unknown"),
])
def test_a_bad_broker_is_a_400_naming_the_field_that_never_repeats_a_password(rig, mqtt, field, words):
    before = rig.settings()["revision"]
    response = rig.send("PATCH", "/api/v1/settings", {"mqtt": mqtt})
    assert response.status_code == 400, response.json
    error = response.get_json()
    assert error["field"] == field and words in error["message"], error
    assert "pw-alone" not in error["message"]
    assert rig.settings()["revision"] == before


def test_frost_mqtt_url_in_the_environment_stays_above_the_browser(tmp_path):
    rig = make_rig(tmp_path, CONFIG, mqtt_url="mqtts://env:envpass@env-broker.lan:8883")
    try:
        mqtt = rig.settings()["mqtt"]
        assert mqtt["broker"]["value"] == "mqtts://env-broker.lan:8883" and mqtt["broker"]["source"] == "environment"
        assert mqtt["host"]["source"] == "environment" and mqtt["password"]["value"] == "…"
        refused = rig.send("PATCH", "/api/v1/settings", {"mqtt": {"host": "broker.lan"}})
        assert refused.status_code == 409 and refused.get_json()["field"] == "mqtt.host"
        assert "FROST_MQTT_URL" in refused.get_json()["message"]
        # What is not the broker may still be set here.
        prefix = rig.send("PATCH", "/api/v1/settings", {"mqtt": {"discovery_prefix": "home"}})
        assert prefix.status_code == 200 and prefix.get_json()["mqtt"]["discovery_prefix"]["source"] == "browser"
        export = rig.admin.get("/api/v1/settings/export").get_data(as_text=True)
        assert "envpass" not in export and "env-broker" not in export and "FROST_MQTT_URL" in export
        assert "mqtt" not in tomllib.loads(export)
    finally:
        rig.sampler.close()


# --- the frost forecast -------------------------------------------------------------------------


def test_every_forecast_setting_and_the_frost_expected_rule_change_and_reset(rig):
    response = rig.send("PATCH", "/api/v1/settings", {"forecast": {
        "window": "30m", "min_data": "10m", "lead_time": "2h", "places": ["Greenhouse"], "sensors": []}})
    assert response.status_code == 200, response.json
    forecast = response.get_json()["forecast"]
    assert forecast["window"] == {"value": 1800.0, "source": "browser", "file_value": 3600.0}
    assert forecast["places"] == {"value": ["Greenhouse"], "source": "browser", "file_value": []}
    assert forecast["lead_time"]["value"] == 7200.0 and forecast["enabled"]["source"] == "default"
    rig.sample()
    assert rig.sampler.settings.forecast.places == ("Greenhouse",)
    bad = rig.send("PATCH", "/api/v1/settings", {"forecast": {"min_data": "2h"}})
    assert bad.status_code == 400 and bad.get_json()["field"] == "forecast.min_data"
    rule = rig.send("PATCH", "/api/v1/settings/rules/frost_expected",
                    {"for": "20m", "hysteresis": 1.0, "places": ["Greenhouse"], "enabled": False})
    assert rule.status_code == 200, rule.json
    assert rule.get_json()["for"]["value"] == 1200.0 and rule.get_json()["places"]["value"] == ["Greenhouse"]
    reset = rig.send("PATCH", "/api/v1/settings", {"forecast": None}).get_json()["forecast"]
    assert all(entry["source"] == "default" for entry in reset.values())
    export = tomllib.loads(rig.admin.get("/api/v1/settings/export").get_data(as_text=True))
    assert export["alerts"]["rules"]["frost_expected"]["for"] == "20m" and "forecast" not in export


def test_a_forecast_chosen_by_place_selects_the_sensors_of_that_place(rig):
    from frostserver.config.forecast import ForecastConfig

    placed = ForecastConfig(places=("Greenhouse",))
    greenhouse = Sensor("a-isa-0000/temp1", "a-isa-0000", "a", "temp1", "temperature", "temp1", "°C",
                        place="Greenhouse")
    unsorted = Sensor("a-isa-0000/temp2", "a-isa-0000", "a", "temp2", "temperature", "temp2", "°C")
    assert placed.selects(greenhouse, False) and not placed.selects(unsorted, True)
    assert ForecastConfig(places=("Unsorted",)).selects(unsorted, False)
    assert ForecastConfig().selects(unsorted, True) and not ForecastConfig().selects(unsorted, False)


# --- derived pairs --------------------------------------------------------------------------------


def test_a_pair_made_here_gives_its_sensors_within_a_sample_in_its_place_and_goes_again(rig):
    for _ in range(3):
        rig.sample()
    response = rig.send("PUT", "/api/v1/settings/derived/greenhouse",
                        {"temperature": AIR.id, "humidity": RH.id, "label": "Greenhouse air", "place": "Greenhouse"})
    assert response.status_code == 200, response.json
    pair = response.get_json()
    assert pair["temperature"] == {"value": AIR.id, "source": "browser", "file_value": None}
    assert pair["place"]["value"] == "Greenhouse"
    settings = rig.settings()
    assert settings["derived"]["greenhouse"]["label"]["value"] == "Greenhouse air"
    # Its sensors' place is the pair's, said so on their sheets.
    placed = settings["sensors"]["derived/greenhouse/dew_point"]["place"]
    assert placed == {"value": "Greenhouse", "source": "browser", "file_value": None}
    rig.sample()
    rig.sample()
    sensors = {s["id"]: s for s in rig.admin.get("/api/v1/sensors").get_json()["sensors"]}
    dew = sensors["derived/greenhouse/dew_point"]
    assert dew["label"] == "Greenhouse air dew point" and dew["place"] == "Greenhouse"
    assert dew["value"] == pytest.approx(0.8, abs=0.2)  # 4 °C at 80 %RH (Magnus)
    assert "derived/greenhouse/absolute_humidity" in sensors and "derived/greenhouse/frost_point" in sensors
    # Its history starts with it: no value before (the ring's new column is absent there, not 0.0).
    history = rig.admin.get("/api/v1/history?seconds=60&sensor=derived/greenhouse/dew_point").get_json()
    series = history["series"]["derived/greenhouse/dew_point"]
    assert series[-2:] == [dew["value"]] * 2 and set(series[:-2]) == {None} and len(series) >= 5
    export = tomllib.loads(rig.admin.get("/api/v1/settings/export").get_data(as_text=True))
    assert export["derived"]["greenhouse"] == {"temperature": AIR.id, "humidity": RH.id, "label": "Greenhouse air",
                                               "place": "Greenhouse"}
    assert rig.send("DELETE", "/api/v1/settings/derived/greenhouse").status_code == 204
    assert "greenhouse" not in rig.settings()["derived"]
    rig.sample()
    ids = {s["id"] for s in rig.admin.get("/api/v1/sensors").get_json()["sensors"]}
    assert not any(sensor_id.startswith("derived/greenhouse/") for sensor_id in ids)
    assert rig.send("DELETE", "/api/v1/settings/derived/greenhouse").status_code == 404


@pytest.mark.parametrize(("name", "body", "field", "words"), [
    ("g", {"temperature": RH.id, "humidity": RH.id}, "temperature", "a pair needs a measured temperature"),
    ("g", {"temperature": AIR.id, "humidity": "nosuch-isa-0000/humidity1"}, "humidity", "no sensor with id"),
    ("g", {"temperature": AIR.id}, "humidity", "needs a humidity"),
    ("g", {"temperature": AIR.id, "humidity": RH.id, "label": ""}, "label", "1 to 48"),
    ("g", {"temperature": AIR.id, "humidity": RH.id, "place": "a\nb"}, "place", "control characters"),
    ("g", {"temperature": AIR.id, "humidity": RH.id, "colour": 1}, "colour", "unknown field"),
    ("bad name!", {"temperature": AIR.id, "humidity": RH.id}, "name", "letters, digits"),
])
def test_a_bad_pair_is_a_400_naming_the_field(rig, name, body, field, words):
    response = rig.send("PUT", f"/api/v1/settings/derived/{name}", body)
    assert response.status_code == 400, response.json
    assert response.get_json()["field"] == field and words in response.get_json()["message"], response.json
    assert rig.settings()["derived"] == {}


def test_a_pair_of_the_config_file_is_not_removed_here(tmp_path):
    config = CONFIG + f'[derived.shed]\ntemperature = "{AIR.id}"\nhumidity = "{RH.id}"\n'
    rig = make_rig(tmp_path, config)
    try:
        assert rig.settings()["derived"]["shed"]["temperature"]["source"] == "file"
        assert rig.send("DELETE", "/api/v1/settings/derived/shed").status_code == 409
        relabelled = rig.send("PUT", "/api/v1/settings/derived/shed",
                              {"temperature": AIR.id, "humidity": RH.id, "label": "Shed"}).get_json()
        assert relabelled["label"] == {"value": "Shed", "source": "browser", "file_value": "shed"}
        assert rig.send("DELETE", "/api/v1/settings/derived/shed").status_code == 204  # the browser's part
        assert rig.settings()["derived"]["shed"]["label"]["value"] == "shed"
    finally:
        rig.sampler.close()


def test_a_viewer_or_a_read_token_cannot_set_the_broker_a_forecast_or_a_pair(rig):
    _, text = context(rig.app).accounts.add_token("ada", "reader", Scope.READ, "local")
    auth = {"Authorization": f"Bearer {text}"}
    client = rig.app.test_client()
    assert client.patch("/api/v1/settings", json={"mqtt": {"host": "x.lan"}}, headers=auth).status_code == 403
    assert client.put("/api/v1/settings/derived/g", json={"temperature": AIR.id, "humidity": RH.id},
                      headers=auth).status_code == 403
    assert client.delete("/api/v1/settings/mqtt", headers=auth).status_code == 403
    assert client.delete("/api/v1/settings/derived/g", headers=ORIGIN).status_code == 401


def test_a_broker_url_with_credentials_is_exported_as_its_parts_without_the_password(tmp_path):
    rig = make_rig(tmp_path, '[mqtt]\nurl = "mqtts://frost:filepw-77@b.lan:8884"\nmin_interval = "20s"\n')
    try:
        mqtt = rig.settings()["mqtt"]
        assert mqtt["url"]["value"] == "mqtts://b.lan:8884" and mqtt["password"]["value"] == "…"
        assert mqtt["host"] == {"value": "b.lan", "source": "file", "file_value": "b.lan"}
        text = rig.admin.get("/api/v1/settings/export").get_data(as_text=True)
        assert "filepw-77" not in text and "[mqtt] password is left out" in text
        assert tomllib.loads(text)["mqtt"] == {"host": "b.lan", "port": 8884, "tls": True, "username": "frost",
                                               "min_interval": "20s"}
        imported = rig.admin.post("/api/v1/settings/import", data=text, content_type="application/toml",
                                  headers={**ORIGIN, "X-CSRF-Token": rig.csrf})
        assert imported.status_code == 200, imported.json
        # Imported again on this device: the file's broker stays, with its password.
        mqtt = imported.get_json()["mqtt"]
        assert mqtt["host"]["source"] == "file" and mqtt["password"]["value"] == "…"
        assert mqtt["min_interval"]["source"] == "browser"
        assert context(rig.app).live.current().settings.mqtt.password == "filepw-77"
    finally:
        rig.sampler.close()


def test_an_export_imported_again_keeps_the_password_of_the_broker_set_here(rig):
    rig.send("PATCH", "/api/v1/settings", {"mqtt": {"host": "broker.lan", "username": "frost", "password": BROKER_SECRET}})
    text = rig.admin.get("/api/v1/settings/export").get_data(as_text=True)
    assert BROKER_SECRET not in text
    again = rig.admin.post("/api/v1/settings/import", data=text, content_type="application/toml",
                           headers={**ORIGIN, "X-CSRF-Token": rig.csrf})
    assert again.status_code == 200 and again.get_json()["mqtt"]["password"]["value"] == "…"
    assert context(rig.app).live.current().settings.mqtt.password == BROKER_SECRET
    # Another broker in the import: no password carried over to it.
    other = text.replace('host = "broker.lan"', 'host = "other.lan"')
    moved = rig.admin.post("/api/v1/settings/import", data=other, content_type="application/toml",
                           headers={**ORIGIN, "X-CSRF-Token": rig.csrf})
    assert moved.status_code == 200 and moved.get_json()["mqtt"]["password"]["value"] is None
