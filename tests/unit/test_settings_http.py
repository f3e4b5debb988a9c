"""The settings API over a real app, a real sampler and a real settings.db: issue 22's routes.

Who may write (an admin's session with its CSRF token, a write token; never a viewer, a read token or
nobody), what a change answers (the sensor as GET will show it, before the sampler's next sample),
the 400s naming their field for the hostile values, the 409 for a stale revision, the sources and
file values, write-only targets, export and import, the change log; and what a typed name becomes
in JSON, /metrics and the CSV.
"""
from __future__ import annotations

import csv
import io
import json
import tomllib

import pytest

from frostserver.http import create_app
from frostserver.http import settings as settings_api
from frostserver.http.context import context
from frostserver.model import Reading, Sensor
from frostserver.sampler import Sampler, build_alerts
from frostserver.store.writer import StoreWriter

from accounts_helpers import START, cheap_passwords
from clocks import WallClock
from sources import ListSource

PASSWORD = "correct horse battery staple"
ORIGIN = {"Origin": "http://localhost"}
PROBE = Sensor("w1-0-28-000005e2fdc3/temp1", "w1-0-28-000005e2fdc3", "w1_slave_temp", "temp1", "temperature",
               "temp1", "°C", thresholds={"max": 50.0})
FAN = Sensor("nct6798-isa-0290/fan1", "nct6798-isa-0290", "nct6798", "fan1", "fan", "fan1", "RPM")
SECRET_URL = "ntfy://tk_secret_12345@ntfy.example/greenhouse"
CONFIG = f"""
frost_threshold = 0.5
[relabel]
"{FAN.id}" = "CPU fan"
[alerts]
notify = ["{SECRET_URL}"]
[alerts.rules.frost]
for = "10m"
[customize."{PROBE.id}"]
place = "Garden"
"""
HOSTILE = ["<img src=x onerror=alert(1)>", '=HYPERLINK("http://x")']


class Rig:
    def __init__(self, app, sampler: Sampler, source: ListSource, clock: WallClock):
        self.app, self.sampler, self.source, self.clock = app, sampler, source, clock
        self.admin, self.csrf = self.sign_in("ada")
        self.viewer, self.viewer_csrf = self.sign_in("vic")

    def sign_in(self, name: str):
        client = self.app.test_client()
        response = client.post("/api/v1/session", json={"username": name, "password": PASSWORD}, headers=ORIGIN)
        assert response.status_code == 200, response.json
        return client, response.json["csrf_token"]

    def headers(self, **more) -> dict[str, str]:
        return {**ORIGIN, "X-CSRF-Token": self.csrf, **more}

    def patch(self, path: str, body, **headers):
        kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {"json": body}
        return self.admin.patch(path, headers=self.headers(**headers), **kwargs)

    def sample(self) -> None:
        self.sampler.sample_once()
        self.clock.now += 1.0

    def sensor(self, sensor_id: str = PROBE.id) -> dict:
        return self.admin.get(f"/api/v1/sensors/{sensor_id}").get_json()

    def token(self, scope: str) -> dict[str, str]:
        from frostserver.accounts.model import Scope

        _, text = context(self.app).accounts.add_token("ada", f"t-{scope}", Scope(scope), "local")
        return {"Authorization": f"Bearer {text}"}


@pytest.fixture
def rig(tmp_path):
    from frostserver.accounts.model import Role

    config = tmp_path / "frostserver.toml"
    config.write_text(CONFIG)
    (tmp_path / "run").mkdir()
    clock = WallClock(START)
    app = create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "config": config},
                     clock=clock, passwords=cheap_passwords())
    accounts = context(app).accounts
    accounts.add_user("cli", "ada", PASSWORD, Role.ADMIN, "local")
    accounts.add_user("cli", "vic", PASSWORD, Role.VIEWER, "local")
    live = context(app).live
    source = ListSource([(PROBE, Reading(20.0)), (FAN, Reading(1200.0))])
    settings = live.current().settings
    store = StoreWriter.open(tmp_path / "run", capacity=64, columns=8, interval=1.0)
    sampler = Sampler({"hwmon": source}, store, clock=clock, alerts=build_alerts(settings, always=True), live=live)
    from frostserver.overrides import OverrideApplier

    sampler.overrides, sampler.settings = OverrideApplier(settings.sensor_overrides).apply, settings
    made = Rig(app, sampler, source, clock)
    made.sample()
    yield made
    sampler.close()


def revision(rig) -> int:
    return rig.admin.get("/api/v1/settings").get_json()["revision"]


# --- a sensor ------------------------------------------------------------------------------------


def test_a_change_is_answered_as_get_will_show_it_before_the_sampler_applies_it(rig):
    response = rig.patch(f"/api/v1/sensors/{PROBE.id}", {"label": "Greenhouse floor", "place": "Greenhouse",
                                                         "order": 2, "hidden": True, "offset": 0.5,
                                                         "limits": {"low": 1.0, "high": 35.0}})
    assert response.status_code == 200, response.json
    answered = response.get_json()
    assert (answered["label"], answered["place"], answered["order"], answered["hidden"]) == (
        "Greenhouse floor", "Greenhouse", 2, True)
    assert answered["calibration"] == {"offset": 0.5} and answered["revision"] == 1
    assert (answered["value"], answered["raw_value"]) == (20.5, 20.0)
    assert answered["thresholds"] == {"max": 35.0, "min": 1.0}
    assert rig.sensor()["label"] == "temp1"  # the sampler has not sampled since
    rig.sample()
    shown = rig.sensor()
    assert shown == answered | {"status": shown["status"], "alarms": shown["alarms"]}
    document = rig.admin.get("/api/v1/sensors").get_json()
    assert document["revision"] == 1 and document["device"] == {"name": "FrostServer", "units": "celsius"}


def test_the_two_point_form_replaces_an_offset_and_null_resets_to_the_files(rig):
    rig.patch(f"/api/v1/sensors/{PROBE.id}", {"offset": 0.5, "place": "Greenhouse"})
    answered = rig.patch(f"/api/v1/sensors/{PROBE.id}", {"calibration": {"raw": [0.0, 100.0],
                                                                         "actual": [1.0, 102.0]}}).get_json()
    assert answered["calibration"] == {"gain": 1.01, "offset": 1.0} and answered["value"] == pytest.approx(21.2)
    reset = rig.patch(f"/api/v1/sensors/{PROBE.id}", {"calibration": None, "place": None}).get_json()
    assert reset["calibration"] is None and reset["value"] == 20.0 and "raw_value" not in reset
    assert reset["place"] == "Garden"  # the config file's
    rig.sample()
    assert rig.sensor()["value"] == 20.0


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"label": ""}, "label", "not blank"),
    ({"label": "x" * 500}, "label", "got 500 characters"),
    ({"label": 42}, "label", "must be a name"),
    ({"place": "a\nb"}, "place", "control characters"),
    ('{"offset": NaN}', "offset", "must be a number"),
    ('{"offset": 1e309}', "offset", "must be a number"),
    ('{"offset": -Infinity}', "offset", "must be a number"),
    ({"limits": {"low": 35, "high": 35}}, "limits", "must be below high"),
    ({"limits": {"low": 60}}, "limits", "must be below high (50)"),  # the chip's max stays the high
    ({"limits": [1, 2]}, "limits", "must be an object"),
    ({"calibration": {"raw": [1, 1], "actual": [0, 1]}}, "calibration", "must differ"),
    ({"order": 1.5}, "order", "whole number"),
    ({"hidden": "yes"}, "hidden", "true or false"),
    ({"colour": "red"}, "colour", "unknown field"),
])
def test_a_bad_value_is_a_400_naming_the_field_and_changes_nothing(rig, body, field, words):
    before = revision(rig)
    response = rig.patch(f"/api/v1/sensors/{PROBE.id}", body)
    assert response.status_code == 400, response.json
    error = response.get_json()
    assert error["field"] == field and words in error["message"] and error["message"].startswith(field)
    assert revision(rig) == before


def test_limits_wider_than_the_chips_max_are_a_400_only_when_low_passes_it(rig):
    assert rig.patch(f"/api/v1/sensors/{PROBE.id}", {"limits": {"high": 60}}).status_code == 200


def test_an_unknown_sensor_is_a_404_and_a_body_that_is_no_object_a_400(rig):
    assert rig.patch("/api/v1/sensors/nosuch-isa-0000/temp1", {"label": "x"}).status_code == 404
    response = rig.patch(f"/api/v1/sensors/{PROBE.id}", "[1, 2]")
    assert response.status_code == 400 and response.get_json()["field"] == "body"


def test_a_stale_revision_is_a_409_with_the_sensor_as_it_is_now(rig):
    first = rig.patch(f"/api/v1/sensors/{PROBE.id}", {"label": "A"}).get_json()
    assert first["revision"] == 1
    other = rig.patch(f"/api/v1/sensors/{FAN.id}", {"label": "B"})  # another sensor: no conflict with it
    assert other.status_code == 200
    again = rig.patch(f"/api/v1/sensors/{PROBE.id}", {"label": "C"}, **{"If-Match": '"1"'})
    assert again.status_code == 200 and again.get_json()["revision"] == 3
    stale = rig.patch(f"/api/v1/sensors/{PROBE.id}", {"label": "D", "revision": 1})
    assert stale.status_code == 409
    assert stale.get_json()["sensor"]["label"] == "C" and stale.get_json()["sensor"]["revision"] == 3
    assert rig.patch(f"/api/v1/sensors/{PROBE.id}", {"label": "D"}, **{"If-Match": "nonsense"}).status_code == 400


def test_who_may_change_a_sensor(rig):
    path = f"/api/v1/sensors/{PROBE.id}"
    anonymous = rig.app.test_client().patch(path, json={"label": "x"}, headers=ORIGIN)
    assert anonymous.status_code == 401
    viewer = rig.viewer.patch(path, json={"label": "x"}, headers={**ORIGIN, "X-CSRF-Token": rig.viewer_csrf})
    assert viewer.status_code == 403
    no_csrf = rig.admin.patch(path, json={"label": "x"}, headers=ORIGIN)
    assert no_csrf.status_code == 403
    reader = rig.app.test_client().patch(path, json={"label": "x"}, headers=rig.token("read"))
    assert reader.status_code == 403
    writer = rig.app.test_client().patch(path, json={"label": "Token's"}, headers=rig.token("write"))
    assert writer.status_code == 200 and writer.get_json()["label"] == "Token's"
    changes = rig.admin.get(f"/api/v1/settings/changes?sensor={PROBE.id}").get_json()["changes"]
    assert [change["by"] for change in changes] == ["t-write (token)"]
    for path in ("/api/v1/settings", "/api/v1/settings/rules/frost"):
        assert rig.viewer.patch(path, json={}, headers={**ORIGIN, "X-CSRF-Token": rig.viewer_csrf}).status_code == 403


def test_a_hostile_name_is_text_in_json_escaped_in_metrics_and_neutralised_in_csv(rig):
    for number, name in enumerate(HOSTILE):
        sensor = PROBE if number == 0 else FAN
        assert rig.patch(f"/api/v1/sensors/{sensor.id}", {"label": name, "place": name}).status_code == 200
    rig.sample()
    rig.sample()
    sensors = {s["id"]: s for s in rig.admin.get("/api/v1/sensors").get_json()["sensors"]}
    assert sensors[PROBE.id]["label"] == HOSTILE[0] and sensors[FAN.id]["place"] == HOSTILE[1]
    metrics = rig.admin.get("/metrics").get_data(as_text=True)
    assert 'label="=HYPERLINK(\\"http://x\\")"' in metrics and 'place="<img src=x onerror=alert(1)>"' in metrics
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(metrics)}
    labels = {s.labels["sensor"]: s.labels for s in families["frost_sensor_value"].samples}
    assert labels[FAN.id]["label"] == HOSTILE[1]  # escaped in the text, the same name once parsed
    text = rig.admin.get("/api/v1/history?seconds=10&format=csv").get_data(as_text=True)
    header = next(csv.reader(io.StringIO(text)))
    assert f"'{HOSTILE[1]} ({FAN.id}) RPM" in header
    assert f"{HOSTILE[0]} ({PROBE.id}) °C" in header  # no formula: as it is


def test_the_csv_in_fahrenheit_converts_temperatures_only_and_says_so(rig):
    text = rig.admin.get("/api/v1/history?seconds=10&format=csv&units=fahrenheit").get_data(as_text=True)
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[2:] == [f"CPU fan ({FAN.id}) RPM", f"temp1 ({PROBE.id}) °F"]
    assert rows[-1][2:] == ["1200.0", "68.0"]
    bad = rig.admin.get("/api/v1/history?seconds=10&units=kelvin&format=csv").get_json()
    assert bad["parameter"] == "units"
    assert rig.admin.get("/api/v1/history?seconds=10&units=fahrenheit").status_code == 400  # JSON stays SI


# --- the device, the rules, the document -------------------------------------------------------


def test_the_settings_document_says_each_values_source_and_what_a_reset_gives(rig):
    rig.patch(f"/api/v1/sensors/{PROBE.id}", {"label": "Floor"})
    rig.sample()
    body = rig.admin.get("/api/v1/settings").get_json()
    assert body["status"] == {"state": "ok", "message": None}
    assert body["frost_threshold"] == {"value": 0.5, "source": "file", "file_value": 0.5}
    assert body["device"]["name"] == {"value": "FrostServer", "source": "default", "file_value": "FrostServer"}
    probe = body["sensors"][PROBE.id]
    assert probe["label"] == {"value": "Floor", "source": "browser", "file_value": "temp1"}
    assert probe["place"] == {"value": "Garden", "source": "file", "file_value": "Garden"}
    assert probe["high"] == {"value": 50.0, "source": "default", "file_value": 50.0}
    assert body["sensors"][FAN.id]["label"] == {"value": "CPU fan", "source": "file", "file_value": "CPU fan"}
    assert body["rules"]["frost"]["for"] == {"value": 600.0, "source": "file", "file_value": 600.0}
    assert body["rules"]["frost"]["below"]["value"] == "frost_threshold"
    assert body["targets"] == [{"id": "f1", "shown": "ntfy://…", "source": "file"}]
    assert "tk_secret" not in json.dumps(body)


def test_the_device_name_units_and_frost_threshold_change_and_reset(rig):
    answer = rig.patch("/api/v1/settings", {"device": {"name": "Greenhouse Pi", "units": "fahrenheit"},
                                            "frost_threshold": 1.5})
    assert answer.status_code == 200, answer.json
    body = answer.get_json()
    assert body["device"]["name"]["source"] == "browser" and body["frost_threshold"]["value"] == 1.5
    rig.sample()
    document = rig.admin.get("/api/v1/sensors").get_json()
    assert document["device"] == {"name": "Greenhouse Pi", "units": "fahrenheit"} and document["frost_threshold"] == 1.5
    assert "frost_threshold_celsius 1.5" in rig.admin.get("/metrics").get_data(as_text=True)
    reset = rig.patch("/api/v1/settings", {"frost_threshold": None, "device": None}).get_json()
    assert reset["frost_threshold"]["value"] == 0.5 and reset["device"]["units"]["value"] == "celsius"
    bad = rig.patch("/api/v1/settings", {"device": {"units": "kelvin"}})
    assert bad.status_code == 400 and bad.get_json()["field"] == "device.units"
    assert rig.patch("/api/v1/settings", '{"frost_threshold": 1e309}').get_json()["field"] == "frost_threshold"
    stale = rig.patch("/api/v1/settings", {"frost_threshold": 2, "revision": 0})
    assert stale.status_code == 409 and "settings" in stale.get_json()


def test_a_rule_changes_its_condition_and_unknown_ones_are_404s(rig):
    answer = rig.patch("/api/v1/settings/rules/frost", {"above": 40, "for": "1m", "places": ["Garden"]})
    assert answer.status_code == 200, answer.json
    rule = answer.get_json()
    assert rule["name"] == "frost" and rule["above"]["value"] == 40.0 and rule["below"]["value"] is None
    assert rule["for"] == {"value": 60.0, "source": "browser", "file_value": 600.0}
    assert rule["places"]["value"] == ["Garden"]
    assert rig.patch("/api/v1/settings/rules/nosuch", {"enabled": False}).status_code == 404
    bad = rig.patch("/api/v1/settings/rules/frost", {"severity": "apocalyptic"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "severity"
    bad = rig.patch("/api/v1/settings/rules/sampling_stopped", {"places": ["Garden"]})
    assert bad.status_code == 400 and bad.get_json()["field"] == "places"


# --- notification targets ----------------------------------------------------------------------


def test_a_target_is_write_only_and_one_apprise_cannot_use_is_a_400_that_never_repeats_it(rig, monkeypatch):
    monkeypatch.setattr(settings_api, "child_usable", lambda urls, timeout: [not urls[0].startswith("nope")])
    secret = "json://hooks.example:8000/tk_other_secret"
    added = rig.admin.post("/api/v1/settings/targets", json={"url": secret}, headers=rig.headers())
    assert added.status_code == 201 and added.get_json() == {"id": "b1", "shown": "json://hooks.example/…",
                                                              "source": "browser"}
    body = rig.admin.get("/api/v1/settings").get_json()
    assert [t["id"] for t in body["targets"]] == ["f1", "b1"] and "tk_other_secret" not in json.dumps(body)
    assert context(rig.app).live.current().settings.alerts.targets == (SECRET_URL, secret)
    refused = rig.admin.post("/api/v1/settings/targets", json={"url": "nope://tk_third_secret"}, headers=rig.headers())
    assert refused.status_code == 400 and "tk_third_secret" not in refused.get_data(as_text=True)
    shape = rig.admin.post("/api/v1/settings/targets", json={"url": "no scheme tk_x"}, headers=rig.headers())
    assert shape.status_code == 400 and "tk_x" not in shape.get_data(as_text=True)
    twice = rig.admin.post("/api/v1/settings/targets", json={"url": secret}, headers=rig.headers())
    assert twice.status_code == 409
    assert rig.admin.delete("/api/v1/settings/targets/f1", headers=rig.headers()).status_code == 409
    assert rig.admin.delete("/api/v1/settings/targets/b1", headers=rig.headers()).status_code == 204
    assert rig.admin.delete("/api/v1/settings/targets/b1", headers=rig.headers()).status_code == 404
    assert rig.admin.delete("/api/v1/settings/targets/b99999999999999999999", headers=rig.headers()).status_code == 404


def test_send_a_test_says_each_targets_result(rig, monkeypatch):
    sent = []

    def fake(urls, title, body, seconds):
        sent.append((urls, title, seconds))
        return ["the service said no" for _ in urls]

    monkeypatch.setattr(settings_api, "child_test", fake)
    results = rig.admin.post("/api/v1/settings/targets/test", headers=rig.headers()).get_json()["results"]
    assert results == [{"id": "f1", "shown": "ntfy://…", "source": "file", "ok": False,
                        "message": "the service said no"}]
    assert sent == [([SECRET_URL], "[FrostServer] test notification", settings_api.TEST_SECONDS)]


# --- export, import, changes -------------------------------------------------------------------


def test_export_holds_every_setting_but_secrets_and_imports_back(rig, tmp_path):
    rig.patch(f"/api/v1/sensors/{PROBE.id}", {"label": 'Floor "north" \\ 1', "calibration": {"raw": [0, 100],
                                                                                            "actual": [1, 102]}})
    rig.patch("/api/v1/settings", {"device": {"name": "Greenhouse Pi"}})
    rig.patch("/api/v1/settings/rules/frost", {"hysteresis": 1.5})
    response = rig.admin.get("/api/v1/settings/export")
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Disposition"] == 'attachment; filename="frostserver-settings.toml"'
    text = response.get_data(as_text=True)
    assert "tk_secret" not in text and "Notification targets are left out" in text
    document = tomllib.loads(text)
    assert document["customize"][PROBE.id] == {"place": "Garden", "label": 'Floor "north" \\ 1',
                                               "calibration": {"raw": [0, 100], "actual": [1, 102]}}
    assert document["customize"][FAN.id] == {"label": "CPU fan"}
    assert document["device"] == {"name": "Greenhouse Pi"} and document["alerts"]["rules"]["frost"]["hysteresis"] == 1.5
    # Another device, with no config file: the import says the same.
    other = tmp_path / "other"
    (other / "run").mkdir(parents=True)
    fresh = create_app({"run_dir": other / "run", "sysfs_root": other / "sys"}, clock=WallClock(START),
                       passwords=cheap_passwords())
    from frostserver.accounts.model import Scope

    _, token = context(fresh).accounts.add_token("cli", "ci", Scope.WRITE, "local")
    imported = fresh.test_client().post("/api/v1/settings/import", data=text, content_type="application/toml",
                                        headers={"Authorization": f"Bearer {token}"})
    assert imported.status_code == 200, imported.json
    body = imported.get_json()
    assert body["device"]["name"] == {"value": "Greenhouse Pi", "source": "browser", "file_value": "FrostServer"}
    assert body["sensors"][PROBE.id]["calibration"]["value"] == {"gain": 1.01, "offset": 1.0}
    assert body["rules"]["frost"]["hysteresis"]["value"] == 1.5
    again = fresh.test_client().get("/api/v1/settings/export").get_data(as_text=True)
    assert tomllib.loads(again) == document


@pytest.mark.parametrize(("text", "field", "words"), [
    ('[sampling]\ninterval = 2\n', "sampling", "set only in the config file"),
    ('frost_threshold = 1\n\n[customize."a-isa-0000/temp1"]\nlabel = ""\n', 'customize."a-isa-0000/temp1".label',
     "(line 4): must be a name"),
    ('[device]\nunits = "kelvin"\n', "device.units", "(line 2)"),
    ("[device\n", "body", "invalid TOML"),
    ('[alerts]\nnotify = "json://x"\n', "alerts.notify", "list of notification URLs"),
    ('[customize."a-isa-0000/temp1"]\nlabel = 1979-05-27\n', 'customize."a-isa-0000/temp1".label', "line 2"),
])
def test_a_bad_import_is_a_400_naming_the_key_and_line_and_changes_nothing(rig, text, field, words):
    before = revision(rig)
    response = rig.admin.post("/api/v1/settings/import", data=text, content_type="application/toml",
                              headers=rig.headers())
    assert response.status_code == 400, response.json
    assert response.get_json()["field"] == field and words in response.get_json()["message"]
    assert revision(rig) == before


def test_an_import_replaces_the_browsers_layer_and_keeps_its_targets(rig, monkeypatch):
    monkeypatch.setattr(settings_api, "child_usable", lambda urls, timeout: [True])
    rig.admin.post("/api/v1/settings/targets", json={"url": "json://hooks.example/x"}, headers=rig.headers())
    rig.patch(f"/api/v1/sensors/{PROBE.id}", {"label": "Gone after the import"})
    response = rig.admin.post("/api/v1/settings/import", data='[device]\nname = "Imported"\n',
                              content_type="text/plain", headers=rig.headers())
    body = response.get_json()
    assert body["device"]["name"]["value"] == "Imported" and body["sensors"][PROBE.id]["label"]["source"] == "default"
    assert [t["id"] for t in body["targets"]] == ["f1", "b1"]
    wrong_type = rig.admin.post("/api/v1/settings/import", data="x = 1", content_type="application/json",
                                headers=rig.headers())
    assert wrong_type.status_code == 400


def test_calibration_changes_are_logged_with_their_time_for_the_plots(rig):
    rig.patch(f"/api/v1/sensors/{PROBE.id}", {"offset": 0.5})
    rig.clock.now += 100
    rig.patch(f"/api/v1/sensors/{PROBE.id}", {"label": "x"})
    changes = rig.admin.get(f"/api/v1/settings/changes?sensor={PROBE.id}").get_json()["changes"]
    assert [(c["field"], c["at"]) for c in changes] == [("offset", START + 1.0), ("label", START + 101.0)]
    assert all(c["by"] == "ada" and c["sensor"] == PROBE.id for c in changes)
    later = rig.admin.get(f"/api/v1/settings/changes?from={int(START + 50)}").get_json()["changes"]
    assert [c["field"] for c in later] == ["label"]
    assert rig.admin.get("/api/v1/settings/changes?from=yesterday").get_json()["parameter"] == "from"


def test_the_stream_tells_open_dashboards_of_a_new_revision(rig):
    response = rig.admin.get("/api/v1/stream")
    chunks = response.response
    assert next(chunks) == b"retry: 3000\n\n"
    next(chunks)  # the newest sample
    rig.patch(f"/api/v1/sensors/{PROBE.id}", {"label": "Live"})
    rig.sample()
    seen = b""
    for _ in range(6):  # a sample event, then (with the watcher's next look) the settings event
        seen += next(chunks)
        if b"event: settings" in seen:
            break
        rig.sample()
    assert b'event: settings\ndata: {"revision":1}\n\n' in seen
    response.close()
