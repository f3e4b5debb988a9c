"""lm-sensors' configuration applied to the hwmon reader's sensors: labels, ignores, computes.

The parser and the evaluator have their own tests (test_lmsensors.py); these check what a user
sees: the API, frost_* and node_hwmon_* over a fixture tree with a sensors.d file.
"""
from __future__ import annotations

import json

import pytest

import chips
from fakesysfs import FakeSysfs
from frostserver.http import create_app
from frostserver.http.context import context
from frostserver.hwmon import HwmonReader
from frostserver.lmsensors import parse_config
from frostserver.model import ERROR, OK
from frostserver.sampler import build_sampler

BOARD = """
chip "nct6798-*"
    label in1 "+12V"
    compute in1 @*12, @/12
    label in2 "+3.3V"
    compute in2 @ + in0, @ - in0
    ignore fan2
"""


def sample(tmp_path, config_text: str, fixture=chips.nct6798):
    tree = FakeSysfs(tmp_path / "sys")
    fixture(tree)
    with HwmonReader(tree.root, read_timeout=60, sensors_config=parse_config(config_text, "board.conf")) as reader:
        first = reader.sample()
        second = reader.sample()
    return {sensor.id: (sensor, reading) for sensor, reading in first}, {
        sensor.id: (sensor, reading) for sensor, reading in second}


def test_labels_and_computes_apply_to_values_and_limits(tmp_path):
    found, _ = sample(tmp_path, BOARD)
    sensor, reading = found["nct6798-isa-0290/in1"]
    assert sensor.label == "+12V"
    assert reading.value == pytest.approx(1.008 * 12)
    assert reading.uncomputed == pytest.approx(1.008)
    assert sensor.thresholds == {"min": 0.0, "max": 0.0}
    # What node_hwmon_* exports stays the chip's own: raw numbers and the raw label file.
    assert dict(reading.raw)["input"] == 1008
    assert sensor.sysfs is not None and sensor.sysfs.label is None
    sensor, reading = found["nct6798-isa-0290/in0"]
    assert (sensor.label, reading.value, reading.uncomputed) == ("in0", 1.04, None)


def test_a_compute_may_name_another_feature(tmp_path):
    found, _ = sample(tmp_path, BOARD)
    sensor, reading = found["nct6798-isa-0290/in2"]
    assert reading.value == pytest.approx(3.36 + 1.04)
    # Limits are computed with the plan, from the other feature's latest value: none at the very
    # first plan, so they are left out rather than shown wrong.
    assert sensor.label == "+3.3V"


def test_ignore_marks_the_sensor_and_keeps_it_for_node_hwmon(tmp_path):
    found, _ = sample(tmp_path, BOARD)
    sensor, reading = found["nct6798-isa-0290/fan2"]
    assert sensor.ignored
    assert not found["nct6798-isa-0290/fan1"][0].ignored


def test_a_compute_that_fails_is_that_sensors_error_only(tmp_path):
    found, _ = sample(tmp_path, 'chip "nct6798-*"\n    compute in0 @/(in1 - in1), @\n')
    _, reading = found["nct6798-isa-0290/in0"]
    assert (reading.value, reading.status) == (None, ERROR)
    assert reading.error.startswith("compute: ")
    assert reading.uncomputed == pytest.approx(1.04)
    assert found["nct6798-isa-0290/in1"][1].status != ERROR


def test_computes_that_refer_to_each_other_end_in_an_error_not_a_hang(tmp_path):
    found, _ = sample(tmp_path, 'chip "nct6798-*"\n    compute in0 @ + in2, @\n    compute in2 @ + in0, @\n')
    assert found["nct6798-isa-0290/in0"][1].status == ERROR
    assert found["nct6798-isa-0290/in2"][1].status == ERROR


HOSTILE = """
chip "nct6798-*"
    label in0 "Vcore"
    compute temp1 @""" + "+1" * 3000 + """, @
    compute temp2 ^^^^@, @
    compute in1 @*12, @/12
    compute in2 @/(in0 - in0), @
    compute fan1 `(0-@), @
    compute in0 @*2, @/2
"""


def test_hostile_computes_fail_one_sensor_each_and_spare_the_rest(tmp_path):
    def two_chips(tree):
        return chips.nct6798(tree) + chips.it87_old_layout(tree)

    plain, _ = sample(tmp_path / "plain", "", fixture=two_chips)
    found, again = sample(tmp_path / "hostile", HOSTILE, fixture=two_chips)
    assert found.keys() == plain.keys() == again.keys()  # no sensor lost, none of either chip
    # The 3,000-term statement was refused when parsed: temp1 is read as if it had none.
    assert found["nct6798-isa-0290/temp1"][1] == plain["nct6798-isa-0290/temp1"][1]
    for channel, reason in (("temp2", "computed value is not finite"), ("in2", "division by zero"),
                            ("fan1", "needs a positive argument")):
        sensor, reading = found[f"nct6798-isa-0290/{channel}"]
        assert (reading.value, reading.status) == (None, ERROR), channel
        assert reading.error.startswith("compute: board.conf:") and reason in reading.error
        assert reading.uncomputed == plain[f"nct6798-isa-0290/{channel}"][1].value
    # temp2's limits overflow too: left out, never served as infinity.
    assert found["nct6798-isa-0290/temp2"][0].thresholds == {}
    assert found["nct6798-isa-0290/in1"][1].value == pytest.approx(1.008 * 12)
    assert found["nct6798-isa-0290/in0"][1].value == pytest.approx(2.08)
    for sensor_id, (sensor, reading) in again.items():
        if not sensor_id.startswith("nct6798-isa-0290/") or sensor.channel not in ("temp2", "in2", "fan1"):
            assert reading.status != ERROR, sensor_id


def test_an_unchanged_reading_is_the_same_object(tmp_path):
    # Downstream encodes each Reading once (store/latest.py): a compute must not defeat that.
    first, second = sample(tmp_path, BOARD)
    assert second["nct6798-isa-0290/in1"][1] is first["nct6798-isa-0290/in1"][1]


def test_a_chip_no_block_matches_is_untouched(tmp_path):
    found, _ = sample(tmp_path, 'chip "it87-*"\n    label in0 "Vcore"\n')
    sensor, reading = found["nct6798-isa-0290/in0"]
    assert (sensor.label, reading.status, reading.uncomputed) == ("in0", OK, None)


@pytest.fixture
def configured_app(tmp_path):
    chips.nct6798(FakeSysfs(tmp_path / "sys"))
    etc = tmp_path / "etc"
    (etc / "sensors.d").mkdir(parents=True)
    (etc / "sensors.d" / "board.conf").write_text(BOARD)
    app = create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "ring_seconds": 60,
                      "read_timeout": 60.0, "lm_sensors_etc": etc})
    sampler = build_sampler(context(app).settings)
    sampler.sample_once()
    yield app
    sampler.close()


def test_the_api_shows_computed_values_beside_raw_ones_and_leaves_ignored_sensors_out(configured_app):
    client = configured_app.test_client()
    sensors = {s["id"]: s for s in client.get("/api/v1/sensors").get_json()["sensors"]}
    assert "nct6798-isa-0290/fan2" not in sensors
    assert client.get("/api/v1/sensors/nct6798-isa-0290/fan2").status_code == 404
    rail = sensors["nct6798-isa-0290/in1"]
    assert (rail["label"], rail["value"], rail["raw_value"]) == ("+12V", pytest.approx(12.096), 1.008)
    assert "raw_value" not in sensors["nct6798-isa-0290/in0"]
    history = client.get("/api/v1/history?seconds=10&sensor=nct6798-isa-0290/fan2")
    assert history.status_code == 400
    assert "nct6798-isa-0290/fan2" not in json.loads(client.get("/api/v1/history?seconds=10").data)["series"]


def test_metrics_frost_computed_node_hwmon_raw_and_complete(configured_app):
    text = configured_app.test_client().get("/metrics").get_data(as_text=True)
    line = next(line for line in text.splitlines() if line.startswith("frost_sensor_value") and "/in1\"" in line)
    assert line.startswith('frost_sensor_value{chip="nct6798-isa-0290",kind="voltage",label="+12V",place="",'
                           'sensor="nct6798-isa-0290/in1",unit="V"} ')
    assert float(line.split()[-1]) == pytest.approx(12.096)
    assert 'node_hwmon_in_volts{chip="platform_nct6775_656",sensor="in1"} 1.008' in text
    assert 'node_hwmon_fan_rpm{chip="platform_nct6775_656",sensor="fan2"} 0.0' in text
    assert "nct6798-isa-0290/fan2" not in text


def test_the_directory_comes_from_the_environment_as_a_path():
    from pathlib import Path

    from frostserver.config import load_settings

    assert load_settings({"FROST_LM_SENSORS_ETC": "/etc"}).lm_sensors_etc == Path("/etc")
    assert load_settings({}).lm_sensors_etc is None  # never the test machine's own files by default


def test_set_statements_are_one_notice_per_file_and_errors_one_line_each():
    from frostserver.lmsensors import describe

    config = parse_config('chip "nct6798-*"\n    set in1_min 1\n    set in1_max 2\n    label in0\n', "board.conf")
    errors, notices = describe(config.problems)
    assert len(errors) == 1 and errors[0].startswith("board.conf:4:")
    assert notices == ["board.conf: 2 `set` statement(s) not applied, FrostServer never writes to the hardware "
                       "(lines 2, 3)"]


def test_a_compute_failing_in_an_unforeseen_way_is_still_only_its_own_sensors_error(tmp_path):
    from types import MappingProxyType

    from frostserver.hwmon.configured import ConfiguredChip
    from frostserver.lmsensors import ChipConfig, Compute
    from frostserver.model import Reading

    class Broken(Compute):
        def from_raw(self, raw, lookup):
            raise RuntimeError("a bug nobody foresaw")

    good = parse_config('chip "*"\n compute in1 @*2, @/2\n').blocks[0].computes[0]
    config = ChipConfig(computes=MappingProxyType({"in0": Broken("in0", None, None), "in1": good}))
    found, _ = sample(tmp_path, "")
    sensors = [found[f"nct6798-isa-0290/{channel}"][0] for channel in ("in0", "in1", "in2")]
    chip = ConfiguredChip(config, sensors)  # in0's limits fail too: left out, not raised
    assert sensors[0].thresholds and chip.sensors[0].thresholds == {}
    readings = chip.readings([Reading(1.0), Reading(2.0), Reading(3.0)])
    assert (readings[0].value, readings[0].status) == (None, ERROR)
    assert readings[0].error == "compute: internal error (RuntimeError)"
    assert [reading.value for reading in readings[1:]] == [4.0, 3.0]
