"""Derived sensors: dew point, frost point and absolute humidity, against published reference values.

The reference is the CRC Handbook's table "Density and pressure of saturated water vapor at
different temperatures at sea-level pressure" (Handbook of Chemistry and Physics, ed. R. C. Weast
and M. J. Astle, 62nd ed., CRC Press 1981; reprinted as Table A 1.1 of the United Nations
University's "Climate and House Design" appendix): the saturation vapour pressure, over water at
0 °C and above and over ice below, and the density of the vapour at saturation.

A pressure of that table at temperature T_d, divided by the one at a warmer T, is the relative
humidity (%/100) of air at T whose dew point is exactly T_d (over ice: whose frost point is).
The formulas must give T_d within 0.15 °C: the Magnus form's stated error, 0.384 % of a vapour
pressure (Alduchov and Eskridge 1996), is 0.04 to 0.07 °C at a dew point, once at T and once at
T_d, and the table gives three or four digits (0.2 % at most, 0.02 °C).
"""
from __future__ import annotations

import math
from dataclasses import replace

import pytest

from frostserver.alerts.engine import AlertEngine
from frostserver.config import ConfigError
from frostserver.config.alert_rules import BUILTIN_RULES
from frostserver.config.derived import DerivedPair
from frostserver.derived import humidity
from frostserver.derived.humidity import OutOfRange
from frostserver.derived.sensors import DerivedSensors
from frostserver.model import ERROR, FAULT, OK, Reading, Sensor
from frostserver.sampler import Sampler
from frostserver.store.reader import StoreReader
from frostserver.store.writer import StoreWriter

from config_files import settings_from
from sources import ListSource

# (°C, g/m³ at saturation, hPa at saturation): the CRC Handbook's table, as printed.
CRC_TABLE = [
    (34, 37.66, 53.26), (32, 33.87, 47.60), (30, 30.43, 42.48), (28, 27.29, 37.84), (26, 24.43, 33.65),
    (24, 21.83, 29.86), (22, 19.46, 26.45), (20, 17.33, 23.40), (18, 15.40, 20.65), (16, 13.66, 18.19),
    (14, 12.09, 15.99), (12, 10.68, 14.03), (10, 9.42, 12.28), (8, 8.28, 10.72), (6, 7.27, 9.35),
    (4, 6.37, 8.13), (2, 5.57, 7.05), (0, 4.86, 6.11),
    (-2, 4.15, 5.18), (-4, 3.54, 4.39), (-6, 3.01, 3.70), (-8, 2.56, 3.12), (-10, 2.16, 2.62),  # over ice
]
PRESSURE = {t: hpa for t, _, hpa in CRC_TABLE}
DENSITY = {t: gm3 for t, gm3, _ in CRC_TABLE}
WATER = [t for t in PRESSURE if t >= 0]
ICE = [t for t in PRESSURE if t < 0]
TOLERANCE = 0.15  # °C; see the module's docstring


def humidity_for(air: float, saturated_at: float) -> float:
    """The %RH of air at `air` °C whose vapour pressure is the table's at `saturated_at`."""
    return 100 * PRESSURE[saturated_at] / PRESSURE[air]


@pytest.mark.parametrize(("air", "dew"), [(a, d) for a in WATER for d in WATER if d < a and (a - d) % 6 == 0])
def test_the_dew_point_matches_the_crc_table(air, dew):
    assert humidity.dew_point(air, humidity_for(air, dew)) == pytest.approx(dew, abs=TOLERANCE)


@pytest.mark.parametrize(("air", "frost"), [(a, f) for a in (0, 2, 4, 8, 12) for f in ICE])
def test_the_frost_point_matches_the_crc_table_over_ice(air, frost):
    assert humidity.frost_point(air, humidity_for(air, frost)) == pytest.approx(frost, abs=TOLERANCE)


def test_the_frost_point_is_the_dew_point_where_that_is_above_0_degrees():
    rh = humidity_for(20, 10)
    assert humidity.frost_point(20, rh) == humidity.dew_point(20, rh) == pytest.approx(10, abs=TOLERANCE)


def test_below_0_degrees_the_frost_point_is_above_the_dew_point():
    # Ice holds its vapour tighter than supercooled water: air saturated over ice at -10 °C has a
    # dew point (over water) near -11.2 °C (Murphy and Koop 2005 give the pressures).
    rh = humidity_for(0, -10)
    assert humidity.frost_point(0, rh) == pytest.approx(-10, abs=TOLERANCE)
    assert humidity.dew_point(0, rh) == pytest.approx(-11.2, abs=0.2)


@pytest.mark.parametrize("air", WATER)
def test_absolute_humidity_at_saturation_matches_the_table(air):
    # Within 0.8 %: the formula's 0.384 %, and the table's densities stand 0.2 to 0.4 % above the
    # ideal gas law's (its vapour is treated as a real gas).
    assert humidity.absolute_humidity(air, 100) == pytest.approx(DENSITY[air], rel=0.008)


def test_absolute_humidity_scales_with_relative_humidity():
    assert humidity.absolute_humidity(20, 50) == pytest.approx(DENSITY[20] / 2, rel=0.008)


# Murphy and Koop (2005, Q. J. R. Meteorol. Soc. 131, 1539-1565), equations (7) and (10): the
# reference formulations of ice and (supercooled) water, in Pa at T in K.
def murphy_koop_ice(kelvin: float) -> float:
    return math.exp(9.550426 - 5723.265 / kelvin + 3.53068 * math.log(kelvin) - 0.00728332 * kelvin)


def murphy_koop_water(kelvin: float) -> float:
    return math.exp(54.842763 - 6763.22 / kelvin - 4.210 * math.log(kelvin) + 0.000367 * kelvin
                    + math.tanh(0.0415 * (kelvin - 218.8))
                    * (53.878 - 1331.22 / kelvin - 9.44523 * math.log(kelvin) + 0.014025 * kelvin))


def test_the_saturation_pressures_are_within_the_stated_error_over_their_whole_range():
    water = max(abs(humidity.saturation_over_water(t / 10) * 100 / murphy_koop_water(t / 10 + 273.15) - 1)
                for t in range(-400, 501))
    ice = max(abs(humidity.saturation_over_ice(t / 10) * 100 / murphy_koop_ice(t / 10 + 273.15) - 1)
              for t in range(-800, 1))
    assert water <= 0.00384  # Alduchov and Eskridge's stated error, -40 to 50 °C
    assert ice <= 0.002  # what the module's docstring says of it, -80 to 0 °C


@pytest.mark.parametrize(("air", "rh", "says"), [
    (-40.5, 50, "temperature -40.5 °C is outside the formula's range (-40 to 50 °C)"),
    (50.5, 50, "temperature 50.5 °C is outside"),
    (20, 0, "at 0 %RH or below there is no dew point"),
    (20, -3, "at 0 %RH or below"),
    (20, 100.5, "relative humidity 100.5 %RH is above 100 %RH"),
    (math.nan, 50, "not a finite number"),
    (20, math.inf, "not a finite number"),
    (-39, 0.5, "the dew point is below the formula's range (-40 °C)"),
])
def test_inputs_out_of_range_give_no_value_but_a_reason(air, rh, says):
    with pytest.raises(OutOfRange, match=says.replace("(", r"\(").replace(")", r"\)")):
        humidity.dew_point(air, rh)


def test_the_edges_of_the_range_still_have_values():
    assert humidity.dew_point(-40, 100) == pytest.approx(-40)
    assert humidity.dew_point(50, 100) == pytest.approx(50)
    assert humidity.frost_point(-40, 100) > humidity.dew_point(-40, 100)


# --- the sensors ----------------------------------------------------------------------------

AIR = Sensor("sht3x-i2c-1-44/temp1", "sht3x-i2c-1-44", "sht3x", "temp1", "temperature", "temp1", "°C")
RH = Sensor("sht3x-i2c-1-44/humidity1", "sht3x-i2c-1-44", "sht3x", "humidity1", "humidity", "humidity1", "%RH")
PAIR = DerivedPair("garden", AIR.id, RH.id, "Garden")
IDS = ["derived/garden/dew_point", "derived/garden/frost_point", "derived/garden/absolute_humidity"]


def derived(pairs, sensors: DerivedSensors | None = None) -> dict[str, tuple[Sensor, Reading]]:
    return {s.id: (s, r) for s, r in (sensors or DerivedSensors([PAIR])).derive(pairs)}


def test_a_pair_gives_three_ordinary_sensors_of_kind_temperature_and_humidity():
    found = derived([(AIR, Reading(20.0)), (RH, Reading(humidity_for(20, 10)))])
    assert list(found) == IDS
    dew, frost, absolute = (found[i][0] for i in IDS)
    assert (dew.kind, dew.unit, dew.label, dew.chip, dew.source) == ("temperature", "°C", "Garden dew point",
                                                                     "derived", "derived")
    assert (frost.kind, frost.label) == ("temperature", "Garden frost point")
    assert (absolute.kind, absolute.unit, absolute.label) == ("humidity", "g/m³", "Garden absolute humidity")
    values = [found[i][1].value for i in IDS]
    assert values[0] == pytest.approx(10, abs=TOLERANCE) and values[1] == values[0]
    assert values[2] == pytest.approx(DENSITY[10] * 283.15 / 293.15, rel=0.008)  # e(10 °C), in air at 20 °C
    assert all(found[i][1].status == OK for i in IDS)


@pytest.mark.parametrize(("pairs", "reason"), [
    ([(RH, Reading(50.0))], "no sensor sht3x-i2c-1-44/temp1 in this sample"),
    ([(AIR, Reading(None, FAULT)), (RH, Reading(50.0))], "no value from sht3x-i2c-1-44/temp1 (fault)"),
    ([(AIR, Reading(20.0)), (RH, Reading(None, ERROR, "EIO"))], "no value from sht3x-i2c-1-44/humidity1 (error: EIO)"),
    ([(replace(AIR, kind="voltage"), Reading(2.0)), (RH, Reading(50.0))],
     "sht3x-i2c-1-44/temp1 is a voltage sensor, not a temperature one"),
    ([(AIR, Reading(20.0)), (RH, Reading(104.0))], "relative humidity 104 %RH is above 100 %RH"),
])
def test_a_missing_faulted_or_out_of_range_input_gives_no_value_with_the_reason(pairs, reason):
    found = derived(pairs)
    assert [(found[i][1].value, found[i][1].status, found[i][1].error) for i in IDS] == [(None, ERROR, reason)] * 3


def test_a_missing_input_is_logged_once_naming_the_pair(caplog):
    sensors = DerivedSensors([PAIR])
    for _ in range(3):
        derived([(RH, Reading(50.0))], sensors)
    lines = [r.getMessage() for r in caplog.records if "derived" in r.getMessage()]
    assert lines == ["[derived.garden]: no sensor 'sht3x-i2c-1-44/temp1' in this sample; check its id "
                     "(GET /api/v1/sensors lists them)"]


def test_the_same_input_readings_give_the_same_reading_objects():
    sensors, air, rh = DerivedSensors([PAIR]), Reading(5.0), Reading(80.0)
    first = derived([(AIR, air), (RH, rh)], sensors)
    again = derived([(AIR, air), (RH, rh)], sensors)
    assert all(first[i][1] is again[i][1] for i in IDS)  # the store and the alert engine skip what they saw
    changed = derived([(AIR, Reading(4.0)), (RH, rh)], sensors)
    assert changed[IDS[0]][1].value < first[IDS[0]][1].value


# --- the configuration ----------------------------------------------------------------------



def test_a_pair_is_read_from_the_config_file(tmp_path):
    settings = settings_from(tmp_path, '[derived.garden]\ntemperature = "a-isa-0/temp1"\nhumidity = "b-isa-0/humidity1"\n'
                                       '[derived.shed]\ntemperature = "config/shed"\nhumidity = "c-isa-0/humidity1"\n'
                                       'label = "Shed"\n')
    assert settings.derived == (DerivedPair("garden", "a-isa-0/temp1", "b-isa-0/humidity1", "garden"),
                                DerivedPair("shed", "config/shed", "c-isa-0/humidity1", "Shed"))


@pytest.mark.parametrize(("text", "says"), [
    ('[derived.garden]\ntemperature = "a-isa-0/temp1"\n', "derived.garden: needs humidity = '<sensor id>'"),
    ('[derived.garden]\ntemperature = "a-isa-0/*"\nhumidity = "b/h"\n',
     "derived.garden.temperature: must be a whole sensor id like 'sht3x-i2c-1-44/temp1', got 'a-isa-0/*'"),
    ('[derived.garden]\ntemperature = "derived/x/dew_point"\nhumidity = "b/h"\n',
     "derived.garden.temperature: must be a measured sensor, not a derived one"),
    ('[derived.garden]\ntemperature = "a/t"\nhumidity = "a/t"\n', "derived.garden.humidity: is the same sensor"),
    ('[derived.garden]\ntemperature = "a/t"\nhumidity = "b/h"\nlable = "x"\n',
     "derived.garden.lable: unknown key; did you mean 'label'?"),
    ('[derived."a b"]\ntemperature = "a/t"\nhumidity = "b/h"\n', "a pair's name is 1 to 64 letters"),
    ('[derived.garden]\ntemperature = "a/t"\nhumidity = "b/h"\nlabel = "x\\ny"\n', "derived.garden.label: must be a one-line"),
    ('[derived.garden]\ntemperature = "a/t"\nhumidity = "b/h"\n[filter]\ninclude = ["a/*", "b/*"]\n',
     "filter.include: drops the derived sensor 'derived/garden/dew_point'; add 'derived/*/*' to keep them"),
])

def test_a_mistake_in_a_pair_is_one_line_naming_the_file_and_key(tmp_path, text, says):
    with pytest.raises(ConfigError) as caught:
        settings_from(tmp_path, text)
    assert says in str(caught.value) and str(tmp_path / "frostserver.toml") in str(caught.value)


def test_exclude_may_drop_a_derived_sensor_one_does_not_want(tmp_path):
    settings = settings_from(tmp_path, '[derived.garden]\ntemperature = "a/t"\nhumidity = "b/h"\n'
                                       '[filter]\nexclude = ["derived/*/absolute_humidity"]\n')
    assert [p.glob for p in settings.sensor_overrides.exclude] == ["derived/*/absolute_humidity"]


# --- in a sample ----------------------------------------------------------------------------


def one_sample(tmp_path, pairs, overrides):
    """What a Sampler deriving PAIR and applying `overrides` publishes for one read of `pairs`."""
    from frostserver.overrides import OverrideApplier

    store = StoreWriter.open(tmp_path / "run", capacity=10, columns=16, interval=1.0)
    sampler = Sampler({"hwmon": ListSource(pairs)}, store, derived=DerivedSensors([PAIR]),
                      overrides=OverrideApplier(overrides).apply, clock=lambda: 1000.0)
    try:
        sampler.sample_once()
        return StoreReader(tmp_path / "run").latest_sample()
    finally:
        sampler.close()


def test_the_sampler_adds_them_after_their_inputs_and_before_the_overrides(tmp_path):
    from frostserver.config.sensor_overrides import parse_sensor_overrides

    overrides = parse_sensor_overrides({"relabel": {IDS[0]: "Dew point outside"}, "filter": {"exclude": [RH.id]}})
    sample = one_sample(tmp_path, [(AIR, Reading(20.0)), (RH, Reading(50.0))], overrides)
    found = {sensor.id: (sensor, reading) for sensor, reading in sample.pairs}
    assert RH.id not in found  # the filter hides the input, yet what was derived from it stays
    assert found[IDS[0]][0].label == "Dew point outside" and found[IDS[0]][0].source == "derived"
    assert found[IDS[0]][1].value == pytest.approx(9.3, abs=0.1)


def test_what_is_derived_sees_the_calibrated_inputs(tmp_path):
    from frostserver.config.sensor_overrides import parse_sensor_overrides

    # The probe reads 1 °C high: the dew point is that of 20 °C, not of the 21 °C read.
    overrides = parse_sensor_overrides({"customize": {AIR.id: {"offset": -1.0}}})
    sample = one_sample(tmp_path, [(AIR, Reading(21.0)), (RH, Reading(50.0))], overrides)
    found = {sensor.id: reading for sensor, reading in sample.pairs}
    assert found[AIR.id].value == pytest.approx(20.0)
    assert found[IDS[0]].value == pytest.approx(humidity.dew_point(20.0, 50.0), abs=0.001)

def test_the_frost_rule_and_sensor_fault_leave_derived_sensors_out():
    engine = AlertEngine(BUILTIN_RULES, frost_threshold=0.5, interval=1.0)
    dew = DerivedSensors([PAIR]).derive([(AIR, Reading(4.0)), (RH, Reading(30.0))])
    broken = DerivedSensors([PAIR]).derive([(AIR, Reading(4.0))])
    events = []
    for now in range(0, 700, 10):
        events += engine.observe(float(now), [*dew, (AIR, Reading(4.0)), (RH, Reading(30.0))])
        events += engine.observe(float(now) + 1, broken)
    assert dew[0][1].value < -10  # a dew point far below the frost threshold, on a dry day
    assert events == []


def test_the_sampler_process_stores_them_keeps_their_history_and_metrics_label_them_derived(tmp_path):
    import signal

    import chips
    from test_sampler import start_sampler
    from waiting import PATIENCE, eventually

    from frostserver.history import HistoryReader
    from frostserver.http import create_app

    chips.build_zoo(tmp_path / "sys", ("sht3x",))  # 23.5 °C, 45.2 %RH
    config = tmp_path / "frostserver.toml"
    config.write_text('[derived.outdoor]\ntemperature = "sht3x-i2c-1-44/temp1"\n'
                      'humidity = "sht3x-i2c-1-44/humidity1"\nlabel = "Outdoor"\n')
    process = start_sampler(tmp_path, FROST_CONFIG=str(config), FROST_HISTORY_DIR=str(tmp_path / "history"))
    try:
        store = StoreReader(tmp_path / "run")
        sample = eventually(lambda: (s := store.latest_sample()) is not None and s, "a sample")
        found = {sensor.id: (sensor, reading) for sensor, reading in sample.pairs}
        dew = found["derived/outdoor/dew_point"]
        assert dew[1].value == pytest.approx(humidity.dew_point(23.5, 45.2), abs=0.001)  # about 10.9 °C
        assert (dew[0].source, dew[0].chip, dew[0].label) == ("derived", "derived", "Outdoor dew point")
        app = create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys"})
        metrics = app.test_client().get("/metrics").get_data(as_text=True)
        assert ('frost_sensor_value{chip="derived",kind="humidity",label="Outdoor absolute humidity",place="",'
                'sensor="derived/outdoor/absolute_humidity",unit="g/m³"}') in metrics
        assert 'frost_sensor_status{chip="derived",sensor="derived/outdoor/frost_point",source="derived",status="ok"} 1.0' \
            in metrics
        assert 'frost_sensors{source="derived"} 3.0' in metrics
        process.send_signal(signal.SIGTERM)  # it writes the open minute as it stops
        assert process.wait(PATIENCE) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stderr.close()
    minutes = HistoryReader(tmp_path / "history").buckets("minute", None, 0, 2**40)
    (bucket, *_) = minutes["derived/outdoor/frost_point"]
    assert bucket.count >= 1 and bucket.min == pytest.approx(humidity.dew_point(23.5, 45.2), abs=0.001)
