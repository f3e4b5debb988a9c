"""Unit tests of the hwmon reader over fake sysfs trees (real files and links, never a mocked open).

Golden outputs live in tests/unit/golden/<fixture>.json; regenerate with FROST_UPDATE_GOLDEN=1.
Errnos a file cannot produce (EIO, EAGAIN, ...) are injected through HwmonReader(read_attribute=...).
"""
from __future__ import annotations

import errno
import json
import logging
import os
import stat
import threading
import time
from pathlib import Path

import pytest
from waiting import PATIENCE, eventually

import chips
from fakesysfs import FakeSysfs, build_synthetic_tree
from frostserver.hwmon import HwmonReader, attributes, read_attribute, report
from frostserver.model import ALARM, DISABLED, ERROR, FAULT, OK, UNITS, Reading

GOLDEN = Path(__file__).parent / "golden"
# A read deadline for tests where nothing blocks: the app's 0.5 s is meant for real hardware,
# and a busy 2-core machine may take longer than that to read a whole fake tree. Only the
# deadline tests below set a short one, on purpose.
UNHURRIED = 60.0


def sample_tree(root, **options):
    """Sample a tree once with a fresh reader and return {sensor id: (Sensor, Reading)}."""
    with HwmonReader(root, **{"read_timeout": UNHURRIED, **options}) as reader:
        return {sensor.id: (sensor, reading) for sensor, reading in reader.sample()}


def as_json(samples) -> list[dict]:
    """Flatten samples into plain data for golden files."""
    return [
        {"id": s.id, "chip": s.chip, "chip_name": s.chip_name, "channel": s.channel, "kind": s.kind,
         "label": s.label, "unit": s.unit, "thresholds": s.thresholds, "sensor_type": s.sensor_type,
         "value": r.value, "status": r.status, "error": r.error, "alarms": list(r.alarms)}
        for s, r in samples
    ]


def assert_golden(name: str, data: list[dict]) -> None:
    """Compare data with golden/<name>.json, or rewrite it when FROST_UPDATE_GOLDEN=1."""
    path = GOLDEN / f"{name}.json"
    if os.environ.get("FROST_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    assert path.exists(), f"{path} missing: run with FROST_UPDATE_GOLDEN=1 and review it"
    assert data == json.loads(path.read_text(encoding="utf-8"))


def value(samples, sensor_id):
    return samples[sensor_id][1].value


def reader_threads() -> set[threading.Thread]:
    """Return the live pool threads of every reader, to compare before and after (not to count:
    a thread of an earlier test's reader may still be on its way out)."""
    return {t for t in threading.enumerate() if t.name == "hwmon-reader" and t.is_alive()}


# --- whole trees against golden files --------------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(chips.FIXTURES))
def test_fixture_matches_golden(tmp_path, fixture):
    chips.FIXTURES[fixture](FakeSysfs(tmp_path))
    with HwmonReader(tmp_path, read_timeout=UNHURRIED) as reader:
        assert_golden(fixture, as_json(reader.sample()))


def test_zoo_ids_are_unique_and_sorted(tmp_path):
    chips.build_zoo(tmp_path)
    with HwmonReader(tmp_path, read_timeout=UNHURRIED) as reader:
        ids = [sensor.id for sensor, _ in reader.sample()]
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids))


def test_chip_ids_follow_lm_sensors(tmp_path):
    chips.build_zoo(tmp_path)
    chips.raspberry_pi(FakeSysfs(tmp_path / "pi"))
    found = {s.chip for s, _ in sample_tree(tmp_path).values()}
    found |= {s.chip for s, _ in sample_tree(tmp_path / "pi").values()}
    assert found == {
        "coretemp-isa-0000", "coretemp-isa-0001",  # platform coretemp.N: ISA, address N
        "nvme-pci-0100", "nvme-pci-0200",  # nvme0 -> 0000:01:00.0
        "acpitz-acpi-0",  # thermal_zone0 -> LNXTHERM:00 on the acpi bus
        "nct6798-isa-0290", "it87-isa-0290",  # platform nct6775.656 / it87.656: 656 = 0x290
        "it8728-isa-0a30",  # platform it87.2608: 2608 = 0xa30
        "amdgpu-pci-0900",
        "cpu_thermal-virtual-0", "rpi_volt-isa-0000",
        "w1_slave_temp-virtual-0", "w1_slave_temp-virtual-0~2",
        "sht3x-i2c-1-44", "ina219-i2c-1-40",
        "foo_sensor-isa-0000", "hwmon-virtual-0",
        "mlx5-pci-0500", "mlx5-pci-0500~2",
        "dell_smm-isa-0000", "broken-isa-0000",
        "nct6779-isa-0a20",  # platform nct6775.2592: 2592 = 0xa20
        "asus_wmi_sensors-isa-0000",  # asus-nb-wmi: no instance number; its "asus" chip has no sensor
        "mt7996_phy0.0-pci-0100", "mt7996_phy0.1-pci-0100", "mt7996_phy0.2-pci-0100",  # phy0 -> 0000:01:00.0
        "mlxsw-pci-0300", "mlxsw-pci-0300~2", "mlxsw-pci-0300~3",
    }


# --- values as `sensors` shows them (see the comments in tests/chips.py) -----------------------


def test_coretemp_values_and_thresholds(tmp_path):
    chips.coretemp_dual_socket(FakeSysfs(tmp_path))
    samples = sample_tree(tmp_path)
    # sensors: "Package id 0:  +45.0°C  (high = +80.0°C, crit = +100.0°C)"
    sensor, reading = samples["coretemp-isa-0000/temp1"]
    assert (sensor.label, reading.value, reading.status) == ("Package id 0", 45.0, OK)
    assert sensor.thresholds == {"max": 80.0, "crit": 100.0}
    assert (sensor.kind, sensor.unit, sensor.chip_name) == ("temperature", "°C", "coretemp")
    # "Package id 1: +51.0°C" on the second socket; "Core 0" exists on both sockets.
    assert samples["coretemp-isa-0001/temp1"][0].label == "Package id 1"
    assert value(samples, "coretemp-isa-0001/temp2") == 48.0
    assert samples["coretemp-isa-0000/temp2"][0].label == samples["coretemp-isa-0001/temp2"][0].label == "Core 0"


def test_nvme_composite_and_no_limit_threshold(tmp_path):
    chips.nvme_two_drives(FakeSysfs(tmp_path))
    samples = sample_tree(tmp_path)
    # sensors: "Composite: +38.9°C (low = -273.1°C, high = +84.8°C) (crit = +84.8°C)"
    sensor, reading = samples["nvme-pci-0100/temp1"]
    assert (sensor.label, reading.value) == ("Composite", 38.85)
    assert sensor.thresholds == {"min": -273.15, "max": 84.85, "crit": 84.85}
    # "Sensor 1: ... high = +65261.8°C": limits are shown as the drive reports them.
    assert samples["nvme-pci-0100/temp2"][0].thresholds["max"] == 65261.85
    assert value(samples, "nvme-pci-0200/temp1") == 41.85


def test_amdgpu_power_average_clocks_and_labels(tmp_path):
    chips.amdgpu(FakeSysfs(tmp_path))
    samples = sample_tree(tmp_path)
    # sensors: "PPT: 25.00 W (cap = 150.00 W)" -- power1_average only, no power1_input.
    sensor, reading = samples["amdgpu-pci-0900/power1"]
    assert (sensor.label, sensor.kind, reading.value) == ("PPT", "power", 25.0)
    assert sensor.thresholds == {"cap": 150.0, "cap_min": 0.0, "cap_max": 150.0}
    # "edge: +45.0°C (crit = +100.0°C, hyst = -273.1°C)"
    edge = samples["amdgpu-pci-0900/temp1"]
    assert (edge[0].label, edge[1].value) == ("edge", 45.0)
    assert edge[0].thresholds == {"crit": 100.0, "crit_hyst": -273.15, "emergency": 105.0}
    assert [samples[f"amdgpu-pci-0900/temp{i}"][0].label for i in (2, 3)] == ["junction", "mem"]
    sclk = samples["amdgpu-pci-0900/freq1"]
    assert (sclk[0].label, sclk[0].kind, sclk[0].unit, sclk[1].value) == ("sclk", "frequency", "Hz", 5e8)
    # "vddgfx: 850.00 mV"
    assert value(samples, "amdgpu-pci-0900/in0") == 0.85
    # pwm1 0 of 255: 0 %; "fan1: 0 RPM (min = 0 RPM, max = 3300 RPM)"
    assert value(samples, "amdgpu-pci-0900/pwm1") == 0.0
    assert samples["amdgpu-pci-0900/fan1"][0].thresholds == {"min": 0.0, "max": 3300.0, "target": 0.0}


def test_super_io_voltages_fans_pwm_alarms_and_intrusion(tmp_path):
    chips.nct6798(FakeSysfs(tmp_path))
    samples = sample_tree(tmp_path)
    chip = "nct6798-isa-0290"
    # sensors: "in0: 1.04 V (min = +0.00 V, max = +1.74 V)"
    in0 = samples[f"{chip}/in0"]
    assert (in0[0].kind, in0[0].unit, in0[1].value, in0[1].status) == ("voltage", "V", 1.04, OK)
    assert in0[0].thresholds == {"min": 0.0, "max": 1.744}
    # "in1: 1.01 V ... ALARM"
    assert samples[f"{chip}/in1"][1].status == ALARM
    assert samples[f"{chip}/in1"][1].alarms == ("alarm",)
    assert samples[f"{chip}/in1"][1].value == 1.008
    # "fan1: 1251 RPM (min = 0 RPM)"
    assert value(samples, f"{chip}/fan1") == 1251.0
    # "SYSTIN: +33.0°C (high = +80.0°C, hyst = +75.0°C) sensor = thermistor"
    systin = samples[f"{chip}/temp1"][0]
    assert (systin.label, systin.sensor_type, systin.thresholds) == (
        "SYSTIN", "thermistor", {"max": 80.0, "max_hyst": 75.0})
    assert samples[f"{chip}/temp2"][0].sensor_type == "thermal diode"
    # pwm 128/255; pwm2_enable=0 means "full speed", not a disabled channel.
    assert value(samples, f"{chip}/pwm1") == pytest.approx(50.196, abs=1e-3)
    assert samples[f"{chip}/pwm2"][1] == Reading(100.0, OK)
    # "intrusion0: ALARM", "intrusion1: OK"
    assert samples[f"{chip}/intrusion0"][1] == Reading(1.0, ALARM, None, ("alarm",))
    assert samples[f"{chip}/intrusion1"][1] == Reading(0.0, OK)
    # "cpu0_vid: +1.100 V"
    assert samples[f"{chip}/cpu0_vid"][0].label == "cpu0_vid"
    assert value(samples, f"{chip}/cpu0_vid") == 1.1
    # Beep flags, offsets and auto points are not channels.
    assert not [i for i in samples if "beep" in i or "auto" in i]


def test_raspberry_pi_thermal_and_undervoltage_alarm(tmp_path):
    tree = FakeSysfs(tmp_path)
    thermal, volt = chips.raspberry_pi(tree)
    samples = sample_tree(tmp_path)
    # sensors: "cpu_thermal-virtual-0 / temp1: +44.8°C", "rpi_volt-isa-0000 / in0: N/A"
    assert value(samples, "cpu_thermal-virtual-0/temp1") == 44.79
    assert samples["rpi_volt-isa-0000/in0"][1] == Reading(None, OK)
    volt.write("in0_lcrit_alarm", 1)  # the firmware saw an undervoltage
    assert sample_tree(tmp_path)["rpi_volt-isa-0000/in0"][1] == Reading(None, ALARM, None, ("lcrit",))


def test_i2c_humidity_current_and_power_units(tmp_path):
    tree = FakeSysfs(tmp_path)
    chips.sht3x(tree)
    chips.ina219(tree)
    samples = sample_tree(tmp_path)
    # sensors: "humidity1: 45.2 %RH (min = 20.0 %RH, max = 80.0 %RH)"
    humidity = samples["sht3x-i2c-1-44/humidity1"]
    assert (humidity[0].kind, humidity[0].unit, humidity[1].value) == ("humidity", "%RH", 45.2)
    assert humidity[0].thresholds["max_hyst"] == 79.5
    assert value(samples, "sht3x-i2c-1-44/temp1") == 23.5
    # sensors: "in0: 24.00 mV", "in1: 5.04 V", "power1: 1.21 W", "curr1: 240.00 mA"
    assert value(samples, "ina219-i2c-1-40/in0") == 0.024
    assert value(samples, "ina219-i2c-1-40/in1") == 5.04
    assert value(samples, "ina219-i2c-1-40/power1") == 1.21
    curr = samples["ina219-i2c-1-40/curr1"]
    assert (curr[0].kind, curr[0].unit, curr[1].value) == ("current", "A", 0.24)


def test_energy_in_joules_and_power_input_preferred_over_average(tmp_path):
    chip = FakeSysfs(tmp_path).add_chip("amd_energy", device="platform/amd_energy.0", bus="platform")
    chip.write_all({"energy1_input": 123456789, "energy1_label": "Ecore000",
                    "power1_input": 2000000, "power1_average": 9000000})
    samples = sample_tree(tmp_path)
    energy = samples["amd_energy-isa-0000/energy1"]
    assert (energy[0].kind, energy[0].unit, energy[1].value) == ("energy", "J", 123.456789)
    assert value(samples, "amd_energy-isa-0000/power1") == 2.0


def test_every_kind_has_a_unit():
    kinds = {ct.kind for ct in attributes.CHANNEL_TYPES.values()}
    assert kinds <= set(UNITS)
    assert kinds == set(UNITS) - {"other"}


# --- layouts and identities --------------------------------------------------------------------


def test_old_layout_reads_name_and_attributes_from_device(tmp_path):
    chip, = chips.it87_old_layout(FakeSysfs(tmp_path))
    assert not (chip.hwmon_dir / "name").exists()
    samples = sample_tree(tmp_path)
    # sensors: "it87-isa-0290 / in0: 1.10 V / fan1: 2008 RPM / temp1: +37.0°C sensor = thermistor"
    assert value(samples, "it87-isa-0290/in0") == 1.104
    assert value(samples, "it87-isa-0290/fan1") == 2008.0
    assert samples["it87-isa-0290/temp1"][0].sensor_type == "thermistor"
    assert samples["it87-isa-0290/temp1"][0].chip_name == "it87"


def test_chip_without_name_is_reported_under_a_derived_name(tmp_path):
    chips.no_name(FakeSysfs(tmp_path))
    samples = sample_tree(tmp_path)
    # lm-sensors ignores both; we name them after the driver, or "hwmon" without a device.
    assert value(samples, "foo_sensor-isa-0000/temp1") == 41.0
    assert samples["foo_sensor-isa-0000/temp1"][0].chip_name == "foo_sensor"
    assert value(samples, "hwmon-virtual-0/temp1") == 36.0


def test_ids_survive_hwmon_renumbering(tmp_path):
    def build(root, numbers):
        tree = FakeSysfs(root)
        for socket, number in enumerate(numbers):
            chip = tree.add_chip("coretemp", device=f"platform/coretemp.{socket}", bus="platform",
                                 hwmon=number)
            chip.write("temp1_input", 40000 + socket * 1000)
        chips.ds18b20(tree)
        return {sid: r.value for sid, (s, r) in sample_tree(root).items()}

    assert build(tmp_path / "boot1", (0, 1)) == build(tmp_path / "boot2", (9, 4))


def test_duplicate_chip_ids_are_suffixed_in_device_path_order(tmp_path):
    # The same probes, created (hence numbered hwmonN) in opposite orders.
    forward = tmp_path / "forward"
    chips.ds18b20(FakeSysfs(forward), ("28-000005e2fdc3", "28-0316a2794aff"))
    backward = tmp_path / "backward"
    chips.ds18b20(FakeSysfs(backward), ("28-0316a2794aff", "28-000005e2fdc3"))
    for root in (forward, backward):
        samples = sample_tree(root)
        # 28-000005e2fdc3 sorts first by device path: it keeps the lm-sensors id.
        first = 23.125 if root == forward else 21.5
        second = 21.5 if root == forward else 23.125
        assert value(samples, "w1_slave_temp-virtual-0/temp1") == first
        assert value(samples, "w1_slave_temp-virtual-0~2/temp1") == second


def test_several_hwmon_devices_on_one_parent_are_ordered_without_hwmon_numbers(tmp_path):
    for name, numbers in (("a", (3, 8)), ("b", (8, 3))):
        chips.several_on_one_parent(FakeSysfs(tmp_path / name), hwmon=numbers)
        samples = sample_tree(tmp_path / name)
        assert samples["mlx5-pci-0500/temp1"][0].label == "asic"
        assert samples["mlx5-pci-0500~2/temp1"][0].label == "module0"
        assert samples["mlx5-pci-0500~2/temp2"][0].label == "module1"


def test_repeated_labels_keep_distinct_ids(tmp_path):
    chips.duplicate_labels(FakeSysfs(tmp_path))
    samples = sample_tree(tmp_path)
    # sensors: "Other: +40.0°C", "Other: +41.0°C"
    assert samples["dell_smm-isa-0000/temp3"][0].label == samples["dell_smm-isa-0000/temp4"][0].label == "Other"
    assert (value(samples, "dell_smm-isa-0000/temp3"), value(samples, "dell_smm-isa-0000/temp4")) == (40.0, 41.0)
    assert samples["dell_smm-isa-0000/fan1"][0].label == "Processor Fan"


def test_missing_hwmon_class_gives_no_sensors(tmp_path):
    assert sample_tree(tmp_path / "nothing-here") == {}


def test_dangling_class_link_is_skipped(tmp_path):
    tree = FakeSysfs(tmp_path)
    chips.acpitz(tree)
    (tree.hwmon_class / "hwmon9").symlink_to("../../devices/gone/hwmon9")
    assert list(sample_tree(tmp_path)) == ["acpitz-acpi-0/temp1"]


# --- misbehaving sensors -----------------------------------------------------------------------


def test_broken_attributes_spoil_only_their_own_reading(tmp_path):
    chips.broken(FakeSysfs(tmp_path))
    samples = sample_tree(tmp_path)
    readings = {sid.split("/")[1]: r for sid, (s, r) in samples.items()}
    assert readings["temp1"] == Reading(None, ERROR, "EISDIR")  # a directory
    assert readings["temp2"] == Reading(None, ERROR, "ENOENT")  # a dangling link
    assert readings["temp3"] == Reading(None, ERROR, "empty")
    assert readings["temp4"] == Reading(None, ERROR, "not a number")
    assert readings["temp5"] == Reading(None, ERROR, "implausible: 127998.0 °C")
    assert readings["temp6"] == Reading(None, FAULT)
    assert readings["temp7"] == Reading(None, DISABLED)
    assert readings["temp8"] == Reading(31.0, ALARM, None, ("max",))
    assert readings["temp10"] == Reading(41.0, OK)
    assert readings["humidity1"] == Reading(None, ERROR, "implausible: 200.0 %RH")
    assert readings["in0"] == Reading(-5.0, OK)
    assert readings["fan1"] == Reading(1000.0, OK)  # unreadable alarm flag: ignored
    # A broken label falls back to the channel name; a garbage limit is left out.
    assert samples["broken-isa-0000/temp9"][0].label == "temp9"
    assert samples["broken-isa-0000/temp10"][0].thresholds == {"crit": 90.0}


@pytest.mark.parametrize("code", ["EAGAIN", "EIO", "ENODATA", "EINVAL", "ENXIO", "ETIMEDOUT"])
def test_driver_errnos_become_error_readings_after_one_read(tmp_path, code):
    chips.coretemp_dual_socket(FakeSysfs(tmp_path))
    calls: dict[str, int] = {}

    def failing_read(path):
        calls[path] = calls.get(path, 0) + 1
        if path.endswith("coretemp.0/hwmon/hwmon0/temp2_input"):
            raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)))
        return read_attribute(path)

    with HwmonReader(tmp_path, read_timeout=UNHURRIED, read_attribute=failing_read) as reader:
        samples = {s.id: r for s, r in reader.sample()}
        reader.sample()
    assert samples["coretemp-isa-0000/temp2"] == Reading(None, ERROR, code)
    assert samples["coretemp-isa-0000/temp1"] == Reading(45.0, OK)
    assert samples["coretemp-isa-0001/temp2"] == Reading(48.0, OK)
    # One raw read per attribute and sample, never a retry loop (node_exporter PR #728).
    failing = [p for p in calls if p.endswith("coretemp.0/hwmon/hwmon0/temp2_input")]
    assert [calls[p] for p in failing] == [2]
    assert reader.stats.errors_by_chip == {"coretemp-isa-0000": 2}


def test_a_reader_raising_anything_never_breaks_the_sample(tmp_path):
    chips.acpitz(FakeSysfs(tmp_path))

    def odd_read(path):
        if path.endswith("temp1_input"):
            raise RuntimeError("driver bug")
        return read_attribute(path)

    samples = sample_tree(tmp_path, read_attribute=odd_read)
    assert samples["acpitz-acpi-0/temp1"][1] == Reading(None, ERROR, "RuntimeError")


@pytest.mark.parametrize("attribute, raw, shown", [
    ("temp1_input", -274000, "implausible: -274.0 °C"),
    ("temp1_input", 1001000, "implausible: 1001.0 °C"),
    ("in1_input", 2500000, "implausible: 2500.0 V"),
    ("fan1_input", -1, "implausible: -1.0 RPM"),
    ("humidity1_input", -20000, "implausible: -20.0 %RH"),
    ("pwm1", 300, "implausible: 117.6470588235294 %"),
    ("energy1_input", -5, "implausible: -5e-06 J"),
    ("intrusion0_alarm", 2, "implausible: 2.0"),
])
def test_physically_impossible_values_are_errors(tmp_path, attribute, raw, shown):
    FakeSysfs(tmp_path).add_chip("odd", device="platform/odd.0", bus="platform").write(attribute, raw)
    (_, reading), = sample_tree(tmp_path).values()
    assert reading == Reading(None, ERROR, shown)


@pytest.mark.parametrize("text, expected", [
    ("45000\n", 45000), ("-5000\n", -5000), ("1.5e3\n", 1500.0), (" 7 \n", 7),
])
def test_parse_number_accepts_sysfs_numbers(text, expected):
    assert attributes.parse_number(text) == expected


@pytest.mark.parametrize("text, reason", [
    ("", "empty"), ("\n", "empty"), ("N/A\n", "not a number"), ("1_000\n", "not a number"),
    ("nan\n", "not a number"), ("inf\n", "not a number"), ("0x10\n", "not a number"),
])
def test_parse_number_rejects_garbage(text, reason):
    with pytest.raises(ValueError, match=reason):
        attributes.parse_number(text)


# --- chips coming and going; metadata refresh --------------------------------------------------


def test_chips_appearing_and_vanishing_between_samples(tmp_path):
    tree = FakeSysfs(tmp_path)
    chips.acpitz(tree)
    with HwmonReader(tmp_path, read_timeout=UNHURRIED) as reader:
        assert [s.id for s, _ in reader.sample()] == ["acpitz-acpi-0/temp1"]
        probe, = chips.sht3x(tree)
        assert [s.id for s, _ in reader.sample()] == [
            "acpitz-acpi-0/temp1", "sht3x-i2c-1-44/humidity1", "sht3x-i2c-1-44/temp1"]
        probe.remove()
        assert [s.id for s, _ in reader.sample()] == ["acpitz-acpi-0/temp1"]


def test_static_metadata_is_reread_only_every_metadata_period(tmp_path):
    chip, = chips.acpitz(FakeSysfs(tmp_path))
    chip.write("temp1_label", "Zone")
    now = [1000.0]
    reads: list[str] = []

    def counting_read(path):
        reads.append(os.path.basename(path))
        return read_attribute(path)

    with HwmonReader(tmp_path, read_timeout=UNHURRIED, metadata_every=60.0, clock=lambda: now[0],
                     read_attribute=counting_read) as reader:
        reader.sample()
        assert reads.count("temp1_label") == reads.count("temp1_crit") == reads.count("name") == 1
        chip.write_all({"temp1_label": "Renamed", "temp1_input": 30000})
        now[0] += 59.0
        (sensor, reading), = reader.sample()
        # Dynamic values every sample, static metadata not yet.
        assert (sensor.label, reading.value) == ("Zone", 30.0)
        assert reads.count("temp1_label") == 1 and reads.count("temp1_input") == 2
        now[0] += 1.0
        (sensor, _), = reader.sample()
        assert sensor.label == "Renamed"
        assert reads.count("temp1_label") == 2


def test_attributes_read_at_every_sample_are_kept_open_and_read_again_in_place(tmp_path):
    tree = FakeSysfs(tmp_path)
    chip, = chips.acpitz(tree)
    with HwmonReader(tmp_path, read_timeout=UNHURRIED) as reader:
        assert [r.value for _, r in reader.sample()] == [27.8]
        kept = reader._files.open_count
        assert kept == 1  # temp1_input, the one attribute this chip reads at every sample
        chip.write("temp1_input", 30500)  # sysfs changes a value in the same file
        assert [r.value for _, r in reader.sample()] == [30.5]
        assert reader._files.open_count == kept  # read again through the same file
        chip.remove()
        assert reader.sample() == []
        assert reader._files.open_count == 0  # a chip that went away leaves no file open
        again, = chips.acpitz(tree)  # the same chip at the same place, as after a driver reload
        again.write("temp1_input", 20000)
        assert [r.value for _, r in reader.sample()] == [20.0]


def test_a_prepared_sample_reads_at_its_time_and_the_sample_takes_those_reads(tmp_path):
    chip, = chips.acpitz(FakeSysfs(tmp_path))
    reads: list[str] = []

    def counting_read(path):
        reads.append(os.path.basename(path))
        return read_attribute(path)

    with HwmonReader(tmp_path, read_timeout=UNHURRIED, read_attribute=counting_read) as reader:
        reader.sample()
        reads.clear()
        reader.prepare(time.monotonic())  # due now: the pool reads at once
        eventually(lambda: "temp1_input" in reads, "the prepared reads")
        chip.write("temp1_input", 31000)  # after the prepared read: this sample must not see it
        (_, reading), = reader.sample()
        assert reading.value == 27.8 and reads == ["temp1_input"]  # read once, ahead, not again
        (_, reading), = reader.sample()  # nothing prepared: it reads now
        assert reading.value == 31.0


def test_a_prepared_sample_waits_for_its_time_and_close_cancels_it(tmp_path):
    chips.acpitz(FakeSysfs(tmp_path))
    reads: list[str] = []

    def counting_read(path):
        reads.append(path)
        return read_attribute(path)

    reader = HwmonReader(tmp_path, read_timeout=UNHURRIED, read_attribute=counting_read)
    threads_before = reader_threads()
    reader.sample()
    reads.clear()
    reader.prepare(time.monotonic() + 3600)  # an hour from now
    time.sleep(0.3)
    assert reads == []  # nothing is read before its time
    reader.close()
    assert not (reader_threads() - threads_before)  # the waiting thread went with it


def test_metadata_refreshes_are_spread_evenly_over_the_period(tmp_path):
    build_synthetic_tree(tmp_path, 16 * 10)  # ten chips
    now = [1000.0]
    reads: list[str] = []

    def counting_read(path):
        reads.append(path)
        return read_attribute(path)

    def chips_replanned() -> list[str]:
        # temp1_label is read once per plan of a chip: which chips were planned since the last call
        planned = [path.split("/hwmon/")[0] for path in reads if path.endswith("/temp1_label")]
        reads.clear()
        return planned

    with HwmonReader(tmp_path, read_timeout=UNHURRIED, metadata_every=60.0, clock=lambda: now[0],
                     read_attribute=counting_read) as reader:
        reader.sample()
        assert len(chips_replanned()) == 10  # new chips: every one planned at once
        per_second = []
        for _ in range(60):  # a sample a second for one period
            now[0] += 1.0
            reader.sample()
            per_second.append(chips_replanned())
    # One chip every 6 s (60 s / 10 chips), each once: no sample reads them all.
    assert [len(planned) for planned in per_second] == ([0] * 5 + [1]) * 10
    assert len({chip for planned in per_second for chip in planned}) == 10


# --- slow and blocking attributes --------------------------------------------------------------


def test_slow_reads_are_counted_and_logged_rate_limited(tmp_path, caplog):
    chips.acpitz(FakeSysfs(tmp_path))
    now = [0.0]

    def slow_read(path):
        if path.endswith("temp1_input"):
            now[0] += 0.2  # the clock says this read took 200 ms
        return read_attribute(path)

    logger = logging.getLogger("test.hwmon.slow")
    with caplog.at_level(logging.WARNING, logger="test.hwmon.slow"):
        with HwmonReader(tmp_path, read_timeout=UNHURRIED, clock=lambda: now[0], read_attribute=slow_read,
                         logger=logger) as reader:
            reader.sample()
            reader.sample()
    assert reader.stats.slow_reads == 2
    slow_lines = [r.getMessage() for r in caplog.records if "slow read" in r.getMessage()]
    assert len(slow_lines) == 1  # the second one within a minute is not logged
    assert "temp1_input" in slow_lines[0] and "0.200 s" in slow_lines[0]


def test_a_blocking_fifo_times_out_without_stalling_other_chips(tmp_path):
    tree = FakeSysfs(tmp_path)
    stuck = tree.add_chip("stuck", device="platform/stuck.0", bus="platform")
    stuck.write_all({"temp1_input": 20000, "temp3_input": 22000})
    stuck.break_attribute("temp2_input", "fifo")  # open() blocks until a writer shows up
    chips.coretemp_dual_socket(tree)
    # The other chips must be read within the deadline, so it is not tight for a busy machine.
    deadline = 2.0
    reader = HwmonReader(tmp_path, read_timeout=deadline, slow_read=0.02)
    try:
        started = time.monotonic()
        samples = {s.id: r for s, r in reader.sample()}
        # The sample ends at its deadline, not when the FIFO returns (it never does by itself): the
        # deadline is the behaviour, bounded as generously as any wait.
        assert time.monotonic() - started < PATIENCE
        assert samples["coretemp-isa-0000/temp1"] == Reading(45.0, OK)
        assert samples["coretemp-isa-0001/temp3"] == Reading(49.0, OK)
        assert samples["stuck-isa-0000/temp1"] == Reading(20.0, OK)  # read before the block
        assert samples["stuck-isa-0000/temp2"] == Reading(None, ERROR, "timeout")
        assert samples["stuck-isa-0000/temp3"] == Reading(None, ERROR, "timeout")
        assert reader.stats.timeouts == 1
        # Later samples skip the stuck attribute but read the rest of its chip; one spare
        # thread replaces the stuck one, and no more follow.
        reader.sample()
        threads = reader_threads()
        for _ in range(3):
            samples = {s.id: r for s, r in reader.sample()}
        assert samples["stuck-isa-0000/temp2"] == Reading(None, ERROR, "timeout")
        assert samples["stuck-isa-0000/temp3"] == Reading(22.0, OK)
        assert reader.stats.timeouts == 1
        assert not reader_threads() - threads  # no pile-up of threads stuck on the same FIFO
        # Once the stuck read returns, its result is used and the attribute is read again.
        stuck.unblock("temp2_input", "47000\n")
        read = eventually(lambda: (lambda r: r if r.status == OK else None)(
            {s.id: r for s, r in reader.sample()}["stuck-isa-0000/temp2"]), "the unblocked read used")
        assert read == Reading(47.0, OK)
    finally:
        stuck.unblock("temp2_input")
        reader.close()


def test_a_sleeping_read_is_not_reissued_until_it_returns(tmp_path):
    chips.coretemp_dual_socket(FakeSysfs(tmp_path))
    chips.acpitz(FakeSysfs(tmp_path))
    release = threading.Event()
    calls: list[str] = []

    def hanging_read(path):
        if path.endswith("thermal_zone0/hwmon2/temp1_input"):
            calls.append(path)
            release.wait(2 * PATIENCE)  # like ACPI power1_average in D state (node_exporter #1507)
        return read_attribute(path)

    # The other chips must be read within the deadline, so it is not tight for a busy machine.
    deadline = 2.0
    reader = HwmonReader(tmp_path, read_timeout=deadline, slow_read=0.02, read_attribute=hanging_read)
    try:
        for _ in range(3):
            started = time.monotonic()
            samples = {s.id: r for s, r in reader.sample()}
            # The deadline is the behaviour: bounded as generously as any wait, never the read's
            # 2 x PATIENCE.
            assert time.monotonic() - started < PATIENCE
            assert samples["acpitz-acpi-0/temp1"] == Reading(None, ERROR, "timeout")
            assert samples["coretemp-isa-0001/temp1"] == Reading(51.0, OK)
        assert len(calls) == 1
        release.set()
        read = eventually(lambda: (lambda r: r if r.status == OK else None)(
            {s.id: r for s, r in reader.sample()}["acpitz-acpi-0/temp1"]), "the returned read used")
        assert read == Reading(27.8, OK)
    finally:
        release.set()
        reader.close()


def test_close_stops_the_pool_threads(tmp_path):
    chips.acpitz(FakeSysfs(tmp_path))
    before = reader_threads()
    reader = HwmonReader(tmp_path, read_timeout=UNHURRIED)
    reader.sample()
    started = reader_threads() - before
    assert started
    reader.close()
    # close() waits up to a second for them; a busy machine may need longer for the last to end.
    eventually(lambda: not started & reader_threads(), "the pool threads gone")


def test_stats_count_samples_and_reads(tmp_path):
    chips.acpitz(FakeSysfs(tmp_path))
    # A clock that stands still: no read can look slow, however busy the machine.
    with HwmonReader(tmp_path, read_timeout=UNHURRIED, clock=lambda: 1000.0) as reader:
        reader.sample()
        first = reader.stats.attribute_reads
        reader.sample()
    assert reader.stats.samples == 2
    assert reader.stats.attribute_reads - first == 1  # only temp1_input once metadata is known
    assert (reader.stats.timeouts, reader.stats.slow_reads, reader.stats.errors_by_chip) == (0, 0, {})


# --- the command line and the tree builder -----------------------------------------------------


def test_command_line_prints_like_sensors(tmp_path, capsys):
    chips.coretemp_dual_socket(FakeSysfs(tmp_path))
    chips.nct6798(FakeSysfs(tmp_path))
    assert report.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("coretemp-isa-0000\nAdapter: ISA adapter\nPackage id 0:")
    assert "+45.0°C  (max = +80.0°C, crit = +100.0°C)" in out
    assert "\nin1:" in out and "ALARM (ALARM)" in out
    assert "intrusion0:" in out and "SYSTIN:" in out and "sensor = thermistor" in out


def test_command_line_prints_the_shape_of_sensors_json(tmp_path, capsys):
    tree = FakeSysfs(tmp_path)
    chips.nct6798(tree)
    chips.amdgpu(tree)
    chips.ds18b20(tree)
    assert report.main(["--json", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    pairs = json.loads(out, object_pairs_hook=lambda items: items)  # keeps repeated keys
    chip_ids = [chip_id for chip_id, _ in pairs]
    assert chip_ids == ["amdgpu-pci-0900", "nct6798-isa-0290", "w1_slave_temp-virtual-0", "w1_slave_temp-virtual-0~2"]
    amdgpu, nct = dict(pairs[0][1]), dict(pairs[1][1])
    assert amdgpu["Adapter"] == "PCI adapter"
    assert amdgpu["PPT"] == [("power1_average", 25.0)]  # no power1_input: the average, as sensors
    assert "sclk" not in amdgpu and "pwm1" not in amdgpu  # sensors -j (3.6) prints neither
    assert nct["SYSTIN"] == [("temp1_input", 33.0)]
    assert nct["cpu0_vid"] == [("cpu0_vid", 1.1)]
    assert nct["intrusion0"] == [("intrusion0_alarm", 1.0)]


def test_fake_tree_has_real_layout_and_world_readable_files(tmp_path):
    tree = FakeSysfs(tmp_path)
    chip, = chips.sht3x(tree)
    link = tree.hwmon_class / f"hwmon{chip.number}"
    assert os.readlink(link) == "../../devices/platform/soc/fe804000.i2c/i2c-1/1-0044/hwmon/hwmon0"
    assert os.readlink(chip.hwmon_dir / "device") == "../../../1-0044"
    assert os.readlink(chip.device_dir / "subsystem") == "../../../../../../bus/i2c"
    for directory, dirs, files in os.walk(tmp_path):
        for name in dirs + files:
            path = Path(directory) / name
            if path.is_symlink():
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o755 if path.is_dir() else 0o644), path


def test_synthetic_tree_has_the_requested_number_of_sensors(tmp_path):
    build_synthetic_tree(tmp_path, 40)
    samples = sample_tree(tmp_path)
    assert len(samples) == 40
    assert all(r.status == OK for _, r in samples.values())


# --- channels with settings but no reading ------------------------------------------------------


def test_settings_only_channels_are_settings_of_their_chip_not_sensors(tmp_path):
    chips.nct6779(FakeSysfs(tmp_path))
    with HwmonReader(tmp_path, read_timeout=UNHURRIED) as reader:
        ids = {sensor.id for sensor, _ in reader.sample()}
        (chip,) = reader.chips()
    assert "nct6779-isa-0a20/pwm2" in ids and "nct6779-isa-0a20/pwm1" not in ids
    assert (chip.id, chip.name, chip.adapter) == ("nct6779-isa-0a20", "nct6779", "ISA adapter")
    assert (chip.sysfs_chip, chip.sysfs_chip_name) == ("platform_nct6775_2592", "nct6779")
    (pwm1,) = chip.settings
    assert (pwm1.channel, pwm1.sysfs_channel, pwm1.label) == ("pwm1", "pwm1", None)
    assert len(pwm1.attributes) == 29  # as many series as node_exporter exports for it
    assert pwm1.attributes["enable"] == 5 and pwm1.attributes["auto_point5_temp"] == 100000


def test_a_chip_with_nothing_but_settings_is_still_a_chip(tmp_path):
    chips.asus_nb_wmi(FakeSysfs(tmp_path))
    with HwmonReader(tmp_path, read_timeout=UNHURRIED) as reader:
        sensors = {sensor.chip for sensor, _ in reader.sample()}
        described = {chip.id: chip for chip in reader.chips()}
    assert sensors == {"asus_wmi_sensors-isa-0000"}
    asus = described["asus-isa-0000"]
    assert [(s.channel, s.attributes) for s in asus.settings] == [("pwm1", {"enable": 2})]
    assert asus.sysfs_chip == "platform_asus_nb_wmi_asus"
    assert described["asus_wmi_sensors-isa-0000"].settings == ()


def test_settings_are_read_with_the_metadata_not_at_every_sample(tmp_path):
    chip = chips.asus_nb_wmi(FakeSysfs(tmp_path))[0]
    enable = os.path.realpath(chip.path("pwm1_enable"))
    reads = []

    def counting(path):
        reads.append(os.path.realpath(path))
        return read_attribute(path)

    with HwmonReader(tmp_path, read_timeout=UNHURRIED, read_attribute=counting, metadata_every=3600) as reader:
        for _ in range(3):
            reader.sample()
        first = reader.chips()
    assert reads.count(enable) == 1
    assert first[0].settings[0].attributes == {"enable": 2}


def test_a_chip_keeps_its_object_until_its_metadata_is_read_again(tmp_path):
    fan_mode, _ = chips.asus_nb_wmi(FakeSysfs(tmp_path))
    clock = [0.0]
    with HwmonReader(tmp_path, read_timeout=UNHURRIED, metadata_every=60, clock=lambda: clock[0]) as reader:
        reader.sample()
        before = reader.chips()
        reader.sample()
        assert all(a is b for a, b in zip(before, reader.chips(), strict=True))
        # Read again with a changed setting: a new object that says so.
        fan_mode.write("pwm1_enable", 1)
        clock[0] = 61.0
        reader.sample()
        after = {chip.id: chip for chip in reader.chips()}
    assert after["asus-isa-0000"] is not before[0]
    assert after["asus-isa-0000"].settings[0].attributes == {"enable": 1}


# --- node_exporter's chip labels -----------------------------------------------------------------


def test_unique_chip_labels_are_untouched():
    from frostserver.hwmon.exporter_names import distinct_chip_labels

    entries = [("platform_coretemp_0", "coretemp", "hwmon1"), ("platform_coretemp_1", "coretemp", "hwmon2")]
    assert distinct_chip_labels(entries) == ["platform_coretemp_0", "platform_coretemp_1"]


def test_two_devices_on_one_parent_are_told_apart_by_their_names():
    from frostserver.hwmon.exporter_names import distinct_chip_labels

    entries = [("platform_asus_nb_wmi", "asus", "hwmon5"), ("platform_asus_nb_wmi", "asus_wmi_sensors", "hwmon6"),
               ("platform_coretemp_0", "coretemp", "hwmon1")]
    assert distinct_chip_labels(entries) == [
        "platform_asus_nb_wmi_asus", "platform_asus_nb_wmi_asus_wmi_sensors", "platform_coretemp_0"]


def test_three_devices_on_one_parent_are_told_apart_by_their_names():
    from frostserver.hwmon.exporter_names import distinct_chip_labels

    entries = [("ieee80211_phy0", f"mt7996_phy0_{band}", f"hwmon{band + 3}") for band in range(3)]
    assert distinct_chip_labels(entries) == [f"ieee80211_phy0_mt7996_phy0_{band}" for band in range(3)]


def test_devices_with_equal_names_are_told_apart_by_their_hwmon_directories():
    from frostserver.hwmon.exporter_names import distinct_chip_labels

    two = [("0000:00:1c_0_0000:05:00_0", "mlx5", "hwmon3"), ("0000:00:1c_0_0000:05:00_0", "mlx5", "hwmon8")]
    assert distinct_chip_labels(two) == ["0000:00:1c_0_0000:05:00_0_hwmon3", "0000:00:1c_0_0000:05:00_0_hwmon8"]
    three = [("pci_x", "mlxsw", f"hwmon{n}") for n in (0, 1, 2)]
    assert distinct_chip_labels(three) == ["pci_x_hwmon0", "pci_x_hwmon1", "pci_x_hwmon2"]
    # no name file: nothing to tell them apart by but the directory
    assert distinct_chip_labels([("pci_x", "", "hwmon4"), ("pci_x", "", "hwmon5")]) == ["pci_x_hwmon4", "pci_x_hwmon5"]


def test_a_name_shared_within_a_group_falls_back_to_hwmon_only_where_it_is_shared():
    # 1.12 suffixes "the chip's `name` if it disambiguates": a name no other device of the
    # group has still does, so only the two "mlxsw" fall back to their directories.
    from frostserver.hwmon.exporter_names import distinct_chip_labels

    entries = [("pci_x", "mlxsw", "hwmon0"), ("pci_x", "mlxsw", "hwmon1"), ("pci_x", "other", "hwmon2")]
    assert distinct_chip_labels(entries) == ["pci_x_hwmon0", "pci_x_hwmon1", "pci_x_other"]


@pytest.mark.parametrize("fixture, labels", [
    ("wifi_phy", {"mt7996_phy0.0-pci-0100": "ieee80211_phy0_mt7996_phy0_0",
                  "mt7996_phy0.1-pci-0100": "ieee80211_phy0_mt7996_phy0_1",
                  "mt7996_phy0.2-pci-0100": "ieee80211_phy0_mt7996_phy0_2"}),
    ("same_names_on_one_parent", {"mlxsw-pci-0300": "0000:00:01_0_0000:03:00_0_hwmon0",
                                  "mlxsw-pci-0300~2": "0000:00:01_0_0000:03:00_0_hwmon1",
                                  "mlxsw-pci-0300~3": "0000:00:01_0_0000:03:00_0_hwmon2"}),
])
def test_sensors_carry_node_exporter_112_chip_labels_and_keep_lm_sensors_ids(tmp_path, fixture, labels):
    chips.FIXTURES[fixture](FakeSysfs(tmp_path))
    found = {sensor.chip: sensor.sysfs.chip for sensor, _ in sample_tree(tmp_path).values()}
    assert found == labels
