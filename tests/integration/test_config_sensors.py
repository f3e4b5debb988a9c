"""Issue 3 through nginx: the sensors and rules of the config file (frostserver.test.toml)."""
import requests

from conftest import sensors_by_id
from simulator import w1_slave_text, write_in_place
from waiting import eventually

W1 = "config/w1_outdoor"


def read_sensor(stack, sensor_id: str) -> dict:
    """Return a sensor once it has a reading: a fresh stack's first samples may have none yet
    (a config sensor is read on its own thread, a hwmon read may miss its deadline)."""
    def read():
        sensor = sensors_by_id(stack)[sensor_id]
        return sensor if sensor["value"] is not None else None

    return eventually(read, f"a reading of {sensor_id}")


def test_a_file_sensor_reads_the_w1_slave_file_and_follows_it(stack):
    sensor = read_sensor(stack, W1)
    assert (sensor["label"], sensor["kind"], sensor["unit"], sensor["source"]) == \
        ("Outdoor (w1_slave)", "temperature", "°C", "config")
    assert (sensor["value"], sensor["status"]) == (23.125, "ok")  # t=23125 in the file, scale 0.001
    w1_slave = stack.chips["ds18b20"][0].device_dir / "w1_slave"
    try:
        write_in_place(w1_slave, w1_slave_text(-1500))
        eventually(lambda: sensors_by_id(stack)[W1]["value"] == -1.5, "the new w1_slave value")
    finally:
        write_in_place(w1_slave, w1_slave_text(23125))  # as conftest.py built it
        eventually(lambda: sensors_by_id(stack)[W1]["value"] == 23.125, "the value restored")


def test_a_command_sensor_reports_what_the_command_prints(stack):
    # Read every 5 s, starting at once: the first reading is there by the first sample or so.
    sensor = read_sensor(stack, "config/command_probe")
    assert (sensor["value"], sensor["status"], sensor["label"]) == (21.5, "ok", "Command probe")


def test_a_relabelled_sensor_shows_the_new_label_everywhere(stack):
    relabelled = "coretemp-isa-0000/temp2"
    assert read_sensor(stack, relabelled)["label"] == "CPU0 core 0"  # the chip says "Core 0"
    one = requests.get(stack.url(f"/api/v1/sensors/{relabelled}"), timeout=5)
    assert one.status_code == 200 and one.json()["label"] == "CPU0 core 0"
    # Relabelling one sensor leaves its neighbours as the chip labels them.
    assert sensors_by_id(stack)["coretemp-isa-0000/temp3"]["label"] == "Core 1"


def test_a_threshold_override_replaces_the_chips_limit_and_raises_its_alarm(stack):
    sensor = read_sensor(stack, "coretemp-isa-0001/temp1")
    assert sensor["thresholds"]["max"] == 50.0  # the chip says 80
    assert sensor["thresholds"]["crit"] == 100.0  # not overridden: the chip's
    assert sensor["value"] == 51.0
    assert sensor["status"] == "alarm" and "max" in sensor["alarms"]
    # Its twin on socket 0 keeps the chip's limits.
    assert sensors_by_id(stack)["coretemp-isa-0000/temp1"]["thresholds"]["max"] == 80.0


def test_an_excluded_chip_is_nowhere(stack):
    assert stack.chips["acpitz"], "the tree has the chip the config excludes"
    assert not [sid for sid in sensors_by_id(stack) if sid.startswith("acpitz-")]
    assert requests.get(stack.url("/api/v1/sensors/acpitz-acpi-0/temp1"), timeout=5).status_code == 404
    history = requests.get(stack.url("/api/v1/history"), params={"sensor": "acpitz-acpi-0/temp1"}, timeout=5)
    assert history.status_code == 400
