"""Issue 22 on the real stack: settings set in the browser, applied live, kept, exported and imported.

A stack of its own, with the test receiver (compose.receiver.yaml: the app reaches it as
http://receiver:8000/) and an admin and a viewer made on the device's shell. Every request goes
through nginx, as a browser's would. Each test starts from the config file's settings alone (the
`fresh` fixture replaces the browser's layer with an empty import and removes the browser's
targets), so none relies on another and `pytest --reverse` runs the file backwards.

"Within two sampling intervals" is counted in samples, not seconds: a change committed while sample
n is the newest is in the sensors document of sample n + 2 at the latest (one sample that may have
started before the commit, then the one that takes it), whatever the machine's speed.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from chips import coretemp_dual_socket, ds18b20, sht3x
from conftest import COMPOSE_FILES, compose_project
from fakesysfs import FakeSysfs
from test_alerts import StreamReader
from waiting import eventually

ADMIN, ADMIN_PASSWORD = "ada", "correct horse battery staple"
VIEWER, VIEWER_PASSWORD = "vic", "viewer password 42"
PROBE = "w1_slave_temp-virtual-0/temp1"  # 23.125 °C in the tree
PACKAGE = "coretemp-isa-0000/temp1"
AIR, RH = "sht3x-i2c-1-44/temp1", "sht3x-i2c-1-44/humidity1"  # 23.5 °C, 45.2 %RH
CONFIG = f"""\
[alerts]
device_name = "Test greenhouse"
notify = ["json://receiver:8000/ok/file-target"]

[customize."{PROBE}"]
place = "Garden"
"""
HOSTILE = ["<img src=x onerror=alert(1)>", '=HYPERLINK("http://x")']


class Device:
    """The module's stack, as an admin and a viewer use it through nginx."""

    def __init__(self, project, base: str):
        self.project, self.base = project, base
        self.admin = self.viewer = requests.Session()
        self.csrf = self.viewer_csrf = ""

    def url(self, path: str) -> str:
        return self.base + path

    def sign_in(self, name: str, password: str) -> tuple[requests.Session, str]:
        client = requests.Session()
        client.headers["Origin"] = self.base
        response = client.post(self.url("/api/v1/session"), json={"username": name, "password": password}, timeout=30)
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client, response.json()["csrf_token"]

    def make_users(self) -> None:
        """Make the admin and the viewer (again, after a `down --volumes`), and sign both in."""
        for name, role, password in ((ADMIN, "admin", ADMIN_PASSWORD), (VIEWER, "viewer", VIEWER_PASSWORD)):
            self.project.accounts("add", name, "--role", role, input=password + "\n", check=False)
        self.admin, self.csrf = self.sign_in(ADMIN, ADMIN_PASSWORD)
        self.viewer, self.viewer_csrf = self.sign_in(VIEWER, VIEWER_PASSWORD)

    def get(self, path: str) -> dict:
        response = self.admin.get(self.url(path), timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def patch(self, path: str, body: dict, **headers: str) -> requests.Response:
        return self.admin.patch(self.url(path), json=body, headers=headers, timeout=30)

    def sensors(self) -> dict[str, dict]:
        return {s["id"]: s for s in self.get("/api/v1/sensors")["sensors"]}

    def readyz(self) -> dict:
        return requests.get(self.url("/readyz"), timeout=10).json()

    def metric_labels(self, sensor_id: str) -> dict[str, str]:
        text = self.admin.get(self.url("/metrics"), timeout=30).text
        for family in text_string_to_metric_families(text):
            if family.name == "frost_sensor_value":
                for sample in family.samples:
                    if sample.labels["sensor"] == sensor_id:
                        return {**sample.labels, "value": sample.value}
        raise LookupError(sensor_id)

    def wait_ready(self) -> None:
        """Wait until nginx answers again with every sensor sampled (after a restart, a down and up)."""
        self.base = self.project.url("nginx", 8080)
        eventually(lambda: self.readyz()["status"] == "ok", "the stack ready")

        def sampled() -> bool:
            document = requests.get(self.url("/api/v1/sensors"), timeout=10).json()
            return {PROBE, PACKAGE} <= {s["id"] for s in document["sensors"]}

        eventually(sampled, "the sensors sampled")

    def logs(self) -> str:
        result = self.project.cli("logs", "--no-color", "app")
        return result.stdout + result.stderr


@pytest.fixture(scope="module")
def device():
    work = Path(tempfile.mkdtemp(prefix="frost-settings-"))
    work.chmod(0o755)  # the app reads the tree and the config as another user
    tree = FakeSysfs(work / "sys")
    coretemp_dual_socket(tree)
    ds18b20(tree)
    sht3x(tree)  # a temperature and a humidity sensor to pair (issue 24)
    config = work / "frostserver.toml"
    config.write_text(CONFIG)
    config.chmod(0o644)
    env = {"FROST_TEST_SYSFS": str(work / "sys"), "FROST_TEST_CONFIG": str(config)}
    files = [*COMPOSE_FILES, "tests/integration/compose.receiver.yaml"]
    try:
        with compose_project("frostsettings", files, env) as project:
            made = Device(project, project.url("nginx", 8080))
            made.wait_ready()
            made.make_users()
            yield made
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def fresh(device):
    """The device with the config file's settings alone: the browser's layer and targets gone."""
    reply = device.admin.post(device.url("/api/v1/settings/import"), data="", timeout=30,
                              headers={"Content-Type": "application/toml"})
    assert reply.status_code == 200, reply.text
    for target in reply.json()["targets"]:
        if target["source"] == "browser":
            assert device.admin.delete(device.url(f"/api/v1/settings/targets/{target['id']}"), timeout=30).ok
    revision = device.get("/api/v1/settings")["revision"]
    eventually(lambda: device.get("/api/v1/sensors")["revision"] == revision, "the sampler applying them")
    return device


def test_every_change_is_applied_live_within_two_samples_with_no_restart_and_no_gap(fresh):
    device = fresh
    pid = device.readyz()["sampler"]["pid"]
    raw = device.sensors()[PROBE]["value"]
    stream = StreamReader(device.admin.get(device.url("/api/v1/stream"), stream=True, timeout=(10, 60)))
    stream.start()
    try:
        eventually(lambda: any(kind == "sample" for kind, _, _ in stream.seen()), "a first sample event")
        newest = device.readyz()["samples"]
        answer = device.patch(f"/api/v1/sensors/{PROBE}", {"label": "Greenhouse floor", "place": "Greenhouse",
                                                          "hidden": True, "offset": 0.5, "order": 3,
                                                          "limits": {"low": 1.0, "high": 35.0}})
        assert answer.status_code == 200, answer.text
        assert answer.json()["label"] == "Greenhouse floor" and answer.json()["value"] == raw + 0.5
        revision = answer.json()["revision"]

        def applied() -> dict | None:
            document = device.get("/api/v1/sensors")
            return document if document["revision"] == revision else None

        document = eventually(applied, "the change in the sensors document")
        shown = {s["id"]: s for s in document["sensors"]}[PROBE]
        assert (shown["label"], shown["place"], shown["hidden"], shown["order"]) == (
            "Greenhouse floor", "Greenhouse", True, 3)
        assert shown["calibration"] == {"offset": 0.5} and shown["raw_value"] == raw and shown["value"] == raw + 0.5
        assert shown["thresholds"]["min"] == 1.0 and shown["thresholds"]["max"] == 35.0
        # Counted in samples: applied by the sample after the commit at the latest (module docstring).
        kinds = eventually(lambda: [e for e in stream.seen() if e[0] == "settings"], "a settings event")
        assert json.loads(kinds[0][2]) == {"revision": revision}
        events = stream.seen()
        before = [int(i) for kind, i, _ in events[: events.index(kinds[0])] if kind == "sample"]
        assert before[-1] <= newest + 3  # n + 2 applies it; its event may wait for the next (store/applied.py)
        labels = eventually(lambda: device.metric_labels(PROBE)["label"] == "Greenhouse floor"
                            and device.metric_labels(PROBE), "the label in /metrics")
        assert labels["place"] == "Greenhouse" and labels["value"] == raw + 0.5
        eventually(lambda: len([e for e in stream.seen() if e[0] == "sample"]) >= len(before) + 3, "more samples")
        ids = [int(i) for kind, i, _ in stream.seen() if kind == "sample"]
        assert ids == list(range(ids[0], ids[0] + len(ids)))  # no gap in the samples' numbers
        assert device.readyz()["sampler"]["pid"] == pid  # no restart
    finally:
        stream.close()


def test_a_renamed_sensors_history_is_one_series_and_its_calibration_is_marked(fresh):
    device = fresh
    eventually(lambda: device.readyz()["samples"] >= 5, "a few samples")
    renamed = device.patch(f"/api/v1/sensors/{PROBE}", {"label": "Renamed", "offset": 1.0})
    assert renamed.status_code == 200
    revision = renamed.json()["revision"]
    eventually(lambda: device.get("/api/v1/sensors")["revision"] == revision, "the rename applied")
    at = device.get(f"/api/v1/settings/changes?sensor={PROBE}")["changes"][-1]["at"]
    eventually(lambda: device.get("/api/v1/sensors")["sampled_at"] > at + 3, "samples after the rename")
    history = device.get(f"/api/v1/history?seconds=60&sensor={PROBE}")
    values = dict(zip(history["timestamps"], history["series"][PROBE], strict=True))
    assert list(history["series"]) == [PROBE]  # one series under the stable id
    assert any(t < at and v is not None for t, v in values.items())  # before the rename...
    assert any(t > at + 1 and v is not None for t, v in values.items())  # ...and after it
    marks = device.get(f"/api/v1/settings/changes?sensor={PROBE}")["changes"]
    assert {(c["field"], c["by"]) for c in marks if c["revision"] == revision} == {("label", ADMIN), ("offset", ADMIN)}


def test_a_hostile_name_is_text_in_json_escaped_in_metrics_and_neutralised_in_csv(fresh):
    device = fresh
    for sensor_id, name in zip((PROBE, PACKAGE), HOSTILE, strict=True):
        assert device.patch(f"/api/v1/sensors/{sensor_id}", {"label": name}).status_code == 200
    eventually(lambda: device.sensors()[PACKAGE]["label"] == HOSTILE[1], "both names applied")
    assert device.sensors()[PROBE]["label"] == HOSTILE[0]
    text = device.admin.get(device.url("/metrics"), timeout=30).text
    assert 'label="=HYPERLINK(\\"http://x\\")"' in text
    eventually(lambda: device.metric_labels(PROBE)["label"] == HOSTILE[0], "the name in /metrics")
    csv_text = device.admin.get(device.url("/api/v1/history?seconds=10&format=csv"), timeout=30).text
    header = csv_text.splitlines()[0]
    assert f"\"'=HYPERLINK(\"\"http://x\"\")" in header  # quoted by the CSV, then a ' before the formula


def test_a_viewers_and_an_anonymous_write_are_refused(fresh):
    device = fresh
    path = device.url(f"/api/v1/sensors/{PROBE}")
    anonymous = requests.patch(path, json={"label": "x"}, headers={"Origin": device.base}, timeout=30)
    assert anonymous.status_code == 401 and anonymous.json()["status"] == 401
    viewer = device.viewer.patch(path, json={"label": "x"}, timeout=30)
    assert viewer.status_code == 403 and viewer.json()["status"] == 403
    for method, rest in (("PATCH", "/api/v1/settings"), ("POST", "/api/v1/settings/targets"),
                         ("POST", "/api/v1/settings/import"), ("POST", "/api/v1/settings/targets/test")):
        assert device.viewer.request(method, device.url(rest), json={}, timeout=30).status_code == 403
    assert device.sensors()[PROBE]["label"] != "x"


def test_a_target_is_added_write_only_and_its_test_reaches_every_target(fresh):
    device = fresh
    secret = "json://browser:tk_7f3a9c@receiver:8000/ok/browser-target"
    added = device.admin.post(device.url("/api/v1/settings/targets"), json={"url": secret}, timeout=60)
    assert added.status_code == 201, added.text
    assert added.json()["shown"] == "json://receiver/…" and added.json()["source"] == "browser"
    unusable = device.admin.post(device.url("/api/v1/settings/targets"), json={"url": "nosuch://tk_hidden/x"},
                                 timeout=60)
    assert unusable.status_code == 400 and "tk_hidden" not in unusable.text
    results = device.admin.post(device.url("/api/v1/settings/targets/test"), timeout=60).json()["results"]
    assert [(r["source"], r["ok"]) for r in results] == [("file", True), ("browser", True)]

    def received(path: str) -> list[dict]:
        answer = requests.get(device.project.url("receiver", 8000, "/received"), params={"path": path}, timeout=10)
        return answer.json()

    eventually(lambda: received("/ok/browser-target"), "the test at the browser's target")
    assert "test notification" in received("/ok/file-target")[-1]["json"]["title"]
    body = device.admin.get(device.url("/api/v1/settings"), timeout=30).text
    assert "tk_7f3a9c" not in body and "tk_7f3a9c" not in device.logs()


def test_settings_survive_a_restart_of_the_app_and_a_down_and_up(fresh):
    device = fresh
    assert device.patch(f"/api/v1/sensors/{PROBE}", {"label": "Kept", "offset": -0.25}).status_code == 200
    assert device.patch("/api/v1/settings", {"device": {"name": "Kept device"}}).status_code == 200
    device.project.cli("restart", "app", timeout=300)
    device.wait_ready()
    eventually(lambda: device.sensors()[PROBE]["label"] == "Kept", "the label after a restart")
    device.project.cli("down", timeout=300)  # no --volumes: the settings are on the volume
    device.project.cli("up", "--detach", "--wait", timeout=900)
    device.wait_ready()
    device.make_users()  # the sessions are on the volume too; signing in again is the simple way
    eventually(lambda: device.sensors()[PROBE]["label"] == "Kept", "the label after down and up")
    assert device.sensors()[PROBE]["calibration"] == {"offset": -0.25}
    assert device.get("/api/v1/sensors")["device"]["name"] == "Kept device"


def test_an_export_imported_on_a_fresh_stack_reproduces_the_settings(fresh):
    device = fresh
    assert device.patch(f"/api/v1/sensors/{PROBE}", {"label": "Exported", "place": "Greenhouse",
                                                      "calibration": {"raw": [0.0, 100.0], "actual": [0.5, 101.0]},
                                                      "limits": {"high": 30.0}}).status_code == 200
    assert device.patch("/api/v1/settings", {"device": {"units": "fahrenheit"}, "frost_threshold": 1.0}).ok
    assert device.patch("/api/v1/settings/rules/frost", {"for": "2m", "places": ["Greenhouse"]}).ok
    before = device.get("/api/v1/settings")
    exported = device.admin.get(device.url("/api/v1/settings/export"), timeout=30)
    assert exported.headers["Content-Disposition"] == 'attachment; filename="frostserver-settings.toml"'
    assert tomllib.loads(exported.text)["customize"][PROBE]["label"] == "Exported"
    device.project.cli("down", "--volumes", timeout=300)  # a fresh device: no settings, no accounts
    device.project.cli("up", "--detach", "--wait", timeout=900)
    device.wait_ready()
    device.make_users()
    assert device.get("/api/v1/settings")["sensors"][PROBE]["label"]["source"] == "default"
    imported = device.admin.post(device.url("/api/v1/settings/import"), data=exported.text.encode(), timeout=30,
                                 headers={"Content-Type": "application/toml"})
    assert imported.status_code == 200, imported.text
    after = imported.json()

    def values(document: dict) -> dict:
        return {"device": {k: v["value"] for k, v in document["device"].items()},
                "frost_threshold": document["frost_threshold"]["value"],
                "probe": {k: v["value"] for k, v in document["sensors"][PROBE].items()},
                "rules": {name: {k: v["value"] for k, v in rule.items()} for name, rule in document["rules"].items()}}

    assert values(after) == values(before)
    eventually(lambda: device.sensors()[PROBE]["label"] == "Exported", "the imported label applied")


def test_a_garbage_settings_file_is_moved_aside_and_the_stack_stays_ready_and_says_so(fresh):
    device = fresh
    assert device.patch(f"/api/v1/sensors/{PROBE}", {"label": "Lost with the file"}).status_code == 200
    device.project.cli("exec", "-T", "app", "python", "-c",
                       "open('/var/lib/frostserver/settings.db', 'wb').write(b'not a database ' * 512)")
    device.project.cli("restart", "app", timeout=300)
    device.wait_ready()
    ready = eventually(lambda: device.readyz().get("settings") == "moved_aside" and device.readyz(),
                       "/readyz saying the settings were moved aside")
    assert ready["status"] == "ok"
    status = device.get("/api/v1/settings")["status"]
    assert status["state"] == "moved_aside" and "settings.db.corrupt-" in status["message"]
    assert device.sensors()[PROBE]["place"] == "Garden" and device.sensors()[PROBE]["label"] != "Lost with the file"
    assert "is not a usable settings database" in device.logs()
    # The next change says it has been seen: the banner goes.
    assert device.patch(f"/api/v1/sensors/{PROBE}", {"label": "New"}).status_code == 200
    eventually(lambda: device.readyz().get("settings") == "ok", "/readyz ok again")


def test_a_bad_value_is_a_json_400_through_nginx_and_changes_nothing(fresh):
    device = fresh
    before = device.get("/api/v1/settings")["revision"]
    for body, field in (({"label": ""}, "label"), ({"label": "x" * 500}, "label"),
                        ({"limits": {"low": 5, "high": 5}}, "limits")):
        response = device.patch(f"/api/v1/sensors/{PROBE}", body)
        assert response.status_code == 400 and response.json()["field"] == field
    nan = device.admin.patch(device.url(f"/api/v1/sensors/{PROBE}"), data='{"offset": NaN}', timeout=30,
                             headers={"Content-Type": "application/json"})
    assert nan.status_code == 400 and nan.json()["field"] == "offset"
    assert device.patch("/api/v1/sensors/nosuch-isa-0000/temp9", {"label": "x"}).status_code == 404
    assert device.get("/api/v1/settings")["revision"] == before


def test_a_pair_set_in_the_browser_gives_its_sensors_within_two_samples_and_goes_again(fresh):
    device = fresh
    answer = device.admin.put(device.url("/api/v1/settings/derived/bench"), timeout=30,
                              json={"temperature": AIR, "humidity": RH, "label": "Bench", "place": "Greenhouse"})
    assert answer.status_code == 200, answer.text
    revision = answer.json()["revision"]
    at = [c for c in device.get("/api/v1/settings/changes")["changes"] if c["item"] == "bench"][-1]["at"]
    # Counted in samples, as above: the sensors document of the revision holds the pair's sensors.
    document = eventually(lambda: (d := device.get("/api/v1/sensors"))["revision"] == revision and d, "the pair applied")
    shown = {s["id"]: s for s in document["sensors"]}
    dew = shown["derived/bench/dew_point"]
    assert {"derived/bench/frost_point", "derived/bench/absolute_humidity"} <= shown.keys()
    assert dew["label"] == "Bench dew point" and dew["place"] == "Greenhouse"
    assert abs(dew["value"] - 11.0) < 0.3  # 23.5 °C at 45.2 %RH: 10.95 °C (Magnus)
    assert device.metric_labels("derived/bench/dew_point")["place"] == "Greenhouse"
    eventually(lambda: device.get("/api/v1/sensors")["sampled_at"] > at + 3, "samples after the pair")
    history = device.get("/api/v1/history?seconds=120&sensor=derived/bench/dew_point")
    values = dict(zip(history["timestamps"], history["series"]["derived/bench/dew_point"], strict=True))
    assert all(v is None for t, v in values.items() if t < at - 1)  # its history starts with the pair
    assert any(v is not None for t, v in values.items() if t > at)
    assert tomllib.loads(device.admin.get(device.url("/api/v1/settings/export"), timeout=30).text)["derived"] == {
        "bench": {"temperature": AIR, "humidity": RH, "label": "Bench", "place": "Greenhouse"}}
    assert device.admin.delete(device.url("/api/v1/settings/derived/bench"), timeout=30).status_code == 204
    revision = device.get("/api/v1/settings")["revision"]
    document = eventually(lambda: (d := device.get("/api/v1/sensors"))["revision"] == revision and d, "the pair gone")
    assert not [s for s in document["sensors"] if s["id"].startswith("derived/bench/")]


def test_a_broker_set_in_the_browser_keeps_its_password_out_of_every_answer_log_and_metric(fresh):
    device = fresh
    secret = "tk_mqtt_s3cret_42"
    answer = device.patch("/api/v1/settings", {"mqtt": {"host": "127.0.0.1", "port": 1883, "username": "frost",
                                                        "password": secret, "min_interval": "10s"}})
    assert answer.status_code == 200, answer.text
    mqtt = answer.json()["mqtt"]
    assert mqtt["broker"] == {"value": "mqtt://127.0.0.1:1883", "source": "browser", "file_value": None}
    assert mqtt["password"]["value"] == "…"
    bad = device.patch("/api/v1/settings", {"mqtt": {"host": "127.0.0.1", "port": 0}})
    assert bad.status_code == 400 and bad.json()["field"] == "mqtt.port"
    revision = device.get("/api/v1/settings")["revision"]
    eventually(lambda: device.get("/api/v1/sensors")["revision"] == revision, "the sampler taking it")
    texts = [device.admin.get(device.url(path), timeout=30).text for path in (
        "/api/v1/settings", "/api/v1/settings/export", "/api/v1/settings/changes", "/metrics", "/readyz")]
    assert "[mqtt] password is left out" in texts[1]
    for text in (*texts, device.logs()):
        assert secret not in text
    removed = device.admin.delete(device.url("/api/v1/settings/mqtt"), timeout=30)
    assert removed.status_code == 200 and removed.json()["mqtt"]["broker"]["value"] is None
