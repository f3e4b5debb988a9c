"""Home Assistant over MQTT on the real stack: the `mqtt` profile's Mosquitto and a subscriber in this test.

A stack of its own (compose.mqtt.yaml over the test stack, with the `mqtt` profile), its broker
published on an ephemeral port of this machine; the app reaches it as mqtt://frost:...@mosquitto:1883
(FROST_MQTT_URL). The subscriber checks what Home Assistant would receive: a discovery config for
every shown sensor and alert, states equal to /api/v1/sensors, availability by the last will,
discovery again after HA's birth message, a broker restart, a wrong password, and the password in
no log, answer or metric. [mqtt] min_interval is 1 s here, so no test waits ten.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import paho.mqtt.client as paho
import pytest
import requests
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.parser import text_string_to_metric_families

from chips import coretemp_dual_socket, ds18b20, ina219, nct6798, sht3x
from conftest import COMPOSE_FILES, compose_project
from fakesysfs import FakeSysfs
from waiting import eventually

SECRET = "mqtt-s3cret-7731"  # the broker's password: in no log, answer or metric
WRONG = "wrong-pass-5521"
CONFIG = """\
frost_threshold = 0.5

[alerts]
device_name = "Test greenhouse"
dashboard_url = "http://greenhouse.test:8080/"

[alerts.rules.frost]
for = "0s"

[relabel]
"w1_slave_temp-virtual-0/temp1" = "{label}"

[mqtt]
min_interval = "1s"
max_interval = "20s"
"""
PROBE = "w1_slave_temp-virtual-0/temp1"
# What HA's sensor component accepts for each kind (components/sensor/const.py), written out here so
# that the app's own table is checked, not copied: (device_class, unit, state_class).
KINDS = {
    "temperature": ("temperature", "°C", "measurement"),
    "voltage": ("voltage", "V", "measurement"),
    "current": ("current", "A", "measurement"),
    "power": ("power", "W", "measurement"),
    "energy": ("energy", "J", "total_increasing"),
    "humidity": ("humidity", "%", "measurement"),
    "fan": (None, "rpm", "measurement"),
    "pwm": (None, "%", "measurement"),
    "frequency": ("frequency", "Hz", "measurement"),
    "intrusion": (None, None, "measurement"),
}
BUILTIN_ON = ("frost", "frost_expected", "temperature_max", "temperature_crit", "sensor_fault", "sampling_stopped")
COLD = ("frost", "frost_expected")  # binary sensors of class cold: frost now, and frost on its way
ADMIN, ADMIN_PASSWORD = "ada", "correct horse battery staple"


class Subscriber:
    """A client as Home Assistant is one: subscribed to the discovery prefix and the devices' topics."""

    def __init__(self, port: int, password: str = SECRET):
        self.messages: list[tuple[str, bytes, bool]] = []  # topic, payload, retained; in arrival order
        self.lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"frosttest-{os.getpid()}")
        self.client.username_pw_set("frost", password)
        self.client.on_connect = lambda c, *_: c.subscribe([("homeassistant/#", 1), ("frostserver/#", 1)])
        self.client.on_message = self._message
        self.client.reconnect_delay_set(1, 2)  # the broker's restart: back within seconds
        self.client.connect_async("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def _message(self, _client, _userdata, message) -> None:
        with self.lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def mark(self) -> int:
        with self.lock:
            return len(self.messages)

    def since(self, mark: int = 0) -> list[tuple[str, bytes, bool]]:
        with self.lock:
            return self.messages[mark:]

    def latest(self, topic: str, mark: int = 0) -> bytes | None:
        found = [payload for t, payload, _ in self.since(mark) if t == topic]
        return found[-1] if found else None

    def configs(self, mark: int = 0) -> dict[str, dict]:
        """The newest config per discovery topic, since mark (removed ones left out)."""
        newest: dict[str, bytes] = {}
        for topic, payload, _ in self.since(mark):
            if re.fullmatch(r"homeassistant/[a-z_]+/[^/]+/[^/]+/config", topic):
                newest[topic] = payload
        return {topic: json.loads(payload) for topic, payload in newest.items() if payload}

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@dataclasses.dataclass
class Broker:
    project: object
    base_url: str
    config: Path
    subscriber: Subscriber
    probe: object
    device_id: str

    def api(self, path: str):
        return requests.get(self.base_url + path, timeout=10)

    def sensors(self) -> dict[str, dict]:
        return {s["id"]: s for s in self.api("/api/v1/sensors").json()["sensors"]}

    def metrics(self) -> dict[str, float]:
        text = self.api("/metrics").text
        return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples
                if not s.labels}

    def logs(self, service: str = "app") -> str:
        result = self.project.cli("logs", "--no-color", service, check=False)
        return result.stdout + result.stderr

    def pids(self) -> dict[str, int]:
        """The app container's processes by job: the sampler's, the publisher's, the supervisor's."""
        script = ("import os\nfor pid in os.listdir('/proc'):\n    if pid.isdigit():\n        try:\n"
                  "            print(pid, open(f'/proc/{pid}/cmdline','rb').read().replace(b'\\0',b' ').decode())\n"
                  "        except OSError: pass\n")
        out = self.project.cli("exec", "-T", "app", "python", "-c", script).stdout
        found = {}
        for line in out.splitlines():
            pid, _, command = line.partition(" ")
            for job in ("frostserver.sampler", "frostserver.mqtt", "frostserver.supervisor"):
                if f"-m {job} " in command + " ":
                    found[job] = int(pid)
        return found

    def resubscribe(self) -> None:
        """Connect a new subscriber: a restarted broker is published on a new ephemeral port."""
        self.subscriber.close()
        port = eventually(lambda: int(self.project.cli("port", "mosquitto", "1883").stdout.split(":")[-1]),
                          "the broker's port")
        self.subscriber = Subscriber(port)
        eventually(lambda: self.status(), "the retained availability")

    def status(self) -> bytes | None:
        return self.subscriber.latest(f"frostserver/{self.device_id}/status")

    def admin(self) -> requests.Session:
        """Sign in as an admin (made the first time), as the settings page does."""
        self.project.accounts("add", ADMIN, "--role", "admin", input=ADMIN_PASSWORD + "\n", check=False)
        client = requests.Session()
        client.headers["Origin"] = self.base_url
        answer = client.post(self.base_url + "/api/v1/session", json={"username": ADMIN, "password": ADMIN_PASSWORD},
                             timeout=30)
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client


def write_config(path: Path, label: str = "Garden probe") -> None:
    path.write_text(CONFIG.format(label=label))
    path.chmod(0o644)


@pytest.fixture(scope="module")
def broker():
    work = Path(tempfile.mkdtemp(prefix="frost-mqtt-"))
    work.chmod(0o755)  # the app reads the tree and the config as another user
    tree = FakeSysfs(work / "sys")
    coretemp_dual_socket(tree)
    probe, _ = ds18b20(tree)
    sht3x(tree)
    ina219(tree)
    nct6798(tree)
    config = work / "frostserver.toml"
    write_config(config)
    env = {"FROST_TEST_SYSFS": str(work / "sys"), "FROST_TEST_CONFIG": str(config), "FROST_MQTT_PASSWORD": SECRET,
           "FROST_MQTT_URL": f"mqtt://frost:{SECRET}@mosquitto:1883", "FROST_MQTT_PORT": ""}
    files = [*COMPOSE_FILES, "tests/integration/compose.mqtt.yaml"]
    try:
        with compose_project("frostmqtt", files, env, profiles=["mqtt"]) as project:
            port = int(project.cli("port", "mosquitto", "1883").stdout.split(":")[-1])
            subscriber = Subscriber(port)
            found = None
            try:
                (status_topic,) = eventually(
                    lambda: [t for t, p, _ in subscriber.since() if re.fullmatch(r"frostserver/[^/]+/status", t)
                             and p == b"online"][:1], "the device's availability topic")
                found = Broker(project, project.url("nginx", 8080), config, subscriber, probe,
                               status_topic.split("/")[1])
                yield found
            finally:
                (found.subscriber if found is not None else subscriber).close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def settled(broker):
    """The stack as every test needs it, whatever ran before: ready, connected, online, the probe warm."""
    broker.probe.write("temp1_input", 12000)
    eventually(lambda: broker.api("/readyz").json().get("mqtt") == "connected", "the publisher connected")
    eventually(lambda: broker.status() == b"online", "the device online")
    return broker


def shown_sensors(broker: Broker) -> dict[str, dict]:
    """Every sensor the API shows, once each has a reading (a first read cut short on a busy machine)."""
    return eventually(lambda: (s := broker.sensors()) and all(v["value"] is not None for v in s.values()) and s,
                      "a reading of every sensor")


def test_every_shown_sensor_and_alert_has_a_discovery_config_of_its_kind(settled):
    from frostserver.mqtt.discovery import object_id

    broker = settled
    sensors = shown_sensors(broker)
    assert {s["kind"] for s in sensors.values()} >= {"temperature", "voltage", "current", "power", "humidity", "fan",
                                                     "pwm"}
    prefix = f"homeassistant/sensor/{broker.device_id}"

    def all_configs():
        configs = broker.subscriber.configs()
        return all(f"{prefix}/{object_id(sid)}/config" in configs for sid in sensors) and configs

    configs = eventually(all_configs, "a config for every sensor")
    unique_ids = [config["unique_id"] for config in configs.values()]
    assert len(set(unique_ids)) == len(unique_ids)
    for sid, shown in sensors.items():
        config = configs[f"{prefix}/{object_id(sid)}/config"]
        device_class, unit, state_class = KINDS[shown["kind"]]
        assert (config.get("device_class"), config.get("unit_of_measurement"), config["state_class"]) == (
            device_class, unit, state_class), sid
        assert config["unique_id"].startswith(broker.device_id + "_") and config["name"] == shown["label"]
        assert config["state_topic"].startswith(f"frostserver/{broker.device_id}/")
        assert config["availability_topic"] == f"frostserver/{broker.device_id}/status"
        assert config["device"]["name"] == "Test greenhouse"
        assert config["device"]["configuration_url"] == "http://greenhouse.test:8080/"
    for rule in BUILTIN_ON:
        alert = configs[f"homeassistant/binary_sensor/{broker.device_id}/alert_{rule}/config"]
        assert alert["device_class"] == ("cold" if rule in COLD else "problem")
        assert alert["unique_id"] == f"{broker.device_id}_alert_{rule}"


def test_states_equal_the_api_within_display_precision(settled):
    from frostserver.mqtt.discovery import object_id

    broker = settled
    sensors = shown_sensors(broker)
    prefix = f"homeassistant/sensor/{broker.device_id}"
    configs = eventually(lambda: (c := broker.subscriber.configs()) and all(
        f"{prefix}/{object_id(sid)}/config" in c for sid in sensors) and c, "the configs")

    def mismatches() -> list[str]:
        wrong = []
        for sid, shown in broker.sensors().items():
            config = configs[f"{prefix}/{object_id(sid)}/config"]
            state = broker.subscriber.latest(config["state_topic"])
            tolerance = 10 ** -config["suggested_display_precision"]
            if state is None or shown["value"] is None or abs(float(state) - shown["value"]) > tolerance:
                wrong.append(f"{sid}: {state!r} against {shown['value']}")
        return wrong

    try:
        eventually(lambda: not mismatches(), "every state as the API has it")
    except BaseException:
        print("mismatches:", mismatches())
        raise
    threshold = broker.subscriber.latest(f"frostserver/{broker.device_id}/frost_threshold/state")
    assert threshold == b"0.5"


def test_frost_turns_its_binary_sensor_on_and_warmth_off(settled):
    broker = settled
    state = f"frostserver/{broker.device_id}/alert/frost/state"
    eventually(lambda: broker.subscriber.latest(state) == b"OFF", "frost off")
    broker.probe.write("temp1_input", -2500)
    try:
        eventually(lambda: broker.subscriber.latest(state) == b"ON", "frost on")
        attributes = json.loads(broker.subscriber.latest(f"frostserver/{broker.device_id}/alert/frost/attributes"))
        assert attributes["sensors"] == [PROBE] and attributes["firing"] == 1
    finally:
        broker.probe.write("temp1_input", 12000)
    eventually(lambda: broker.subscriber.latest(state) == b"OFF", "frost off again")


def test_a_config_of_this_device_left_on_the_broker_from_before_is_removed(settled):
    broker = settled
    ghost = f"homeassistant/sensor/{broker.device_id}/ghost-sensor_0123456789/config"
    mark = broker.subscriber.mark()
    broker.subscriber.publish(ghost, json.dumps({"name": "Ghost", "state_topic": "x"}), retain=True)
    # REMOVE_AFTER (30 s) after the publisher sees it: within PATIENCE.
    eventually(lambda: broker.subscriber.latest(ghost, mark) == b"", "the stale config removed")


def test_a_broker_restart_is_survived_and_has_birth_brings_the_discovery_again(settled):
    broker = settled
    before = broker.pids()
    samples = broker.api("/readyz").json()["samples"]
    connections = broker.logs().count("connected to the broker mqtt://mosquitto:1883")
    broker.project.cli("restart", "mosquitto")
    eventually(lambda: broker.logs().count("connected to the broker mqtt://mosquitto:1883") > connections,
               "the publisher connected again")
    broker.resubscribe()
    # The configs the new subscription holds (published again on reconnecting): never none, or the
    # check below would hold with nothing sent.
    count = eventually(lambda: len(broker.subscriber.configs()), "the configs on the restarted broker")
    mark = broker.subscriber.mark()
    broker.subscriber.publish("homeassistant/status", "online")  # HA's birth message, not retained
    fresh = lambda: {t for t, p, retained in broker.subscriber.since(mark) if t.endswith("/config") and not retained}  # noqa: E731
    eventually(lambda: len(fresh()) >= count, "every config again after the birth message")
    assert broker.pids() == before  # no process restarted: the publisher reconnected by itself
    eventually(lambda: broker.api("/readyz").json()["samples"] > samples + 3, "sampling going on")
    assert "lost the broker mqtt://mosquitto:1883" in broker.logs()


def test_a_killed_app_goes_offline_by_its_last_will_and_a_rename_keeps_the_unique_id(settled):
    from frostserver.mqtt.discovery import object_id

    broker = settled
    topic = f"homeassistant/sensor/{broker.device_id}/{object_id(PROBE)}/config"
    before = eventually(lambda: broker.subscriber.configs().get(topic), "the probe's config")
    mark = broker.subscriber.mark()
    write_config(broker.config, label="Vegetable patch")
    try:
        broker.project.cli("kill", "-s", "SIGKILL", "app")  # no goodbye: only the broker's will can say it
        eventually(lambda: broker.subscriber.latest(f"frostserver/{broker.device_id}/status", mark) == b"offline",
                   "offline by the last will")
        broker.project.cli("start", "app")
        after = eventually(lambda: (c := broker.subscriber.configs(mark).get(topic)) and c["name"] == "Vegetable patch"
                           and c, "the renamed entity")
        assert after["unique_id"] == before["unique_id"]
        eventually(lambda: broker.subscriber.latest(f"frostserver/{broker.device_id}/status", mark) == b"online",
                   "online again")
    finally:
        write_config(broker.config)
        broker.project.cli("restart", "app")
        eventually(lambda: broker.api("/readyz").status_code == 200, "the app back")
        eventually(lambda: broker.subscriber.configs().get(topic, {}).get("name") == "Garden probe", "the old name")


def test_a_wrong_password_is_one_clear_line_and_readyz_stays_200(settled):
    broker = settled
    wrong = dataclasses.replace(broker.project, env={**broker.project.env,
                                                     "FROST_MQTT_URL": f"mqtt://frost:{WRONG}@mosquitto:1883"})
    try:
        wrong.cli("up", "--detach", "--no-deps", "--no-build", "app")
        refused = "the broker mqtt://mosquitto:1883 refused the connection:"
        eventually(lambda: refused in broker.logs(), "the refusal in the log")
        ready = eventually(lambda: (r := broker.api("/readyz")).status_code == 200 and r, "/readyz")
        assert ready.json()["mqtt"] == "disconnected"
        assert broker.metrics()["frost_mqtt_connected"] == 0
        # Attempts go on with back-off (1, 2, 4 s ...): a few more, and still the one line.
        attempts = broker.logs("mosquitto").count("not authorised")
        eventually(lambda: broker.logs("mosquitto").count("not authorised") >= attempts + 2, "two more attempts")
        logs = broker.logs()
        assert logs.count(refused) == 1, logs
        assert "check [mqtt] username and password" in logs
        assert WRONG not in logs and WRONG not in broker.api("/metrics").text
    finally:
        broker.project.cli("up", "--detach", "--no-deps", "--no-build", "app")
        eventually(lambda: broker.api("/readyz").json().get("mqtt") == "connected", "connected again")


def test_the_password_is_in_no_log_answer_or_metric(settled):
    broker = settled
    answers = [broker.api(path).text for path in ("/metrics", "/readyz", "/api/v1/sensors", "/api/v1/alerts",
                                                  "/api/v1/openapi.json")]
    for text in (broker.logs("app"), broker.logs("mosquitto"), *answers):
        assert SECRET not in text
    assert "publishing to mqtt://mosquitto:1883 as device" in broker.logs("app")
    assert broker.metrics()["frost_mqtt_connected"] == 1 and broker.metrics()["frost_mqtt_published_total"] > 0


def test_what_is_set_in_the_browser_is_what_home_assistant_shows(settled):
    from frostserver.mqtt.discovery import object_id

    broker = settled
    admin = broker.admin()
    topic = f"homeassistant/sensor/{broker.device_id}/{object_id(PROBE)}/config"
    threshold_topic = f"frostserver/{broker.device_id}/frost_threshold/state"
    before = eventually(lambda: broker.subscriber.configs().get(topic), "the probe's config")
    assert "suggested_area" not in before["device"]

    def patch(path: str, body: dict) -> None:
        answer = admin.patch(broker.base_url + path, json=body, timeout=30)
        assert answer.status_code == 200, answer.text

    try:
        patch(f"/api/v1/sensors/{PROBE}", {"label": "Greenhouse floor", "place": "Greenhouse"})
        renamed = eventually(lambda: (c := broker.subscriber.configs().get(topic)) and c["name"] == "Greenhouse floor"
                             and c, "the entity renamed")
        assert renamed["unique_id"] == before["unique_id"]  # the same entity, never a new one
        assert renamed["device"]["suggested_area"] == "Greenhouse"
        assert renamed["device"]["via_device"] == before["device"]["identifiers"][0]

        patch("/api/v1/settings", {"device": {"name": "Browser greenhouse", "units": "fahrenheit"}})
        in_f = eventually(lambda: (c := broker.subscriber.configs().get(topic)) and c["unit_of_measurement"] == "°F"
                          and c, "the probe's config in °F")
        assert in_f["device"]["name"] == "Browser greenhouse: Greenhouse" and in_f["unique_id"] == before["unique_id"]

        def state_in_f() -> bool:
            state = broker.subscriber.latest(in_f["state_topic"])
            celsius = broker.sensors()[PROBE]["value"]
            return state not in (None, b"None") and abs(float(state) - (celsius * 9 / 5 + 32)) <= 0.1

        eventually(state_in_f, "the probe's state in °F, as the API's °C says")
        eventually(lambda: broker.subscriber.latest(threshold_topic) == b"32.9", "the frost threshold in °F")

        mark = broker.subscriber.mark()
        patch(f"/api/v1/sensors/{PROBE}", {"hidden": True})
        eventually(lambda: broker.subscriber.latest(topic, mark) == b"", "the hidden sensor's config removed")
        patch(f"/api/v1/sensors/{PROBE}", {"hidden": False})
        back = eventually(lambda: (c := broker.subscriber.configs(mark).get(topic)) and c, "the config back")
        assert back["unique_id"] == before["unique_id"] and back["name"] == "Greenhouse floor"
    finally:
        reset = admin.post(broker.base_url + "/api/v1/settings/import", data="", timeout=30,
                           headers={"Content-Type": "application/toml"})
        assert reset.status_code == 200, reset.text  # the config file's settings alone again
    eventually(lambda: (c := broker.subscriber.configs().get(topic)) and c["name"] == "Garden probe"
               and c["unit_of_measurement"] == "°C" and "suggested_area" not in c["device"], "the file's settings back")
    eventually(lambda: broker.subscriber.latest(threshold_topic) == b"0.5", "the frost threshold in °C again")


# The browser's settings, written as the settings API writes them (the API for [mqtt] is another
# change's): a set of entries in settings.db, in the app container, as its user.
SET_IN_THE_BROWSER = """\
import json, sys, time
from frostserver.config import load_settings
from frostserver.settings.store import Edit, SettingsStore, Touch
entries = {tuple(key.split(".")): value for key, value in json.loads(sys.argv[1]).items()}
store = SettingsStore(load_settings().accounts_home)
store.write(lambda before: Edit(set=entries, touched=[Touch("device", "", "mqtt")]), "test", time.time())
"""


def test_mqtt_switched_off_in_the_settings_and_on_again_is_followed_without_a_restart(settled):
    broker = settled
    before = broker.pids()
    status = f"frostserver/{broker.device_id}/status"

    def browser(entries: dict) -> None:
        broker.project.cli("exec", "-T", "app", "python", "-c", SET_IN_THE_BROWSER, json.dumps(entries))

    mark = broker.subscriber.mark()
    try:
        browser({"mqtt.enabled": False})
        eventually(lambda: broker.subscriber.latest(status, mark) == b"offline", "offline: publishing stopped")
        eventually(lambda: broker.api("/readyz").json().get("mqtt") == "off", "/readyz saying mqtt is off")
        assert "frost_mqtt_connected" not in broker.metrics()
        assert broker.api("/readyz").status_code == 200
    finally:
        browser({"mqtt.enabled": None})  # the browser's value gone: the file's and FROST_MQTT_URL's again
    eventually(lambda: broker.subscriber.latest(status, mark) == b"online", "online again")
    eventually(lambda: broker.api("/readyz").json().get("mqtt") == "connected", "connected again")
    assert broker.pids() == before  # the publisher followed the settings: no process started or restarted
    assert "stopped publishing to mqtt://mosquitto:1883" in broker.logs() and SECRET not in broker.logs()
