"""/metrics: node_exporter's hwmon series (diffed against node_exporter's own output) and frost_*.

tests/unit/golden/node_exporter-<fixture>.prom is what Debian's prometheus-node-exporter printed for
each fixture tree of tests/chips.py (its version is in the file's first line).  To re-record:

    apt-get download prometheus-node-exporter && dpkg -x prometheus-node-exporter_*.deb ne
    FROST_NODE_EXPORTER=ne/usr/bin/prometheus-node-exporter .venv/bin/python -m pytest tests/unit/test_metrics.py

(Debian 13's package is 1.9.0; on Debian 12, which ships 1.5, download it with a separate apt
sources file for the trixie suite, as /work/shared/MACHINE-FACTS.md describes for compose.)

Trees with several hwmon devices on one parent device (CHIP_LABELS_1_12) are recorded one hwmon
device at a time, the others hidden from class/hwmon: node_exporter 1.9 to 1.11 give all of them
one `chip` label and keep whichever colliding series they collect first.  The recorded labels
are then replaced by the ones node_exporter 1.12 gives (PR #3646), written by hand below; the
golden's second line says so.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from waiting import eventually

import chips
from fakesysfs import FakeSysfs
from frostserver import __version__
from frostserver.http import create_app, exposition, node_exporter
from frostserver.http.context import context
from frostserver.http.workers import WORKERS_DIR, WorkerCounters, encode, read_worker_counters
from frostserver.model import ERROR, OK, Reading, Sensor, SysfsChannel
from frostserver.sampler import Sampler, build_sampler
from frostserver.store.reader import StoreReader
from frostserver.store.writer import StoreWriter
from frostserver.store.files import write_atomically

from sources import ListSource

GOLDEN = Path(__file__).parent / "golden"

# Where FrostServer deliberately differs from node_exporter on the fixture trees (README,
# "Running a fleet"): series node_exporter has and we leave out, and series only we have.
LEFT_OUT = {
    "broken": {
        # the 0x7fff-style sentinel of a disconnected diode (127998 °C): implausible
        'node_hwmon_temp_celsius{chip="platform_broken_0",sensor="temp5"}',
        # temp6_fault=1: the value of a faulted sensor is garbage
        'node_hwmon_temp_celsius{chip="platform_broken_0",sensor="temp6"}',
        # temp7_enable=0: a disabled channel has no reading
        'node_hwmon_temp_celsius{chip="platform_broken_0",sensor="temp7"}',
        # 200 %RH: implausible
        'node_hwmon_humidity{chip="platform_broken_0",sensor="humidity1"}',
    },
    # a thermal zone's own `temp` file in the parent device's directory, not a hwmon attribute
    "acpitz": {'node_hwmon_temp_celsius{chip="thermal_thermal_zone0",sensor="temp0"}'},
    "raspberry_pi": {'node_hwmon_temp_celsius{chip="thermal_thermal_zone0",sensor="temp0"}'},
    # chip-wide settings, not readings of a channel
    "nct6798": {'node_hwmon_beep_enabled{chip="platform_nct6775_656",sensor="beep_enable0"}'},
    "nct6779": {'node_hwmon_beep_enabled{chip="platform_nct6775_2592",sensor="beep_enable0"}'},
    "sht3x": {'node_hwmon_update_interval_seconds{chip="i2c_1_1_0044",sensor="update_interval0"}'},
    "ina219": {'node_hwmon_update_interval_seconds{chip="i2c_1_1_0040",sensor="update_interval0"}'},
}
ONLY_OURS: dict[str, set[str]] = {}

# node_exporter 1.12's `chip` labels (PR #3646) for trees whose hwmon devices share a parent device,
# by hwmon directory, written by hand from its rule: the shared device-derived label, suffixed with
# "_" + the cleaned `name` file where the names differ, else with "_" + the hwmonN directory.
CHIP_LABELS_1_12 = {
    # two mlx5 devices on one NIC: the same name
    "several_on_one_parent": {"hwmon0": "0000:00:1c_0_0000:05:00_0_hwmon0",
                              "hwmon1": "0000:00:1c_0_0000:05:00_0_hwmon1"},
    "asus_nb_wmi": {"hwmon0": "platform_asus_nb_wmi_asus", "hwmon1": "platform_asus_nb_wmi_asus_wmi_sensors"},
    "wifi_phy": {"hwmon0": "ieee80211_phy0_mt7996_phy0_0", "hwmon1": "ieee80211_phy0_mt7996_phy0_1",
                 "hwmon2": "ieee80211_phy0_mt7996_phy0_2"},
    # three mlxsw devices on one switch ASIC: the same name
    "same_names_on_one_parent": {"hwmon0": "0000:00:01_0_0000:03:00_0_hwmon0",
                                 "hwmon1": "0000:00:01_0_0000:03:00_0_hwmon1",
                                 "hwmon2": "0000:00:01_0_0000:03:00_0_hwmon2"},
}
LABELS_NOTE = ("# chip labels follow node_exporter 1.12 (PR #3646), applied by hand (test_metrics.py, "
               "CHIP_LABELS_1_12), not recorded: 1.9 gives these hwmon devices one label; values recorded "
               "by 1.9 one hwmon device at a time")


def series(text: str, prefix: str = "node_hwmon_") -> dict[str, float]:
    """Parse an exposition into {'name{label="value",...}': value} for names starting with prefix."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith(prefix):
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                key = f"{sample.name}{{{labels}}}"
                assert key not in found, f"duplicate series {key}"
                found[key] = sample.value
    return found


def types(text: str, prefix: str = "node_hwmon_") -> dict[str, str]:
    """Return {sample name: metric type} for names starting with prefix."""
    return {sample.name: family.type for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name.startswith(prefix)}


def make_app(tmp_path, sysfs_root: Path | None = None):
    # A read deadline no busy machine reaches: these tests compare values, not deadlines.
    return create_app({"run_dir": tmp_path / "run", "sysfs_root": sysfs_root or tmp_path / "sys",
                       "ring_seconds": 60, "read_timeout": 60.0})


def scrape(app) -> str:
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return response.get_data(as_text=True)


# --- node_exporter's series, value for value -------------------------------------------------


def node_exporter_text(binary: str, sysfs_root: Path) -> str:
    """Run node_exporter's hwmon collector alone over a tree and return its hwmon series."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([binary, "--collector.disable-defaults", "--collector.hwmon",
                                f"--path.sysfs={sysfs_root}", f"--web.listen-address=127.0.0.1:{port}",
                                "--web.disable-exporter-metrics"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answer() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                return response.read().decode()

        text = eventually(answer, "node_exporter to answer")
    finally:
        process.terminate()
        process.wait(5)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    lines = [line for line in text.splitlines() if "node_hwmon_" in line]
    return f"# {version}\n" + "\n".join(lines) + "\n"


def node_exporter_text_per_device(binary: str, sysfs_root: Path, labels: dict[str, str]) -> str:
    """Run node_exporter over each hwmon device of a tree alone, relabel its chip, merge the series."""
    class_dir = sysfs_root / "class" / "hwmon"
    hidden = sysfs_root / "hidden-hwmon"
    hidden.mkdir()
    families: dict[str, tuple[list[str], set[str]]] = {}
    version = ""
    for hwmon, label in labels.items():
        others = [entry for entry in os.listdir(class_dir) if entry != hwmon]
        for entry in others:
            os.rename(class_dir / entry, hidden / entry)
        try:
            text = node_exporter_text(binary, sysfs_root)
        finally:
            for entry in others:
                os.rename(hidden / entry, class_dir / entry)
        version, *lines = text.splitlines()
        for line in lines:
            if line.startswith("# "):
                name = line.split()[2]
                heads = families.setdefault(name, ([], set()))[0]
                if line not in heads:
                    heads.append(line)
            else:
                name = line.split("{")[0]
                families.setdefault(name, ([], set()))[1].add(re.sub(r'chip="[^"]*"', f'chip="{label}"', line))
    hidden.rmdir()
    out = [version, LABELS_NOTE]
    for name in sorted(families):
        heads, samples = families[name]
        out += heads + sorted(samples)
    return "\n".join(out) + "\n"


def node_exporter_golden(fixture: str, sysfs_root: Path) -> str:
    path = GOLDEN / f"node_exporter-{fixture}.prom"
    binary = os.environ.get("FROST_NODE_EXPORTER")
    if binary and fixture in CHIP_LABELS_1_12:
        path.write_text(node_exporter_text_per_device(binary, sysfs_root, CHIP_LABELS_1_12[fixture]))
    elif binary:
        path.write_text(node_exporter_text(binary, sysfs_root))
    assert path.exists(), f"{path} missing: record it with FROST_NODE_EXPORTER (see this module's docstring)"
    return path.read_text()


@pytest.mark.parametrize("fixture", sorted(chips.FIXTURES))
def test_hwmon_series_are_node_exporters(tmp_path, fixture):
    tree = FakeSysfs(tmp_path / "sys")
    chips.FIXTURES[fixture](tree)
    expected_text = node_exporter_golden(fixture, tree.root)
    assert expected_text.startswith("# node_exporter, version 1.9")
    # 1.9's labels collide on these trees: the golden says its labels were applied by hand
    assert (expected_text.splitlines()[1] == LABELS_NOTE) == (fixture in CHIP_LABELS_1_12)
    app = make_app(tmp_path)
    sampler = build_sampler(context(app).settings)
    try:
        sampler.sample_once()
        ours_text = scrape(app)
    finally:
        sampler.close()
    expected, ours = series(expected_text), series(ours_text)
    assert expected, "an empty golden file proves nothing"
    left_out, only_ours = LEFT_OUT.get(fixture, set()), ONLY_OURS.get(fixture, set())
    assert set(expected) - set(ours) == left_out
    assert set(ours) - set(expected) == only_ours
    assert {key: ours[key] for key in set(ours) & set(expected)} == {
        key: expected[key] for key in set(ours) & set(expected)}
    expected_types, our_types = types(expected_text), types(ours_text)
    assert {name: our_types[name] for name in expected_types if name in our_types} == {
        name: kind for name, kind in expected_types.items() if name in our_types}


def test_node_exporter_quirks_are_kept():
    # *_crit_alarm and *_enable get a unit and are scaled like the value; *_alarm and *_fault are not.
    assert node_exporter.hwmon_series("temp", "crit_alarm", 1, False, None)[::3] == ("node_hwmon_temp_crit_alarm_celsius", 0.001)
    assert node_exporter.hwmon_series("temp", "alarm", 1, False, None)[::3] == ("node_hwmon_temp_alarm", 1)
    assert node_exporter.hwmon_series("in", "lcrit_alarm", 1, False, None)[::3] == ("node_hwmon_in_lcrit_alarm_volts", 0.001)
    # humidity: milli-percent / 1e6
    assert node_exporter.hwmon_series("humidity", "input", 45200, False, None)[::3] == ("node_hwmon_humidity", 0.0452)
    # energy is a counter in joules; a labelled clock is renamed after its label
    assert node_exporter.hwmon_series("energy", "input", 2_500_000, False, None)[:4] == (
        "node_hwmon_energy_joule_total", "Hardware monitor for joules used so far (input)", "counter", 2.5)
    assert node_exporter.hwmon_series("freq", "input", 5e8, False, "SCLK")[::3] + (None,) == (
        "node_hwmon_freq_freq_mhz", 500.0, None)
    assert node_exporter.hwmon_series("freq", "input", 5e8, False, "SCLK")[4] == "sclk"
    assert node_exporter.hwmon_series("freq", "input", 5e8, False, None) is None
    # pwmN is the value; a pwmN_input next to it would be node_hwmon_pwm_input
    assert node_exporter.hwmon_series("pwm", "", 128, True, None)[0] == "node_hwmon_pwm"
    assert node_exporter.hwmon_series("pwm", "input", 128, True, None)[0] == "node_hwmon_pwm_input"


def test_a_scrape_reads_no_sysfs(tmp_path):
    chips.build_zoo(tmp_path / "sys", ("coretemp", "broken"))
    app = make_app(tmp_path)
    sampler = build_sampler(context(app).settings)
    try:
        sampler.sample_once()
        before = series(scrape(app))
        shutil.rmtree(tmp_path / "sys")  # whatever /metrics shows now comes from the sample
        context(app).metrics._sample_part = (None, b"")  # and not from the cached text either
        after = series(scrape(app))
    finally:
        sampler.close()
    assert after == before
    assert after['node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp1"}'] == 45.0


# --- frost_* ----------------------------------------------------------------------------------


GREENHOUSE = Sensor(id="greenhouse/soil", chip="greenhouse", chip_name="greenhouse", channel="soil",
                    kind="temperature", label="Soil", unit="°C", source="config")
OUTSIDE = Sensor(id="greenhouse/outside", chip="greenhouse", chip_name="greenhouse", channel="outside",
                 kind="temperature", label="Outside", unit="°C", source="config")


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def config_sampler(app):
    settings = context(app).settings
    source = ListSource([(GREENHOUSE, Reading(-1.5)), (OUTSIDE, Reading(None, ERROR, "EIO"))])
    store = StoreWriter.open(settings.run_dir, capacity=61, columns=16, interval=1.0)
    sampler = Sampler({"config": source}, store)
    yield sampler
    sampler.close()


def test_before_the_first_sample_only_build_info_workers_and_alert_rules(app):
    found = series(scrape(app), "frost_")
    rules = ["frost", "sampling_stopped", "sensor_fault", "temperature_crit", "temperature_max"]  # on by default
    assert found == {f'frost_build_info{{version="{__version__}"}}': 1.0,
                     f'frost_stream_clients{{worker="{os.getpid()}"}}': 0.0,
                     "frost_threshold_celsius{}": 0.0,
                     **{f'frost_alerts_firing{{rule="{rule}"}}': 0.0 for rule in rules},
                     **{f'frost_notifications_total{{result="{result}"}}': 0.0
                        for result in ("sent", "failed", "dropped")}}


def duration_bound(found: dict[str, float], name: str) -> float:
    """The most a histogram's sum can be: each observation counted at its bucket's upper bound."""
    bounds = sorted((float(key.split('le="')[1].split('"')[0]), value)
                    for key, value in found.items() if key.startswith(f"{name}_bucket{{"))
    most, below = 0.0, 0.0
    for bound, cumulative in bounds:
        if cumulative > below:  # inf only when one fell past the last finite bound
            most += (cumulative - below) * bound
        below = cumulative
    return most


def test_config_sensors_statuses_and_sampler_counters(app, config_sampler):
    config_sampler.sample_once()
    config_sampler.sample_once()
    found = series(scrape(app), "frost_")
    assert found['frost_sensor_value{chip="greenhouse",kind="temperature",label="Soil",place="",sensor="greenhouse/soil",unit="°C"}'] == -1.5
    assert not any(key.startswith("frost_sensor_value") and "outside" in key for key in found)
    assert found['frost_sensor_status{chip="greenhouse",sensor="greenhouse/outside",source="config",status="error"}'] == 1
    assert found['frost_sensor_status{chip="greenhouse",sensor="greenhouse/soil",source="config",status="ok"}'] == 1
    assert found['frost_sensors{source="config"}'] == 2
    assert found["frost_samples_total{}"] == 2
    assert found["frost_sample_duration_seconds_count{}"] == 2
    assert found['frost_sample_duration_seconds_bucket{le="+Inf"}'] == 2
    # However long the two samples took on this machine, the sum agrees with the buckets they fell in.
    total = found["frost_sample_duration_seconds_sum{}"]
    assert total > 0
    assert total <= duration_bound(found, "frost_sample_duration_seconds"), found
    assert found['frost_sensor_read_errors_total{chip="greenhouse"}'] == 2
    assert found["frost_last_sample_timestamp_seconds{}"] == pytest.approx(time.time(), abs=60)
    assert not any(key.startswith("node_hwmon_") for key in series(scrape(app), ""))


def test_hwmon_counters_come_from_the_sampler_process(tmp_path):
    chips.build_zoo(tmp_path / "sys", ("broken",))
    app = make_app(tmp_path)
    sampler = build_sampler(context(app).settings)
    try:
        sampler.sample_once()
        found = series(scrape(app), "frost_")
    finally:
        sampler.close()
    # temp1-5 and humidity1 of the broken chip fail to read or are implausible
    assert found['frost_sensor_read_errors_total{chip="broken-isa-0000"}'] == 6
    assert found["frost_hwmon_attribute_reads_total{}"] > 0
    assert found["frost_hwmon_read_timeouts_total{}"] == 0
    assert found["frost_hwmon_stuck_reads{}"] == 0


def test_the_rendered_text_is_cached_per_sample(app, config_sampler, monkeypatch):
    renders = []
    real = exposition.hwmon_metrics
    monkeypatch.setattr(exposition, "hwmon_metrics", lambda *args: renders.append(1) or real(*args))
    config_sampler.sample_once()
    first = scrape(app)
    assert scrape(app) == first and len(renders) == 1
    config_sampler.sample_once()
    assert series(scrape(app), "frost_samples")["frost_samples_total{}"] == 2 and len(renders) == 2


def test_counters_are_published_with_each_sample(app, config_sampler):
    reader = StoreReader(context(app).settings.run_dir)
    assert reader.counters.current() is None
    seq = config_sampler.sample_once()
    counters = reader.counters.current()
    assert (counters.seq, counters.samples, counters.pid) == (seq, 1, os.getpid())
    assert counters == config_sampler.published_counters(seq)  # what the sampler wrote, decoded
    seq = config_sampler.sample_once()
    assert (reader.counters.current().seq, reader.counters.current().samples) == (seq, 2)


def test_stream_clients_of_every_live_worker(app, tmp_path):
    run_dir = context(app).settings.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run_dir / WORKERS_DIR).mkdir()
    for pid, streams in ((dead.pid, 7), (os.getppid(), 2)):  # a dead worker, and another live process
        write_atomically(run_dir / WORKERS_DIR / f"{pid}.json", encode(WorkerCounters(pid, streams)))
    context(app).sample_events.streams = 3  # this worker's count is taken live
    found = series(scrape(app), "frost_stream_clients")
    assert found == {f'frost_stream_clients{{worker="{os.getppid()}"}}': 2,
                     f'frost_stream_clients{{worker="{os.getpid()}"}}': 3}
    assert set(read_worker_counters(run_dir)) == {os.getppid(), os.getpid()}  # the dead one's file is gone


def test_a_worker_publishes_its_streams_when_they_change(app):
    run_dir = context(app).settings.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    publisher = context(app).metrics.publisher
    publisher.every = 0.01
    app.test_client().get("/healthz")  # any request starts the publisher
    assert read_worker_counters(run_dir)[os.getpid()] == WorkerCounters(os.getpid(), streams=0)
    context(app).sample_events.streams = 4
    eventually(lambda: read_worker_counters(run_dir)[os.getpid()].streams == 4, "the new stream count published")


def test_the_sampler_publishes_what_metrics_need_beside_a_lean_api(tmp_path):
    chips.build_zoo(tmp_path / "sys", ("coretemp",))
    app = make_app(tmp_path)
    sampler = build_sampler(context(app).settings)
    try:
        sampler.sample_once()
        document = app.test_client().get("/api/v1/sensors/coretemp-isa-0000/temp1").get_json()
        pairs = {s.id: (s, r) for s, r in context(app).store.latest_sample().pairs}
    finally:
        sampler.close()
    sensor, reading = pairs["coretemp-isa-0000/temp1"]
    assert sensor.sysfs == SysfsChannel("platform_coretemp_0", "coretemp", "temp1", "Package id 0")
    assert sensor.sysfs.attributes == {"crit": 100000, "max": 80000}
    assert reading.raw == (("input", 45000), ("crit_alarm", 0))
    assert (document["value"], document["status"]) == (45.0, OK)
    assert "sysfs" not in document and "raw" not in document  # plumbing stays out of the API


# --- channels with settings but no reading ------------------------------------------------------


def sample_and_scrape(tmp_path, *fixtures: str) -> dict[str, float]:
    chips.build_zoo(tmp_path / "sys", fixtures)
    app = make_app(tmp_path)
    sampler = build_sampler(context(app).settings)
    try:
        sampler.sample_once()
        return series(scrape(app))
    finally:
        sampler.close()


def test_a_chip_with_nothing_but_settings_is_named_and_its_settings_exported(tmp_path):
    found = sample_and_scrape(tmp_path, "asus_nb_wmi")
    assert found['node_hwmon_chip_names{chip="platform_asus_nb_wmi_asus",chip_name="asus"}'] == 1
    assert found['node_hwmon_pwm_enable{chip="platform_asus_nb_wmi_asus",sensor="pwm1"}'] == 2
    assert [key for key in found if 'chip="platform_asus_nb_wmi_asus"' in key] == [
        'node_hwmon_chip_names{chip="platform_asus_nb_wmi_asus",chip_name="asus"}',
        'node_hwmon_pwm_enable{chip="platform_asus_nb_wmi_asus",sensor="pwm1"}']


def test_settings_only_channels_are_exported_beside_a_channel_with_a_value(tmp_path):
    found = sample_and_scrape(tmp_path, "nct6779")
    pwm1 = {key: v for key, v in found.items() if key.endswith('sensor="pwm1"}')}
    assert len(pwm1) == 29
    assert pwm1['node_hwmon_pwm_auto_point5_temp{chip="platform_nct6775_2592",sensor="pwm1"}'] == 100000
    assert 'node_hwmon_pwm{chip="platform_nct6775_2592",sensor="pwm1"}' not in found  # no value, none made up
    assert found['node_hwmon_pwm{chip="platform_nct6775_2592",sensor="pwm2"}'] == 153


def test_settings_are_rendered_from_the_store_chips():
    from frostserver.model import Chip, ChipSetting

    chip = Chip("asus-isa-0000", "asus", "ISA adapter", "platform_asus_nb_wmi_asus", "asus",
                (ChipSetting("pwm1", "pwm1", "CPU fan mode", {"enable": 2}),))
    text = "".join(m.name + str(m.samples) for m in node_exporter.hwmon_metrics([], [chip]))
    assert "node_hwmon_pwm_enable" in text and "CPU fan mode" in text and "chip_names" in text
