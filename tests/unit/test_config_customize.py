"""Issue 22's tables of the config file: [device], [customize."<id>"], a rule's places; how layers merge them.

Every field is checked with the values people (and attackers) send: empty and 500-character names,
NaN and 1e309 offsets, limits in the wrong order, a calibration through two equal points.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from frostserver.config import ConfigError, Layer, Source, resolve
from frostserver.config.alert_rules import parse_rules
from frostserver.config.customize import parse_customize
from frostserver.config.device import parse_device
from frostserver.config.errors import Invalid
from frostserver.model import Calibration, Sensor

SENSOR = "w1-0-28-000005e2fdc3/temp1"
BROWSER = "settings set in the browser"


def write(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "frostserver.toml"
    path.write_text(text, encoding="utf-8")
    return {"FROST_CONFIG": str(path)}


def browser(document: dict):
    return lambda settings: Layer(Source.BROWSER, BROWSER, document, tolerant=True)


def file_then(document: dict):
    """The file's layer (FROST_CONFIG), then a browser layer with this document."""
    from frostserver.config.resolve import file_layer

    return (file_layer, browser(document))


def invalid(call, *args) -> Invalid:
    with pytest.raises(Invalid) as caught:
        call(*args)
    return caught.value


def test_customize_says_every_field_of_a_sensor():
    found = parse_customize({SENSOR: {"label": "Greenhouse floor", "place": "Greenhouse", "order": 2,
                                      "hidden": True, "offset": -0.4, "low": 1, "high": 35.0}})[SENSOR]
    assert (found.label, found.place, found.order, found.hidden) == ("Greenhouse floor", "Greenhouse", 2, True)
    assert found.calibration == Calibration(1.0, -0.4)
    assert (found.low, found.high) == (1.0, 35.0)


def test_two_points_give_a_gain_and_an_offset():
    found = parse_customize({SENSOR: {"calibration": {"raw": [0.6, 99.2], "actual": [0.0, 100.0]}}})[SENSOR]
    gain = 100.0 / 98.6
    assert found.calibration.gain == pytest.approx(gain)
    assert found.calibration.offset == pytest.approx(-0.6 * gain)
    assert found.calibration.apply(99.2) == pytest.approx(100.0)
    assert found.calibration.undo(found.calibration.apply(21.5)) == pytest.approx(21.5)
    assert found.calibration.document() == {"gain": found.calibration.gain, "offset": found.calibration.offset}
    assert Calibration(1.0, 0.5).document() == {"offset": 0.5}


@pytest.mark.parametrize(("field", "value", "words"), [
    ("label", "", "1 to 64 characters"),
    ("label", "x" * 500, "got 500 characters"),
    ("label", "   ", "not blank"),
    ("label", "two\nlines", "without control characters"),
    ("label", "\ud800", "lone surrogate"),
    ("label", 5, "got 5"),
    ("place", "", "1 to 64 characters"),
    ("order", 1.5, "whole number"),
    ("order", True, "whole number"),
    ("order", 10**9, "whole number"),
    ("hidden", "yes", "true or false"),
    ("offset", math.nan, "must be a number"),
    ("offset", math.inf, "must be a number"),
    ("offset", float("1e309"), "must be a number"),
    ("offset", 1e7, "between"),
    ("low", "cold", "must be a number"),
    ("high", -math.inf, "must be a number"),
])
def test_a_bad_field_names_its_key(field, value, words):
    mistake = invalid(parse_customize, {SENSOR: {field: value}})
    assert mistake.key == ("customize", SENSOR, field)
    assert words in mistake.problem


def test_limits_in_the_wrong_order_name_both():
    mistake = invalid(parse_customize, {SENSOR: {"low": 35, "high": 35}})
    assert mistake.key == ("customize", SENSOR, "low") and mistake.related == (("customize", SENSOR, "high"),)
    assert mistake.problem == "low (35) must be below high (35)"


@pytest.mark.parametrize(("calibration", "key", "words"), [
    ({"raw": [1.0, 1.0], "actual": [0.0, 100.0]}, "raw", "must differ"),
    ({"raw": [0.0, 100.0], "actual": [5.0, 5.0]}, "actual", "gain of 0"),
    ({"raw": [0.0, 100.0], "actual": [100.0, 0.0]}, "actual", "rise together"),
    ({"raw": [0.0], "actual": [0.0, 1.0]}, "raw", "two numbers"),
    ({"raw": [0.0, math.nan], "actual": [0.0, 1.0]}, "raw", "must be a number"),
    ({"raw": [0.0, 1.0]}, "actual", "two numbers"),
    ({"raw": [0.0, 1.0], "actual": [0.0, 1.0], "gain": 2}, "gain", "unknown key"),
])
def test_a_bad_calibration_names_its_key(calibration, key, words):
    mistake = invalid(parse_customize, {SENSOR: {"calibration": calibration}})
    assert mistake.key[:3] == ("customize", SENSOR, "calibration") and key in mistake.key
    assert words in mistake.problem


@pytest.mark.parametrize("sensor_id", ["coretemp-*/temp1", "no-slash", "/temp1", "chip/", "a\x00b/temp1"])
def test_customize_takes_whole_sensor_ids(sensor_id):
    assert invalid(parse_customize, {sensor_id: {"label": "x"}}).key == ("customize", sensor_id)


def test_offset_and_two_points_in_one_table_is_a_mistake():
    mistake = invalid(parse_customize, {SENSOR: {"offset": 1, "calibration": {"raw": [0, 1], "actual": [0, 1]}}})
    assert "either offset or calibration" in mistake.problem


def test_device_name_and_units():
    assert parse_device({"name": "Greenhouse Pi", "units": "fahrenheit"}).units == "fahrenheit"
    assert parse_device({}, fallback_name="Old name").name == "Old name"
    assert "celsius, fahrenheit" in invalid(parse_device, {"units": "kelvin"}).problem
    assert invalid(parse_device, {"name": "x" * 65}).key == ("device", "name")


def test_device_name_wins_over_the_alerts_device_name_and_reaches_the_notifier(tmp_path):
    env = write(tmp_path, '[alerts]\ndevice_name = "Old"\n[device]\nname = "New"\n')
    settings = resolve(env).settings
    assert settings.device.name == settings.alerts.device_name == "New"
    only_old = resolve(write(tmp_path, '[alerts]\ndevice_name = "Old"\n')).settings
    assert only_old.device.name == "Old"
    only_new = resolve(write(tmp_path, '[device]\nname = "New"\n')).settings
    assert only_new.alerts.device_name == "New"


def test_a_rule_selects_by_place_and_the_unsorted_place_holds_sensors_in_none():
    rule = {r.name: r for r in parse_rules({"cold": {"places": ["Greenhouse", "Unsorted"], "below": 4}},
                                           ("alerts", "rules"))}["cold"]
    sensor = Sensor("a-isa-0000/temp1", "a-isa-0000", "a", "temp1", "temperature", "x", "°C")
    assert rule.selects(sensor)  # in no place: Unsorted
    assert rule.selects(Sensor(**{**sensor.__dict__, "place": "Greenhouse"}))
    assert not rule.selects(Sensor(**{**sensor.__dict__, "place": "Cellar"}))
    assert invalid(parse_rules, {"cold": {"places": [""], "below": 4}}, ("alerts", "rules")).key == (
        "alerts", "rules", "cold", "places", 0)


def test_customize_wins_over_relabel_and_thresholds_and_the_browser_over_the_file(tmp_path):
    env = write(tmp_path, f'[relabel]\n"{SENSOR}" = "Old"\n[customize."{SENSOR}"]\nlabel = "File"\nlow = 1\n')
    resolved = resolve(env, layers=file_then({"customize": {SENSOR: {"label": "Browser"}}}))
    custom = resolved.settings.sensor_overrides.customize[SENSOR]
    assert (custom.label, custom.low) == ("Browser", 1.0)
    assert resolved[f'customize."{SENSOR}".label'].source == Source.BROWSER
    assert resolved[f'customize."{SENSOR}".low'].source == Source.FILE


def test_a_layer_that_sets_one_key_of_a_group_replaces_the_others_below(tmp_path):
    env = write(tmp_path, f"""
        [alerts.rules.frost]
        below = 2
        [customize."{SENSOR}"]
        calibration = {{ raw = [0, 100], actual = [1, 101] }}
    """)
    resolved = resolve(env, layers=file_then({"alerts": {"rules": {"frost": {"above": 40}}},
                                              "customize": {SENSOR: {"offset": 0.5}}}))
    frost = {rule.name: rule for rule in resolved.settings.alerts.rules}["frost"]
    assert (frost.above, frost.below) == (40.0, None)
    assert resolved.settings.sensor_overrides.customize[SENSOR].calibration == Calibration(1.0, 0.5)


def test_the_browsers_notification_targets_join_the_files(tmp_path):
    env = write(tmp_path, '[alerts]\nnotify = ["json://a.example/x"]\n')
    resolved = resolve(env, layers=file_then({"alerts": {"notify": ["json://b.example/y", "json://a.example/x"]}}))
    assert resolved.settings.alerts.targets == ("json://a.example/x", "json://b.example/y")


def test_a_browser_value_that_no_longer_fits_the_file_is_dropped_not_fatal(tmp_path):
    env = write(tmp_path, f'[customize."{SENSOR}"]\nlow = 30\n')
    resolved = resolve(env, layers=file_then({"customize": {SENSOR: {"high": 20, "label": "Kept"}},
                                              "device": {"units": "kelvin"}}))
    custom = resolved.settings.sensor_overrides.customize[SENSOR]
    assert (custom.low, custom.high, custom.label) == (30.0, None, "Kept")
    assert resolved.settings.device.units == "celsius"
    assert sorted(str(item) for item in resolved.dropped) == [
        f'customize."{SENSOR}".high: low (30) must be below high (20)',
        "device.units: must be one of celsius, fahrenheit, got 'kelvin'",
    ]


def test_a_file_mistake_still_stops_the_app_and_names_the_file(tmp_path):
    env = write(tmp_path, f'[customize."{SENSOR}"]\nlabel = ""\n')
    with pytest.raises(ConfigError) as caught:
        resolve(env, layers=file_then({}))
    assert str(caught.value).endswith(f'customize."{SENSOR}".label: must be a name of 1 to 64 characters, not blank')
