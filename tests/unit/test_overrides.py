"""Sensor overrides: filter by id pattern, relabel, override thresholds and raise their alarms."""
import sys
from dataclasses import replace
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "services" / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

from frostserver import overrides  # noqa: E402
from frostserver.config import load_settings  # noqa: E402
from frostserver.model import ALARM, ERROR, FAULT, OK, Reading, Sensor  # noqa: E402
from frostserver.overrides import OverrideApplier, decide  # noqa: E402


def hwmon(sensor_id: str, label: str = "", **thresholds: float) -> Sensor:
    chip, channel = sensor_id.split("/")
    return Sensor(
        id=sensor_id, chip=chip, chip_name=chip.split("-")[0], channel=channel,
        kind="temperature", label=label or channel, unit="°C", thresholds=dict(thresholds),
    )


@pytest.fixture
def applier_from(tmp_path):
    """Return a function giving the applier of a config file's overrides (one per file, as the sampler has)."""
    def load(text: str) -> OverrideApplier:
        path = tmp_path / "frostserver.toml"
        path.write_text(text, encoding="utf-8")
        return OverrideApplier(load_settings({"FROST_CONFIG": str(path)}).sensor_overrides)

    return load


IDS = [
    "coretemp-isa-0000/temp1",
    "coretemp-isa-0000/temp2",
    "nvme-pci-0100/temp1",
    "nvme-pci-0100/temp2",
    "acpitz-acpi-0/temp1",
    "nct6775-isa-0290/in0",
]


def sample(value: float = 40.0) -> list[tuple[Sensor, Reading]]:
    return [(hwmon(sensor_id), Reading(value)) for sensor_id in IDS]


def ids(pairs) -> list[str]:
    return [sensor.id for sensor, _ in pairs]


def test_no_overrides_keep_every_pair_as_it_is(applier_from):
    pairs = sample()

    kept = applier_from("").apply(pairs)

    assert kept == pairs
    assert all(a[0] is b[0] and a[1] is b[1] for a, b in zip(kept, pairs))


def test_include_keeps_only_matching_ids_in_their_order(applier_from):
    applier = applier_from('[filter]\ninclude = ["coretemp-*/temp*", "nvme-pci-*/temp1"]\n')

    assert ids(applier.apply(sample())) == [
        "coretemp-isa-0000/temp1", "coretemp-isa-0000/temp2", "nvme-pci-0100/temp1",
    ]


def test_exclude_drops_matching_ids_after_include(applier_from):
    applier = applier_from('[filter]\ninclude = ["*/temp*"]\nexclude = ["*/temp[2-9]", "acpitz-*/*"]\n')

    assert ids(applier.apply(sample())) == ["coretemp-isa-0000/temp1", "nvme-pci-0100/temp1"]


def test_relabel_replaces_the_label_of_exact_ids_only(applier_from):
    applier = applier_from('[relabel]\n"coretemp-isa-0000/temp1" = "CPU package"\n')

    kept = applier.apply(sample())

    assert [sensor.label for sensor, _ in kept] == ["CPU package", "temp2", "temp1", "temp2", "temp1", "in0"]
    assert kept[0][0].id == "coretemp-isa-0000/temp1"


def test_overrides_merge_into_the_chip_thresholds_later_tables_winning(applier_from):
    applier = applier_from("""
        [thresholds."coretemp-*/*"]
        max = 80
        crit = 95
        [thresholds."coretemp-isa-0000/temp1"]
        max = 85
    """)
    chip = hwmon("coretemp-isa-0000/temp1", max=100.0, crit=100.0, crit_hyst=90.0)

    ((sensor, _),) = applier.apply([(chip, Reading(40.0))])

    assert sensor.thresholds == {"max": 85.0, "crit": 95.0, "crit_hyst": 90.0}
    assert chip.thresholds == {"max": 100.0, "crit": 100.0, "crit_hyst": 90.0}


def test_a_value_above_an_overridden_high_threshold_raises_its_alarms(applier_from):
    applier = applier_from('[thresholds."coretemp-*/temp1"]\nmax = 85\ncrit = 95\nmin = 5\n')

    ((_, warm), (_, hot), (_, hotter)) = [
        applier.apply([(hwmon("coretemp-isa-0000/temp1"), Reading(value))])[0]
        for value in (85.0, 90.0, 96.0)
    ]

    assert warm == Reading(85.0, OK)
    assert hot == Reading(90.0, ALARM, alarms=("max",))
    assert hotter == Reading(96.0, ALARM, alarms=("max", "crit"))


def test_a_value_below_an_overridden_low_threshold_raises_its_alarm(applier_from):
    applier = applier_from('[thresholds."config/w1_*"]\nmin = 2\nlcrit = -10\n')
    sensor = replace(hwmon("coretemp-isa-0000/temp1"), id="config/w1_garden")

    ((_, reading),) = applier.apply([(sensor, Reading(1.5))])

    assert reading == Reading(1.5, ALARM, alarms=("min",))


def test_alarms_the_chip_raised_are_kept_and_not_repeated(applier_from):
    applier = applier_from('[thresholds."coretemp-*/temp1"]\nmax = 85\ncrit = 95\n')
    chip_alarm = Reading(99.0, ALARM, alarms=("crit",))

    ((_, reading),) = applier.apply([(hwmon("coretemp-isa-0000/temp1"), chip_alarm)])

    assert reading == Reading(99.0, ALARM, alarms=("crit", "max"))


def test_readings_without_a_value_are_left_alone(applier_from):
    applier = applier_from('[thresholds."coretemp-*/temp1"]\nmin = 5\n')
    sensor = hwmon("coretemp-isa-0000/temp1")
    failed = Reading(None, ERROR, "Input/output error")
    fault = Reading(-128.0, FAULT)

    kept = applier.apply([(sensor, failed), (sensor, fault)])

    assert kept[0][1] is failed
    assert kept[1][1] is fault


def test_thresholds_that_are_not_overridden_raise_no_alarm_here(applier_from):
    applier = applier_from('[thresholds."nvme-*/*"]\nmax = 70\n')
    chip = hwmon("coretemp-isa-0000/temp1", max=50.0)

    ((sensor, reading),) = applier.apply([(chip, Reading(60.0))])

    assert reading == Reading(60.0, OK)
    assert sensor is chip


def test_the_decision_for_an_id_is_made_once(applier_from):
    applier = applier_from('[relabel]\n"coretemp-isa-0000/temp1" = "CPU"\n[thresholds."coretemp-*/*"]\nmax = 80\n')
    chip = hwmon("coretemp-isa-0000/temp1", max=100.0)

    first = applier.apply([(chip, Reading(40.0))])[0][0]
    again = applier.apply([(hwmon("coretemp-isa-0000/temp1", max=100.0), Reading(41.0))])[0][0]

    assert again is first
    assert (first.label, first.thresholds) == ("CPU", {"max": 80.0})


def test_a_sensor_whose_chip_thresholds_change_is_decided_again(applier_from):
    applier = applier_from('[thresholds."coretemp-*/*"]\nmax = 80\n')
    applier.apply([(hwmon("coretemp-isa-0000/temp1", crit=100.0), Reading(40.0))])

    ((sensor, _),) = applier.apply([(hwmon("coretemp-isa-0000/temp1", crit=105.0), Reading(40.0))])

    assert sensor.thresholds == {"crit": 105.0, "max": 80.0}


def test_a_thousand_sensors_cost_little_per_sample(applier_from, monkeypatch):
    applier = applier_from("""
        [filter]
        include = ["chip*/*"]
        exclude = ["chip1*/temp3"]
        [relabel]
        "chip7-isa-0000/temp1" = "Seven"
        [thresholds."chip[0-4]*/*"]
        max = 50
    """)
    pairs = [
        (hwmon(f"chip{n}-isa-0000/temp{c}"), Reading(float(n)))
        for n in range(128) for c in range(1, 9)
    ]
    assert len(applier.apply(pairs)) == 1024 - 39
    # Little means the patterns are matched once per sensor, not once per sample: later samples
    # only look the decisions up. (How long a sample takes is for `make bench` to measure.)
    decided = []
    monkeypatch.setattr(overrides, "decide", lambda *args: decided.append(args) or decide(*args))

    for _ in range(50):
        kept = applier.apply(pairs)

    assert not decided, f"{len(decided)} decisions worked out again over 50 samples"
    # chip100..chip127 are above max = 50, on their 7 channels that temp3 does not exclude.
    assert sum(reading.status == ALARM for _, reading in kept) == 28 * 7


def test_the_decisions_belong_to_the_applier_not_to_the_frozen_overrides(applier_from, monkeypatch):
    first = applier_from('[relabel]\n"coretemp-isa-0000/temp1" = "CPU"\n')
    first.apply(sample())
    decided = []
    monkeypatch.setattr(overrides, "decide", lambda *args: decided.append(args) or decide(*args))

    second = OverrideApplier(first.overrides)
    second.apply(sample())

    assert len(decided) == len(IDS)  # a new applier decides afresh: nothing was stored in the overrides
    assert not any(isinstance(value, dict) for value in vars(first.overrides).values())
