"""The frost forecast: the trend, the forecaster over samples, the frost_expected rule, the store and the API.

Time is always given, never read: every test feeds samples at times it chooses.
"""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from frostserver.alerts.engine import AlertEngine
from frostserver.alerts.messages import FIRING, RESOLVED, clock_time, span
from frostserver.config import ConfigError, load_settings
from frostserver.config.alert_rules import BUILTIN_RULES
from frostserver.config.derived import DerivedPair
from frostserver.config.forecast import ForecastConfig
from frostserver.config.id_patterns import compile_id_pattern
from frostserver.derived.sensors import DerivedSensors
from frostserver.forecast.frost import (
    BEYOND_LEAD_TIME,
    DEW_POINT_FLOOR,
    NO_VALUE,
    NOT_ENOUGH_DATA,
    STEADY,
    WARMING,
    FrostForecaster,
    frost_forecast,
)
from frostserver.forecast.trend import theil_sen
from frostserver.http import create_app
from frostserver.http.context import context
from frostserver.model import ERROR, FrostForecast, Reading, Sensor
from frostserver.sampler import Sampler, build_forecaster
from frostserver.store import forecasts as forecasts_file
from frostserver.store.reader import StoreReader
from frostserver.store.writer import StoreWriter

from config_files import settings_from
from sources import ListSource

GARDEN = Sensor("w1_slave_temp-virtual-0/temp1", "w1_slave_temp-virtual-0", "w1_slave_temp", "temp1",
                "temperature", "Garden", "°C")
RH = Sensor("sht3x-i2c-1-44/humidity1", "sht3x-i2c-1-44", "sht3x", "humidity1", "humidity", "humidity1", "%RH")
CPU = Sensor("coretemp-isa-0000/temp1", "coretemp-isa-0000", "coretemp", "temp1", "temperature", "Package", "°C")
START = 1_768_406_400.0  # 2026-01-14 16:00 UTC
CONFIG = ForecastConfig()  # window 60 min, min data 15 min, lead time 3 h


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """The alerts' times of day are the device's local time: UTC here."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def cooling(rate_per_hour: float, start_value: float, seconds: float, step: float = 10.0, at: float = START):
    """(time, value) every `step` s of a straight fall (or rise) from start_value."""
    return [(at + s, start_value - rate_per_hour * s / 3600) for s in range(0, int(seconds) + 1, int(step))]


def forecaster(config: ForecastConfig = CONFIG, threshold: float = 0.0, floors=None) -> FrostForecaster:
    return FrostForecaster(config, threshold, lambda sensor: sensor.kind == "temperature", floors)


def feed(fc: FrostForecaster, points, sensor: Sensor = GARDEN, extra=()):
    result = {}
    for when, value in points:
        pairs = [(sensor, Reading(value) if value is not None else Reading(None, ERROR, "EIO")), *extra]
        result = fc.observe(when, pairs)
    return result


# --- the trend ------------------------------------------------------------------------------


def test_theil_sen_finds_a_straight_line_and_its_level_at_a_time():
    slope, level = theil_sen([(0, 10.0), (10, 9.0), (20, 8.0), (30, 7.0)], 40)
    assert slope == pytest.approx(-0.1) and level == pytest.approx(6.0)


def test_theil_sen_shrugs_off_a_few_wild_points():
    points = [(t, 10 - 0.01 * t) for t in range(0, 600, 20)]
    points[5] = (100, 30.0)  # a gust, a spike, a bad read: a quarter of the points
    points[12] = (240, -20.0)
    points[20] = (400, 25.0)
    points[27] = (540, 40.0)
    slope, level = theil_sen(points, 600)
    assert slope == pytest.approx(-0.01, rel=0.1) and level == pytest.approx(4.0, abs=0.2)


def test_theil_sen_needs_two_distinct_times():
    assert theil_sen([(5, 1.0)], 5) is None
    assert theil_sen([(5, 1.0), (5, 2.0)], 5) is None


@pytest.mark.parametrize(("slope", "level", "floor", "eta", "reason"), [
    (-2 / 3600, 4.0, None, START + 7200, None),  # 4 °C falling 2 °C/h: frost in 2 h
    (-1 / 3600, 4.0, None, None, BEYOND_LEAD_TIME),  # in 4 h: past the lead time
    (1 / 3600, 4.0, None, None, WARMING),
    (0.0, 4.0, None, None, STEADY),
    (-2 / 3600, 4.0, 1.5, None, DEW_POINT_FLOOR),  # its frost point is above the threshold
    (-2 / 3600, 4.0, -1.0, START + 7200, None),  # a floor below the threshold changes nothing
    (1 / 3600, -0.5, None, START, None),  # at or below the threshold: frost now
])
def test_a_trend_says_when_frost_comes_or_why_it_does_not(slope, level, floor, eta, reason):
    forecast = frost_forecast("a/t", START, slope, level, floor, 0.0, 3 * 3600)
    assert (forecast.eta, forecast.reason) == (pytest.approx(eta) if eta else None, reason)


def test_the_projection_never_goes_below_the_floor():
    forecast = FrostForecast("a/t", START, None, DEW_POINT_FLOOR, -2 / 3600, 4.0, 1.5)
    assert forecast.projected(START + 3600) == pytest.approx(2.0)
    assert forecast.projected(START + 3 * 3600) == 1.5


# --- the forecaster -------------------------------------------------------------------------


def test_a_steady_fall_is_forecast_once_there_is_enough_data():
    fc = forecaster()
    early = feed(fc, cooling(2.0, 5.0, 10 * 60))  # 10 minutes: less than min_data
    assert early[GARDEN.id].reason == NOT_ENOUGH_DATA and early[GARDEN.id].eta is None
    later = feed(fc, cooling(2.0, 5.0, 30 * 60)[61:])  # then 30 minutes
    forecast = later[GARDEN.id]
    assert forecast.reason is None
    assert forecast.eta == pytest.approx(START + 2.5 * 3600, abs=60)  # 5 °C at 2 °C/h
    assert forecast.slope * 3600 == pytest.approx(-2.0, rel=0.01)
    assert forecast.at == pytest.approx(START + 28 * 60, abs=2 * 60)  # as of the newest closed bin


def test_it_is_made_again_only_when_a_bin_closes():
    fc = forecaster()
    feed(fc, cooling(2.0, 5.0, 30 * 60))
    made = fc.forecasts[GARDEN.id]
    feed(fc, [(START + 30 * 60 + 10, 4.0)])  # within the open bin: nothing new
    assert fc.forecasts[GARDEN.id] is made
    feed(fc, [(START + 32 * 60 + 10, 3.9)])  # the next bin: made again
    assert fc.forecasts[GARDEN.id] is not made


def test_a_sensor_without_a_value_now_has_no_forecast_at_once():
    fc = forecaster()
    feed(fc, cooling(2.0, 5.0, 30 * 60))
    assert feed(fc, [(START + 30 * 60 + 5, None)])[GARDEN.id].reason == NO_VALUE
    assert feed(fc, [(START + 30 * 60 + 15, 4.0)])[GARDEN.id].reason is None  # its value back: the bins it has


def test_a_cpu_that_cools_after_its_load_is_no_frost_coming():
    # Half an hour at 80 °C, two minutes down to 45 °C as the load ends, then an hour at 45 °C: the
    # hour's line falls for a while, but its newest third has stopped.
    fc = forecaster()
    points = [(START + s, 80.0) for s in range(0, 1800, 10)]
    points += [(START + 1800 + s, 80.0 - 35 * s / 120) for s in range(0, 120, 10)]
    points += [(START + 1920 + s, 45.0) for s in range(0, 3600, 10)]
    etas = set()
    for when, value in points:
        etas.add(fc.observe(when, [(CPU, Reading(value))])[CPU.id].eta)
    assert etas == {None}


def test_a_fall_that_has_stopped_forecasts_nothing_though_the_hour_still_falls():
    fc = forecaster()
    fall = cooling(3.0, 6.0, 40 * 60)  # 6 °C to 4 °C, then flat at 4 °C for 20 minutes
    result = feed(fc, fall + [(START + 40 * 60 + s, 4.0) for s in range(10, 20 * 60, 10)])
    assert result[GARDEN.id].eta is None and result[GARDEN.id].reason == STEADY
    assert result[GARDEN.id].slope < 0  # the hour's line still falls; the newest third says no


def test_warming_and_lead_time_are_reasons():
    assert feed(forecaster(), cooling(-1.0, 5.0, 30 * 60))[GARDEN.id].reason == WARMING
    assert feed(forecaster(), cooling(0.5, 5.0, 30 * 60))[GARDEN.id].reason == BEYOND_LEAD_TIME


def test_the_paired_frost_point_is_the_floor():
    pair = DerivedPair("garden", GARDEN.id, RH.id, "Garden")
    derived = DerivedSensors([pair])
    fc = forecaster(floors={GARDEN.id: pair.sensor_id("frost_point")})
    result = {}
    for when, value in cooling(2.0, 5.0, 30 * 60):
        pairs = [(GARDEN, Reading(value)), (RH, Reading(95.0))]  # moist: its dew point is just below it
        result = fc.observe(when, [*pairs, *derived.derive(pairs)])
    forecast = result[GARDEN.id]
    assert forecast.reason == DEW_POINT_FLOOR and forecast.floor > 0  # so frost is not expected
    assert forecast.projected(START + 4 * 3600) == forecast.floor


def test_only_temperatures_it_is_told_of_are_forecast():
    fc = FrostForecaster(CONFIG, 0.0, lambda sensor: sensor.id == GARDEN.id)
    points = cooling(2.0, 5.0, 30 * 60)
    result = {}
    for when, value in points:
        result = fc.observe(when, [(GARDEN, Reading(value)), (CPU, Reading(value)), (RH, Reading(80.0))])
    assert set(result) == {GARDEN.id}


def test_a_sensor_that_vanishes_loses_its_forecast():
    fc = forecaster()
    feed(fc, cooling(2.0, 5.0, 30 * 60))
    assert GARDEN.id not in fc.observe(START + 31 * 60, [(CPU, Reading(50.0))])


def test_a_clock_set_back_starts_the_window_over():
    fc = forecaster()
    feed(fc, cooling(2.0, 5.0, 30 * 60))
    after = feed(fc, cooling(2.0, 5.0, 5 * 60, at=START - 86400))  # a day back
    assert after[GARDEN.id].reason == NOT_ENOUGH_DATA


def test_a_window_seeded_from_earlier_samples_forecasts_at_the_first_bin_that_closes():
    fc = forecaster()
    fc.seed(GARDEN.id, cooling(2.0, 5.0, 30 * 60))
    result = feed(fc, [(START + 30 * 60 + 10, 4.0), (START + 32 * 60 + 10, 3.9)])
    assert result[GARDEN.id].reason is None and result[GARDEN.id].eta == pytest.approx(START + 2.5 * 3600, abs=120)


# --- the rule -------------------------------------------------------------------------------


def engine(**rule_changes) -> AlertEngine:
    rules = [replace(rule, **rule_changes.get(rule.name, {})) for rule in BUILTIN_RULES]
    return AlertEngine(rules, frost_threshold=0.0, interval=10.0, lead_time=3 * 3600)


def run(eng: AlertEngine, fc: FrostForecaster, points, sensor: Sensor = GARDEN) -> list:
    events = []
    for when, value in points:
        pairs = [(sensor, Reading(value))]
        events += [(when, event.state, event.alert) for event in eng.observe(when, pairs, fc.observe(when, pairs))]
    return events


def test_frost_expected_fires_once_the_forecast_holds_for_its_for_and_says_when():
    eng, fc = engine(), forecaster()
    events = run(eng, fc, cooling(2.0, 5.0, 45 * 60))
    ((when, state, alert),) = events
    assert state == FIRING and alert.rule == "frost_expected" and alert.severity == "warning"
    # The forecast first holds when the first 15 minutes of data are in (a bin of 2 minutes
    # closes then), and must hold 10 minutes more.
    assert START + 25 * 60 <= when <= START + 29 * 60
    assert alert.expected_at == pytest.approx(START + 2.5 * 3600, abs=120)
    eta = round(alert.expected_at / 300) * 300
    assert alert.summary == (f"Garden: frost expected at about {clock_time(eta)}, in {span(eta - when)} "
                             f"({round(alert.value, 2):g} °C now, falling 2 °C/h)")
    assert clock_time(eta) == "18:30 UTC" and alert.limit == 0.0


def test_a_forecast_that_does_not_hold_for_its_for_fires_nothing():
    eng, fc = engine(frost_expected={"hold": 3600}), forecaster()
    assert run(eng, fc, cooling(2.0, 5.0, 45 * 60)) == []


def test_it_resolves_with_hysteresis_once_the_trend_turns_up():
    eng, fc = engine(), forecaster()
    fall = cooling(2.0, 5.0, 45 * 60)
    run(eng, fc, fall)
    rise = cooling(-2.0, fall[-1][1], 90 * 60, at=fall[-1][0] + 10)
    events = run(eng, fc, rise)
    ((when, state, alert),) = events
    assert state == RESOLVED and alert.rule == "frost_expected"
    assert alert.summary.startswith("Garden: no frost expected within 3 h any more (")
    assert alert.summary.endswith(("warming)", "beyond lead time)"))
    # Not at the first turn: the window still remembers the fall for a while.
    assert when - rise[0][0] >= 10 * 60


def test_a_projection_within_the_hysteresis_keeps_it_firing():
    eng, fc = engine(), forecaster()
    run(eng, fc, cooling(2.0, 5.0, 45 * 60))
    eng.observe(START + 46 * 60, [(GARDEN, Reading(3.0))], {GARDEN.id: FrostForecast(
        GARDEN.id, START + 46 * 60, None, BEYOND_LEAD_TIME, -0.9 / 3600, 3.0)})  # 0.3 °C in 3 h: within 1 °C
    assert f"frost_expected/{GARDEN.id}" in eng.firing


def test_not_enough_data_changes_nothing():
    eng, fc = engine(), forecaster()
    run(eng, fc, cooling(2.0, 5.0, 45 * 60))
    quiet = FrostForecast(GARDEN.id, START + 46 * 60, None, NOT_ENOUGH_DATA)
    assert eng.observe(START + 46 * 60, [(GARDEN, Reading(3.0))], {GARDEN.id: quiet}) == []
    assert f"frost_expected/{GARDEN.id}" in eng.firing


def test_the_frost_alert_silences_it_and_it_says_frost_came():
    eng, fc = engine(frost={"hold": 60}), forecaster()
    events = run(eng, fc, cooling(4.0, 2.0, 90 * 60))
    states = [(state, alert.rule) for _, state, alert in events]
    assert states == [(FIRING, "frost_expected"), (FIRING, "frost"), (RESOLVED, "frost_expected")]
    fired_expected, fired_frost, silenced = (when for when, _, _ in events)
    assert fired_expected < fired_frost == silenced
    assert events[2][2].summary == "Garden: frost came; the frost alert takes over"
    assert [e for e in run(eng, fc, cooling(0, -4.0, 30 * 60, at=START + 91 * 60))] == []  # not again while frost fires


def test_derived_sensors_and_other_rules_selections_are_left_out():
    eng = AlertEngine([replace(r, sensors=(compile_id_pattern("coretemp-*/*"),)) if r.name == "frost_expected" else r
                       for r in BUILTIN_RULES], frost_threshold=0.0, interval=10.0)
    assert run(eng, forecaster(), cooling(2.0, 5.0, 45 * 60)) == []


def test_a_turned_off_frost_expected_is_not_judged():
    eng, fc = engine(frost_expected={"enabled": False}), forecaster()
    assert run(eng, fc, cooling(2.0, 5.0, 45 * 60)) == []


# --- the configuration ----------------------------------------------------------------------



def test_forecast_settings_come_from_the_config_file(tmp_path):
    settings = settings_from(tmp_path, '[forecast]\nsensors = ["config/garden"]\nwindow = "90m"\nmin_data = "20m"\n'
                                       'lead_time = "2h"\n[alerts.rules.frost_expected]\nfor = "5m"\nhysteresis = 0.5\n'
                                       'severity = "critical"\n')
    forecast = settings.forecast
    assert (forecast.window, forecast.min_data, forecast.lead_time) == (5400, 1200, 7200)
    assert [p.glob for p in forecast.sensors] == ["config/garden"]
    (rule,) = [r for r in settings.alerts.rules if r.name == "frost_expected"]
    assert (rule.hold, rule.hysteresis, rule.severity, rule.forecast) == (300, 0.5, "critical", True)


def test_by_default_the_frost_rules_sensors_are_forecast(tmp_path):
    settings = settings_from(tmp_path, '[alerts.rules.frost]\nsensors = ["w1_*/*"]\n')
    fc = build_forecaster(settings)
    points = cooling(2.0, 5.0, 30 * 60)
    result = {}
    for when, value in points:
        result = fc.observe(when, [(GARDEN, Reading(value)), (CPU, Reading(value))])
    assert set(result) == {GARDEN.id}


def test_forecast_can_be_turned_off(tmp_path):
    assert build_forecaster(settings_from(tmp_path, "[forecast]\nenabled = false\n")) is None


@pytest.mark.parametrize(("text", "says"), [
    ('[forecast]\nwindow = "5s"\n', "forecast.window: must be at least 10 s, got 5 s"),
    ('[forecast]\nwindow = "13h"\n', 'forecast.window: must be a duration like "90s", "5m" or "1h30m" (at most 12 hours)'),
    ('[forecast]\nwindow = "30m"\nmin_data = "40m"\n', "forecast.min_data: must be at most the window (30 minutes)"),
    ('[sampling]\ninterval = 10\n[forecast]\nmin_data = "30s"\n',
     "forecast.min_data: must hold at least 5 samples (50 s at sampling.interval 10 s), got 30 s"),
    ('[forecast]\nlead = "2h"\n', "forecast.lead: unknown key; did you mean 'lead_time'?"),
    ('[forecast]\nsensors = "garden"\n', "forecast.sensors[0]: 'garden' matches no sensor id"),
    ('[alerts.rules.frost_expected]\nbelow = 3\n',
     "alerts.rules.frost_expected.below: frost_expected judges the frost forecast, whose condition is fixed"),
    ('[alerts.rules.frost]\nexclude = 3\n', "alerts.rules.frost.exclude: must be a list of sensor ids or globs"),
])
def test_a_mistake_is_one_line_naming_the_key(tmp_path, text, says):
    with pytest.raises(ConfigError) as caught:
        settings_from(tmp_path, text)
    assert says in str(caught.value)


def test_exclude_can_bring_derived_sensors_back_to_the_frost_rule(tmp_path):
    settings = settings_from(tmp_path, "[alerts.rules.frost]\nexclude = []\n")
    (frost,) = [r for r in settings.alerts.rules if r.name == "frost"]
    dew = DerivedSensors([DerivedPair("g", GARDEN.id, RH.id, "G")]).derive([])[0][0]
    assert frost.exclude == () and frost.selects(dew)


# --- the store and the API ------------------------------------------------------------------


def test_forecasts_json_round_trips_and_is_written_only_when_they_change(tmp_path):
    writer = forecasts_file.ForecastsWriter(tmp_path / "forecasts.json")
    made = {GARDEN.id: FrostForecast(GARDEN.id, START, START + 3600, None, -1e-4, 2.0, None)}
    writer.write(made, 10800, 0.5)
    first = (tmp_path / "forecasts.json").stat().st_ino
    writer.write(dict(made), 10800, 0.5)
    assert (tmp_path / "forecasts.json").stat().st_ino == first
    read = forecasts_file.ForecastsReader(tmp_path / "forecasts.json").current()
    assert read.by_sensor() == made and (read.lead_time, read.threshold) == (10800, 0.5)
    # A new frost threshold (set in the browser) with the same forecasts, or none yet: written too.
    writer.write({}, 10800, 0.5)
    writer.write({}, 10800, 1.5)
    read = forecasts_file.ForecastsReader(tmp_path / "forecasts.json").current()
    assert read.by_sensor() == {} and (read.lead_time, read.threshold) == (10800, 1.5)


@pytest.fixture
def app(tmp_path):
    return create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "ring_seconds": 60})


def test_the_sensors_document_gives_forecast_sensors_their_frost_eta_and_why_not(app, tmp_path):
    import schemathesis

    settings = context(app).settings
    store = StoreWriter.open(settings.run_dir, capacity=400, columns=16, interval=10.0)
    source = ListSource()
    times = iter(range(int(START), int(START) + 10_000, 10))
    sampler = Sampler({"hwmon": source}, store, clock=lambda: float(next(times)),
                      forecaster=FrostForecaster(CONFIG, 0.0, lambda s: s.id != CPU.id))
    try:
        for _, value in cooling(2.0, 5.0, 30 * 60):
            source.pairs = [(GARDEN, Reading(value)), (CPU, Reading(50.0))]
            sampler.sample_once()
    finally:
        sampler.close()
    client = app.test_client()
    body = {s["id"]: s for s in client.get("/api/v1/sensors").get_json()["sensors"]}
    assert body[GARDEN.id]["frost_eta"] == pytest.approx(START + 2.5 * 3600, abs=120)
    assert body[GARDEN.id]["frost_eta_reason"] is None
    assert "frost_eta" not in body[CPU.id] and "frost_eta_reason" not in body[CPU.id]
    one = client.get(f"/api/v1/sensors/{GARDEN.id}").get_json()
    assert one["frost_eta"] == body[GARDEN.id]["frost_eta"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema["/api/v1/sensors"]["GET"].Case().call_and_validate()


def test_a_forecast_that_says_why_not_is_null_with_the_reason(app):
    settings = context(app).settings
    store = StoreWriter.open(settings.run_dir, capacity=10, columns=16, interval=10.0)
    sampler = Sampler({"hwmon": ListSource([(GARDEN, Reading(5.0))])}, store, clock=lambda: START,
                      forecaster=FrostForecaster(CONFIG, 0.0, lambda s: True))
    try:
        sampler.sample_once()  # the first sample: a reading, no data yet
    finally:
        sampler.close()
    (garden,) = app.test_client().get("/api/v1/sensors").get_json()["sensors"]
    assert (garden["frost_eta"], garden["frost_eta_reason"]) == (None, NOT_ENOUGH_DATA)


def test_a_sampler_after_a_restart_takes_the_window_back_from_the_ring(tmp_path):
    settings = load_settings({}, {"run_dir": tmp_path / "run", "ring_seconds": 3600, "sample_interval": 10.0})
    store = StoreWriter.open(settings.run_dir, settings.ring_capacity, 16, 10.0)
    times = iter(p[0] for p in cooling(2.0, 5.0, 30 * 60))
    source = ListSource()
    first = Sampler({"hwmon": source}, store, clock=lambda: next(times))
    try:
        for _, value in cooling(2.0, 5.0, 30 * 60):
            source.pairs = [(GARDEN, Reading(value))]
            first.sample_once()
    finally:
        first.close()
    fc = build_forecaster(settings, StoreReader(settings.run_dir))
    result = feed(fc, [(START + 30 * 60 + 10, 4.0), (START + 32 * 60 + 10, 3.9)])
    assert result[GARDEN.id].reason is None and result[GARDEN.id].eta == pytest.approx(START + 2.5 * 3600, abs=180)


def test_a_frost_expected_alert_in_the_api_has_its_expected_at_and_matches_openapi(app):
    import schemathesis

    from frostserver.alerts.alert import AlertEvent
    from frostserver.alerts.journal import AlertJournal

    eng, fc = engine(), forecaster()
    ((_, state, alert),) = run(eng, fc, cooling(2.0, 5.0, 45 * 60))
    settings = context(app).settings
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    journal = AlertJournal.open(settings.run_dir, durable=False)  # no history dir: the run directory
    journal.record(7, [AlertEvent(state, alert)])
    (shown,) = app.test_client().get("/api/v1/alerts").get_json()["active"]
    assert shown["rule"] == "frost_expected" and shown["expected_at"] == alert.expected_at
    assert shown["summary"].startswith("Garden: frost expected at about 18:30 UTC, in ")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema["/api/v1/alerts"]["GET"].Case().call_and_validate()


def test_after_a_restart_of_the_container_the_window_comes_back_from_the_minute_tier(tmp_path):
    from frostserver.history.writer import HistoryWriter

    # An earlier run wrote 30 minutes of a steady fall to the history on disk, then stopped.
    writer = HistoryWriter(tmp_path / "history")
    for when, value in cooling(2.0, 5.0, 30 * 60):
        writer.observe(when, [(GARDEN, Reading(value))])
    writer.close()
    settings = load_settings({}, {"run_dir": tmp_path / "run", "history_dir": tmp_path / "history"})
    fc = build_forecaster(settings)  # no ring: the run directory was a tmpfs, gone with the container
    result = feed(fc, [(START + 31 * 60 + 10, 3.95), (START + 33 * 60 + 10, 3.9)])
    assert result[GARDEN.id].reason is None
    assert result[GARDEN.id].eta == pytest.approx(START + 2.5 * 3600, abs=180)
    assert result[GARDEN.id].slope * 3600 == pytest.approx(-2.0, rel=0.1)


def test_without_a_history_the_window_starts_empty(tmp_path):
    settings = load_settings({}, {"run_dir": tmp_path / "run", "history_dir": tmp_path / "history"})
    fc = build_forecaster(settings)
    assert feed(fc, [(START, 5.0), (START + 130, 4.9)])[GARDEN.id].reason == NOT_ENOUGH_DATA
