"""Settings set in the browser, applied live by a real Sampler: no restart, no gap in the samples' numbers.

Calibration before anything keeps or judges the value (the ring, the catalog, the history, the
alert rules); names, places and limits in the catalog; rules changed without losing what the
unchanged ones know; the device-wide settings published once the sample that uses them is.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from frostserver.alerts.engine import AlertEngine
from frostserver.config.alert_rules import AlertRule
from frostserver.model import Calibration, Reading, Sensor
from frostserver.sampler import Sampler, build_alerts
from frostserver.settings.live import LiveSettings
from frostserver.settings.store import Edit, SettingsStore, Touch
from frostserver.store.reader import StoreReader
from frostserver.store.writer import StoreWriter
from sources import ListSource

SENSOR = Sensor("w1-0-28-000005e2fdc3/temp1", "w1-0-28-000005e2fdc3", "w1_slave_temp", "temp1", "temperature",
                "temp1", "°C", thresholds={"max": 50.0})
OTHER = Sensor("coretemp-isa-0000/temp1", "coretemp-isa-0000", "coretemp", "temp1", "temperature", "Package", "°C")


class Clock:
    def __init__(self, now: float = 1_764_763_200.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def setting(store: SettingsStore, values: dict, scope: str = "sensor", item: str = SENSOR.id):
    return store.write(lambda before: Edit(set=values, touched=[Touch(scope, item, "x")]), "ada", 1.0)


@pytest.fixture
def rig(tmp_path: Path):
    config = tmp_path / "frostserver.toml"
    config.write_text('[alerts.rules.cold]\nsensors = ["coretemp-isa-0000/temp1"]\nbelow = 10\nfor = "10s"\n'
                      '[relabel]\n"w1-0-28-000005e2fdc3/temp1" = "Old name"\n')
    (tmp_path / "run").mkdir()
    live = LiveSettings({"FROST_CONFIG": str(config), "FROST_RUN_DIR": str(tmp_path / "run")})
    settings = live.current().settings
    source = ListSource([(SENSOR, Reading(20.0)), (OTHER, Reading(5.0))])
    store = StoreWriter.open(tmp_path / "run", capacity=64, columns=8, interval=1.0)
    clock = Clock()
    sampler = Sampler({"hwmon": source}, store, clock=clock, alerts=build_alerts(settings, always=True), live=live)
    from frostserver.overrides import OverrideApplier
    sampler.overrides = OverrideApplier(settings.sensor_overrides).apply
    sampler.settings = settings
    yield sampler, SettingsStore(tmp_path / "run"), StoreReader(tmp_path / "run"), clock, source
    sampler.close()
    live.close()


def tick(sampler, clock) -> int:
    seq = sampler.sample_once()
    clock.now += 1.0
    return seq


def newest(reader: StoreReader, sensor_id: str = SENSOR.id):
    sample = reader.latest_sample()
    return {sensor.id: (sensor, reading) for sensor, reading in sample.pairs}[sensor_id]


def test_a_change_applies_at_the_next_sample_with_no_gap_in_numbers(rig):
    sampler, settings, reader, clock, _ = rig
    seqs = [tick(sampler, clock)]
    assert newest(reader)[0].label == "Old name"
    setting(settings, {("customize", SENSOR.id, "label"): "Greenhouse floor",
                       ("customize", SENSOR.id, "place"): "Greenhouse",
                       ("customize", SENSOR.id, "order"): 2,
                       ("customize", SENSOR.id, "hidden"): True,
                       ("customize", SENSOR.id, "offset"): 0.5,
                       ("customize", SENSOR.id, "high"): 30.0})
    seqs.append(tick(sampler, clock))
    sensor, reading = newest(reader)
    assert seqs == [1, 2]
    assert (sensor.label, sensor.place, sensor.order, sensor.hidden) == ("Greenhouse floor", "Greenhouse", 2, True)
    assert sensor.calibration == Calibration(1.0, 0.5) and sensor.revision == 1
    assert sensor.thresholds["max"] == 30.0
    assert sensor.uncustomized.label == "Old name" and sensor.uncustomized.thresholds == {"max": 50.0}
    assert (reading.value, reading.uncomputed) == (20.5, 20.0)
    window = reader.window([SENSOR.id], 1, 2)
    assert [window.value(SENSOR.id, n) for n in range(2)] == [20.0, 20.5]  # the ring keeps the calibrated value


def test_the_device_wide_settings_are_published_after_the_sample_that_uses_them(rig):
    sampler, settings, reader, clock, _ = rig
    tick(sampler, clock)
    assert reader.applied.current().revision == 0
    setting(settings, {("device", "name"): "Greenhouse Pi", ("device", "units"): "fahrenheit",
                       ("frost_threshold",): 1.5}, "device", "")
    tick(sampler, clock)
    applied = reader.applied.current()
    assert (applied.revision, applied.device_name, applied.units, applied.frost_threshold) == (
        1, "Greenhouse Pi", "fahrenheit", 1.5)


def test_calibration_applies_before_the_alert_rules_judge(rig):
    sampler, settings, reader, clock, _ = rig
    setting(settings, {("customize", SENSOR.id, "offset"): 31.0})  # 20 + 31 = 51: past the chip's max 50
    setting(settings, {("alerts", "rules", "temperature_max", "for"): 0}, "rule", "temperature_max")
    tick(sampler, clock)
    engine: AlertEngine = sampler.alerts[0]
    assert f"temperature_max/{SENSOR.id}" in engine.firing
    assert engine.firing[f"temperature_max/{SENSOR.id}"].value == 51.0


def test_an_unchanged_rule_keeps_its_pending_time_when_another_changes(rig):
    sampler, settings, reader, clock, _ = rig
    tick(sampler, clock)  # OTHER at 5 °C: cold is pending since this sample
    engine: AlertEngine = sampler.alerts[0]
    assert "cold/coretemp-isa-0000/temp1" in engine._pending
    since = engine._pending["cold/coretemp-isa-0000/temp1"]
    setting(settings, {("alerts", "rules", "frost", "enabled"): False}, "rule", "frost")
    for _ in range(5):
        tick(sampler, clock)
    assert engine._pending["cold/coretemp-isa-0000/temp1"] == since  # its `for` did not start over
    for _ in range(6):
        tick(sampler, clock)
    assert "cold/coretemp-isa-0000/temp1" in engine.firing  # fired 10 s after it began, as if nothing changed


def test_a_changed_rule_starts_its_for_over_and_a_removed_one_resolves(rig):
    sampler, settings, reader, clock, source = rig
    tick(sampler, clock)
    engine: AlertEngine = sampler.alerts[0]
    setting(settings, {("alerts", "rules", "cold", "for"): 20}, "rule", "cold")
    clock.now += 5
    tick(sampler, clock)
    assert engine._pending["cold/coretemp-isa-0000/temp1"] == clock.now - 1.0  # started over at this sample
    setting(settings, {("alerts", "rules", "cold", "for"): 0}, "rule", "cold")
    tick(sampler, clock)
    assert "cold/coretemp-isa-0000/temp1" in engine.firing
    setting(settings, {("alerts", "rules", "cold", "enabled"): False}, "rule", "cold")
    tick(sampler, clock)
    assert "cold/coretemp-isa-0000/temp1" not in engine.firing


def test_a_firing_alert_of_a_rule_narrowed_to_another_place_resolves(rig):
    sampler, settings, reader, clock, _ = rig
    setting(settings, {("alerts", "rules", "cold", "for"): 0}, "rule", "cold")
    tick(sampler, clock)
    engine: AlertEngine = sampler.alerts[0]
    assert "cold/coretemp-isa-0000/temp1" in engine.firing
    setting(settings, {("alerts", "rules", "cold", "places"): ["Cellar"]}, "rule", "cold")
    tick(sampler, clock)
    assert "cold/coretemp-isa-0000/temp1" not in engine.firing
    [resolved] = [e for e in sampler.alerts[1].view().events if e.state == "resolved"]
    assert resolved.alert.summary == "Package: rule 'cold' no longer applies to it"


def test_a_rule_by_place_follows_a_sensor_put_in_that_place(rig):
    sampler, settings, reader, clock, _ = rig
    setting(settings, {("alerts", "rules", "greenhouse", "places"): ["Greenhouse"],
                       ("alerts", "rules", "greenhouse", "above"): 15}, "rule", "greenhouse")
    tick(sampler, clock)
    engine: AlertEngine = sampler.alerts[0]
    assert not any(key.startswith("greenhouse/") for key in engine.firing)
    setting(settings, {("customize", SENSOR.id, "place"): "Greenhouse"})
    tick(sampler, clock)
    assert f"greenhouse/{SENSOR.id}" in engine.firing


def test_engine_reconfigure_keeps_a_firing_alert_of_an_unchanged_rule_without_firing_it_again():
    rule = AlertRule("hot", above=30.0)
    engine = AlertEngine([rule], frost_threshold=0.0, interval=1.0)
    pairs = [(SENSOR, Reading(40.0))]
    assert [e.state for e in engine.observe(1.0, pairs)] == ["firing"]
    engine.reconfigure([rule, AlertRule("other", above=100.0)], 0.0)
    assert engine.observe(2.0, pairs) == []
    assert "hot/" + SENSOR.id in engine.firing


def test_a_calibrated_reading_is_the_same_object_while_the_readers_is():
    from frostserver.config.customize import Customization
    from frostserver.config.sensor_overrides import SensorOverrides
    from frostserver.overrides import OverrideApplier

    applier = OverrideApplier(SensorOverrides(customize={SENSOR.id: Customization(calibration=Calibration(2.0, 1.0))}))
    reading = Reading(10.0, uncomputed=9.0)
    [(_, first)] = applier.apply([(SENSOR, reading)])
    [(_, again)] = applier.apply([(SENSOR, reading)])
    assert first is again  # the alert engine skips a reading it has judged
    assert (first.value, first.uncomputed) == (21.0, 9.0)  # raw_value: before compute and calibration
    [(_, none)] = applier.apply([(SENSOR, Reading(None, status="error"))])
    assert none.value is None and none.uncomputed is None


def test_a_derived_pair_and_the_forecast_set_live_apply_at_the_next_sample(rig):
    sampler, settings, reader, clock, source = rig
    humidity = Sensor("sht3x-i2c-1-44/humidity1", "sht3x-i2c-1-44", "sht3x", "humidity1", "humidity", "humidity1", "%")
    source.pairs = [*source.pairs, (humidity, Reading(50.0))]
    tick(sampler, clock)
    assert sampler.derived is None and "derived/garden/dew_point" not in reader.catalog.current().sensors
    assert sampler.alerts[0].lead_time == 10800.0  # the default 3 h
    setting(settings, {("derived", "garden", "temperature"): SENSOR.id,
                       ("derived", "garden", "humidity"): humidity.id,
                       ("forecast", "lead_time"): "90m"}, scope="device", item="")
    tick(sampler, clock)
    dew = newest(reader, "derived/garden/dew_point")
    assert dew[1].value == pytest.approx(9.3, abs=0.1)  # 20 °C at 50 %RH
    assert sampler.forecaster is not None and sampler.forecaster.config.lead_time == 5400.0
    assert sampler.alerts[0].lead_time == 5400.0
