"""The sensor simulator (tests/simulator.py), stepped at chosen times: deterministic, plausible, readable."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

import simulator
from fakesysfs import FakeSysfs
from frostserver.alerts.engine import AlertEngine
from frostserver.alerts.messages import FIRING
from frostserver.config_sensors import read_sensor, sensor_for
from frostserver.derived.sensors import DerivedSensors
from frostserver.hwmon import HwmonReader
from frostserver.model import ALARM, OK
from frostserver.config import load_settings
from frostserver.overrides import OverrideApplier
from frostserver.sampler import build_forecaster
from simulator import HEATER_SETPOINT, MARKER, Simulator, frost_curve, w1_slave_text, write_in_place

SCRIPT = Path(simulator.__file__)
DEMO_CONFIG = SCRIPT.parents[1] / "config" / "frostserver.demo.toml"
GARDEN = "w1_slave_temp-virtual-0/temp1"  # the DS18B20 in the garden, on the frost curve
AIR = "sht3x-i2c-1-44/temp1"
GREENHOUSE = "config/greenhouse"  # the BME280 on IIO, read by the demo config's file sensor
# Nothing in the simulated tree blocks: the app's 0.5 s read deadline would only turn a busy
# machine's slowness into "timeout" readings.
UNHURRIED = 60.0


@pytest.fixture
def sim(tmp_path) -> Simulator:
    return Simulator(FakeSysfs(tmp_path / "sys"), day_seconds=600, start_hour=18)


def read_tree(root: Path) -> dict:
    """Sample a tree once with the app's reader: {sensor id: (Sensor, Reading)}."""
    with HwmonReader(root, read_timeout=UNHURRIED) as reader:
        return {sensor.id: (sensor, reading) for sensor, reading in reader.sample()}


def garden_millidegrees(sim: Simulator) -> tuple[int, int]:
    """Return the garden probe's hwmon value and its w1_slave t=, both in m°C."""
    chip = sim.chips["ds18b20"][0]
    w1_slave = (chip.device_dir / "w1_slave").read_text()
    return int(chip.path("temp1_input").read_text()), int(w1_slave.rsplit("t=", 1)[1])


def test_the_outdoor_probe_freezes_at_night_and_thaws_by_noon(sim):
    sim.step(sim.t_at(12))
    assert all(value > 5000 for value in garden_millidegrees(sim))
    sim.step(sim.t_at(3))
    assert all(value < -2000 for value in garden_millidegrees(sim))


def test_frost_lasts_one_night_from_late_evening_to_early_morning(sim):
    frosty_hours = []
    for minute in range(0, 24 * 60, 20):
        sim.step(sim.t_at(minute / 60))
        hwmon, w1_slave = garden_millidegrees(sim)
        assert hwmon == w1_slave
        if hwmon < 0:
            frosty_hours.append(minute / 60)
    # One frosty stretch across midnight: from ~22:40 to ~07:20, nothing in the daytime.
    assert 21.5 < min(h for h in frosty_hours if h > 12) < 23.5
    assert 6.5 < max(h for h in frosty_hours if h < 12) < 8.5
    assert not [h for h in frosty_hours if 8.5 <= h <= 21.5]


def test_the_length_of_a_day_is_configurable(tmp_path):
    fast = Simulator(FakeSysfs(tmp_path / "sys"), day_seconds=60, start_hour=0)
    assert fast.hour_at(15) == pytest.approx(6.0)
    assert fast.t_at(3) == pytest.approx(7.5)
    assert fast.t_at(3, day=1) == pytest.approx(67.5)
    assert fast.step(7.5).outdoor == pytest.approx(frost_curve(3)) and frost_curve(3) < 0
    assert fast.step(30).outdoor == pytest.approx(frost_curve(12)) and frost_curve(12) > 0


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def test_the_same_time_gives_the_same_values(tmp_path):
    first = Simulator(FakeSysfs(tmp_path / "a"))
    second = Simulator(FakeSysfs(tmp_path / "b"))
    for t in (0.0, 1.0, 137.5):
        first.step(t)
        second.step(t)
        assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    # ... and values do drift from one step to the next.
    before = snapshot(tmp_path / "a")
    first.step(138.5)
    changed = {name for name, text in snapshot(tmp_path / "a").items() if before[name] != text}
    assert len(changed) >= 10, changed


def test_the_reader_reads_a_whole_day_without_errors_and_every_value_is_plausible(sim):
    limits = {"temperature": (-20, 90), "fan": (500, 3000), "voltage": (0.01, 6),
              "current": (0.2, 1), "power": (1, 5), "humidity": (40, 100), "pwm": (0, 100)}
    with HwmonReader(sim.tree.root, read_timeout=UNHURRIED) as reader:
        for t in range(0, 600, 7):  # every 7 s of a 600 s day: all phases of load and frost
            sim.step(float(t))
            samples = reader.sample()
            assert len(samples) >= 30
            for sensor, reading in samples:
                assert reading.status in (OK, ALARM), (t, sensor.id, reading)
                low, high = limits.get(sensor.kind, (float("-inf"), float("inf")))
                assert low <= reading.value <= high, (t, sensor.id, reading.value)


def test_fans_follow_the_cpu_temperature(sim):
    assert sim.step(45.0).load[0] < 0.2  # between two load bursts
    cool = read_tree(sim.tree.root)
    assert sim.step(100.0).load[0] > 0.7  # at the top of a burst
    hot = read_tree(sim.tree.root)
    package = "coretemp-isa-0000/temp1"
    assert hot[package][1].value - cool[package][1].value > 15
    for fan in ("nct6798-isa-0290/fan1", "nct6798-isa-0290/fan2"):
        assert hot[fan][1].value > cool[fan][1].value + 100, fan


def test_the_3v3_rail_sags_with_an_alarm_now_and_then(sim):
    rail = "nct6798-isa-0290/in2"
    sim.step(100.0)
    _, reading = read_tree(sim.tree.root)[rail]
    assert reading.status == OK and reading.value > 3.3
    sag = sim.step(237.0)
    assert sag.sag
    sensor, reading = read_tree(sim.tree.root)[rail]
    assert reading.status == ALARM and "alarm" in reading.alarms
    assert reading.value < sensor.thresholds["min"]


def test_the_humidity_alarm_is_an_event_of_the_small_hours(sim):
    humidity = "sht3x-i2c-1-44/humidity1"
    sim.step(sim.t_at(3))
    night = read_tree(sim.tree.root)
    assert night[humidity][1].status == ALARM and night[humidity][1].value > 90
    assert night[AIR][1].value < 0
    sim.step(sim.t_at(13))
    day = read_tree(sim.tree.root)
    assert day[humidity][1].status == OK and day[humidity][1].value < 60
    assert day[AIR][1].value > 5


def test_w1_slave_reads_like_the_w1_therm_driver():
    # The example of the DS18B20 datasheet and of countless Raspberry Pi tutorials.
    assert w1_slave_text(23125) == ("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
                                    "72 01 4b 46 7f ff 0e 10 57 t=23125\n")
    assert w1_slave_text(-1937).endswith("t=-1937\n")  # 12-bit steps of 1/16 °C, two's complement


def test_a_write_changes_the_value_in_the_same_file_as_sysfs_does(tmp_path):
    path = tmp_path / "temp1_input"
    path.write_text("45000\n")
    path.chmod(0o644)
    fd = os.open(path, os.O_RDONLY)  # as the app keeps it open
    try:
        write_in_place(path, "-1500\n")
        assert os.pread(fd, 4096, 0) == b"-1500\n"  # the same file, not a new one under its name
        write_in_place(path, "9\n")
        assert os.pread(fd, 4096, 0) == b"9\n    "  # shorter: padded, never truncated
        assert int(os.pread(fd, 4096, 0)) == 9
    finally:
        os.close(fd)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["temp1_input"]


def test_the_tree_is_readable_by_another_user_and_holds_no_temporary_files(sim):
    for t in (0.0, 1.0, 2.0):
        sim.step(t)
    for path in sim.tree.root.rglob("*"):
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), path
        assert not path.name.endswith(".tmp"), path


def test_the_command_line_needs_only_the_standard_library(tmp_path):
    root = tmp_path / "sys"
    # -S -E: no site-packages (not even the virtualenv's), no PYTHON* variables.
    command = [sys.executable, "-S", "-E", str(SCRIPT), "--root", str(root), "--once", "--start-hour", "3"]
    for _ in range(2):  # the second run rebuilds the tree the first one left
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "frost" in result.stdout
    assert (root / MARKER).is_file() and stat.S_IMODE(root.stat().st_mode) == 0o755
    samples = read_tree(root)
    assert samples[GARDEN][1].value < 0
    assert all(reading.status in (OK, ALARM) for _, reading in samples.values())


def test_the_command_line_refuses_a_directory_it_did_not_make(tmp_path):
    (tmp_path / "precious").write_text("keep me\n")
    result = subprocess.run([sys.executable, str(SCRIPT), "--root", str(tmp_path), "--once"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "not made by the simulator" in result.stderr
    assert (tmp_path / "precious").read_text() == "keep me\n"


# --- the demo: config/frostserver.demo.toml over the simulator, judged by the app's alert engine ---


class Demo:
    """The demo's sampler in one thread: the simulator's tree read as the app reads it, on a fake clock.

    The hwmon reader, the demo config's file sensors (read where the container would find them,
    /host/sys being the simulator's root), its derived sensors, its relabels and thresholds, its
    frost forecast, then its alert rules: what the app's sampler does at each sample, with t (s
    since the simulator started) as the clock.
    """

    def __init__(self, sim: Simulator):
        self.sim = sim
        self.settings = load_settings({"FROST_CONFIG": str(DEMO_CONFIG)})
        root = str(sim.tree.root)
        self.files = [replace(spec, file=spec.file.replace("/host/sys", root, 1))
                      for spec in self.settings.sensors if spec.file is not None]
        self.engine = AlertEngine(self.settings.alerts.rules, frost_threshold=self.settings.frost_threshold,
                                  interval=self.settings.sample_interval, lead_time=self.settings.forecast.lead_time)
        self.reader = HwmonReader(sim.tree.root, read_timeout=UNHURRIED)
        self.overrides = OverrideApplier(self.settings.sensor_overrides)
        self.derived = DerivedSensors(self.settings.derived)
        self.forecaster = build_forecaster(self.settings)

    def sample(self, t: float) -> dict:
        """Step the simulator to t, take one sample, judge it; return {sensor id: (Sensor, Reading)}."""
        self.state = self.sim.step(t)
        pairs = self.reader.sample()
        pairs += [(sensor_for(spec), read_sensor(spec, threading.Event())) for spec in self.files]
        pairs += self.derived.derive(pairs)
        pairs = self.overrides.apply(pairs)
        self.events = self.engine.observe(t, pairs, self.forecaster.observe(t, pairs))
        return {sensor.id: (sensor, reading) for sensor, reading in pairs}

    def run(self, first: float, last: float) -> dict[str, float]:
        """Sample once a second from first to last; return {alert key: when it fired}."""
        fired = {}
        t = first
        while t <= last:
            self.sample(t)
            fired.update({e.alert.key: e.alert.fired_at for e in self.events if e.state == FIRING})
            t += self.settings.sample_interval
        return fired


@pytest.fixture
def demo(sim):
    demo = Demo(sim)
    yield demo
    demo.reader.close()


# The stack takes 1-3 minutes to come up on a slow machine, and scripts/demo.sh starts the
# simulator just before it: the app's first sample comes that long after the simulated 18:00.
@pytest.mark.parametrize("first_sample", [0.0, 90.0, 180.0])
def test_the_demo_s_frost_alert_fires_within_five_minutes_of_its_start(demo, first_sample):
    fired = demo.run(first_sample, 300.0)
    garden = fired.get(f"frost/{GARDEN}")
    assert garden is not None, f"no frost alert on the garden by t=300 s; fired: {fired}"
    assert garden < 300.0
    firing = demo.engine.firing[f"frost/{GARDEN}"]
    assert (firing.label, firing.severity) == ("Garden", "critical")
    assert firing.value <= demo.settings.frost_threshold


def test_the_demo_s_frost_alert_waits_for_frost_and_resolves_at_dawn(demo, sim):
    # Not at the first cold reading: the garden crosses the threshold at about 22:20 of the
    # simulated clock, and a rule that fired before it would fire at anything.
    fired = demo.run(0.0, sim.t_at(12))
    crossing = next(t for t in range(600) if frost_curve(sim.hour_at(t)) <= demo.settings.frost_threshold)
    assert crossing < fired[f"frost/{GARDEN}"] < crossing + 60
    assert f"frost/{GARDEN}" not in demo.engine.firing  # the sun is up again: resolved


def test_each_frost_alert_of_the_demo_is_one_probe_and_the_greenhouse_has_none(demo, sim):
    fired = demo.run(0.0, sim.t_at(12))  # one whole night
    # The garden probe and the air sensor beside it freeze, each warned of first; the shed and the
    # heated greenhouse do not, nor do the derived dew and frost points, far below the threshold.
    assert set(fired) == {f"frost/{GARDEN}", f"frost/{AIR}", f"frost_expected/{GARDEN}", f"frost_expected/{AIR}"}
    for probe in (GARDEN, AIR):
        # About a minute of the demo ahead: two and a half hours of its night.
        assert fired[f"frost/{probe}"] - 90 < fired[f"frost_expected/{probe}"] < fired[f"frost/{probe}"] - 40
    # No config-file sensor reads a file that a hwmon sensor already shows: one probe, one sensor.
    hwmon_devices = {chip.device_dir.resolve() for chips in sim.chips.values() for chip in chips
                     if chip.device_dir is not None}
    for spec in demo.files:
        assert not {Path(spec.file).resolve().parent, *Path(spec.file).resolve().parents} & hwmon_devices, spec


def test_the_greenhouse_is_read_from_iio_by_the_demo_config_and_kept_frost_free(demo, sim):
    by_hour = {}
    for hour in range(24):
        sampled = demo.sample(sim.t_at(hour))
        # hwmon does not see the BME280 (its driver is an IIO one): only the config file's sensor.
        assert not [sensor_id for sensor_id in sampled if "bme280" in sensor_id]
        sensor, reading = sampled[GREENHOUSE]
        assert (sensor.label, sensor.kind, reading.status) == ("Greenhouse", "temperature", OK), hour
        assert reading.value == pytest.approx(demo.state.greenhouse, abs=0.3), hour
        by_hour[hour] = reading.value
    assert by_hour[13] > 20  # the sun warms it by day
    assert min(by_hour.values()) > HEATER_SETPOINT - 0.3 > demo.settings.frost_threshold  # its heater, at night
    assert by_hour[3] == pytest.approx(HEATER_SETPOINT, abs=0.3)


def test_the_demo_notifies_its_own_receiver():
    settings = load_settings({"FROST_CONFIG": str(DEMO_CONFIG)})
    # compose.demo.yaml runs it as the service `receiver`; /ok/ answers 200 (tests/integration/receiver).
    assert settings.alerts.targets == ("json://receiver:8000/ok/demo",)
    assert "\n  receiver:\n" in (SCRIPT.parents[1] / "compose.demo.yaml").read_text()
