"""Alerts: the [alerts] config, the rules judged with `for` and hysteresis on a fake clock, the journal."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import replace

import pytest

from frostserver.alerts.engine import AlertEngine
from frostserver.alerts.alert import Alert
from frostserver.alerts.journal import JOURNAL_FILE, AlertJournal, decode
from frostserver.alerts.sampling_stopped import judge, resumed
from frostserver.config import ConfigError
from frostserver.config.alert_rules import BUILTIN_RULES, MAX_HOLD, AlertRule
from frostserver.config.alerts import AlertsConfig, display_target
from frostserver.config.errors import Invalid
from frostserver.config.id_patterns import compile_id_pattern
from frostserver.config.validate import duration
from frostserver.model import ERROR, FAULT, OK, Reading, Sensor

from config_files import settings_from

GARDEN = Sensor("w1_slave_temp-virtual-0/temp1", "w1_slave_temp-virtual-0", "w1_slave_temp", "temp1",
                "temperature", "Garden", "°C")
CPU = Sensor("coretemp-isa-0000/temp1", "coretemp-isa-0000", "coretemp", "temp1", "temperature", "Package id 0",
             "°C", thresholds={"max": 80.0, "crit": 100.0})
FAN = Sensor("nct6779-isa-0a20/fan1", "nct6779-isa-0a20", "nct6779", "fan1", "fan", "fan1", "RPM",
             thresholds={"min": 0.0})



def rules(**changes_by_name) -> list[AlertRule]:
    """The built-in rules, with changes to some of them by name."""
    return [replace(rule, **changes_by_name.get(rule.name, {})) for rule in BUILTIN_RULES]


def engine(rule_list=None, **kwargs) -> AlertEngine:
    return AlertEngine(rule_list if rule_list is not None else BUILTIN_RULES, frost_threshold=0.5, interval=1.0,
                       **kwargs)


def run(eng: AlertEngine, values: list[tuple[float, float | None]], sensor: Sensor = GARDEN) -> list[tuple]:
    """Feed (time, value) readings of one sensor; return (time, state, key) of every event."""
    out = []
    for now, value in values:
        reading = Reading(value) if value is not None else Reading(None, ERROR, "EIO")
        out += [(now, event.state, event.alert.key) for event in eng.observe(now, [(sensor, reading)])]
    return out


# --- config ---------------------------------------------------------------------------------


def test_no_alerts_table_means_the_built_in_rules_and_no_targets(tmp_path):
    settings = settings_from(tmp_path, "")
    assert settings.alerts == AlertsConfig()
    assert {r.name for r in settings.alerts.enabled_rules} == {
        "frost", "frost_expected", "temperature_max", "temperature_crit", "sensor_fault", "sampling_stopped"}
    assert {r.name for r in settings.alerts.rules if not r.enabled} == {"voltage_alarm", "fan_alarm"}


def test_a_config_overrides_a_built_in_rule_turns_one_on_and_adds_its_own(tmp_path):
    settings = settings_from(tmp_path, """
[alerts]
device_name = "Greenhouse"
dashboard_url = "https://greenhouse.local/"
notify = ["ntfy://ntfy.example/topic"]
[alerts.rules.frost]
for = "10m"
hysteresis = 1
[alerts.rules.fan_alarm]
enabled = true
[alerts.rules.cellar_damp]
sensors = ["sht3x-*/humidity1"]
above = 85
for = "1h30m"
severity = "critical"
""")
    by_name = {rule.name: rule for rule in settings.alerts.rules}
    assert settings.alerts.device_name == "Greenhouse" and settings.alerts.targets == ("ntfy://ntfy.example/topic",)
    frost = by_name["frost"]
    assert (frost.hold, frost.hysteresis, frost.below) == (600, 1, "frost_threshold")
    assert by_name["fan_alarm"].enabled
    damp = by_name["cellar_damp"]
    assert (damp.above, damp.hold, damp.severity, [p.glob for p in damp.sensors]) == (
        85, 5400, "critical", ["sht3x-*/humidity1"])


@pytest.mark.parametrize(("body", "key", "words"), [
    ('[alerts]\nnotfy = []', "alerts.notfy", "did you mean 'notify'"),
    ('[alerts]\nnotify = ["no scheme here"]', "alerts.notify[0]", "scheme://"),
    ('[alerts]\nnotify = "ntfy://x/y"', "alerts.notify", "must be a list"),
    ('[alerts]\ndashboard_url = "greenhouse.local"', "alerts.dashboard_url", "http:// or https://"),
    ('[alerts.rules.frost]\nfor = "5 minutes"', "alerts.rules.frost.for", "a duration like"),
    ('[alerts.rules.mine]\nsensors = ["coretemp"]\nabove = 3', "alerts.rules.mine.sensors[0]", "matches no sensor id"),
    ('[alerts.rules.mine]\nsensors = ["coretemp-[/temp1"]\nabove = 3', "alerts.rules.mine.sensors[0]", "never closed"),
    ('[alerts.rules.mine]\nabove = "maximum"', "alerts.rules.mine.above", "one of max, crit"),
    ('[alerts.rules.mine]\nstatus = ["broken"]', "alerts.rules.mine.status[0]", "one of alarm, fault"),
    ('[alerts.rules.mine]\nabove = 3\nbelow = 1', "alerts.rules.mine.below", "one condition"),
    ('[alerts.rules.mine]\nkinds = ["temperature"]', "alerts.rules.mine", "needs a condition"),
    ('[alerts.rules.sampling_stopped]\nsensors = ["a/b"]', "alerts.rules.sampling_stopped.sensors",
     "judges the device"),
    ('[alerts.rules.Frost]\nfor = 1', "alerts.rules.Frost", "lowercase"),
])
def test_a_bad_alerts_table_is_one_line_naming_the_key(tmp_path, body, key, words):
    with pytest.raises(ConfigError) as raised:
        settings_from(tmp_path, body)
    assert raised.value.key == key and words in raised.value.problem, str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_config_error_never_quotes_a_notification_url(tmp_path):
    with pytest.raises(ConfigError) as raised:
        settings_from(tmp_path, '[alerts]\nnotify = ["tgram://123456:SECRETTOKEN/ chat"]')
    assert "SECRETTOKEN" not in str(raised.value) and "tgram" in str(raised.value)


def test_durations_and_how_targets_are_shown():
    durations = [duration(v, ("k",), MAX_HOLD) for v in (0, 90, "90s", "5m", "1h30m", "2.5m")]
    assert durations == [0, 90, 90, 300, 5400, 150]
    with pytest.raises(Invalid, match=r"at most 7 days"):
        duration("8d", ("k",), MAX_HOLD)
    assert display_target("json://user:pw@hooks.example:8000/path?x=1") == "json://hooks.example/…"
    assert display_target("tgram://123456:TOKEN/chat") == "tgram://…"  # a service's host is often its token


# --- the engine -----------------------------------------------------------------------------


def test_frost_fires_after_its_for_and_only_while_it_holds():
    eng = engine(rules(frost={"hold": 300}))
    # Cold for 299 s, a warm reading (clear: the pending time starts over), then cold for 300 s.
    events = run(eng, [(0, -1.0), (299, -1.0), (300, 5.0), (301, -1.0), (600, -1.0), (601, -1.0)])
    assert events == [(601, "firing", f"frost/{GARDEN.id}")]


def test_hysteresis_keeps_a_hovering_value_from_flapping():
    eng = engine(rules(frost={"hold": 0, "hysteresis": 0.5}))
    events = run(eng, [(0, 0.5), (1, 0.6), (2, 0.4), (3, 0.99), (4, 1.0), (5, 1.01), (6, 0.7)])
    # At 0.5 (at the threshold) it fires; up to 1.0 (threshold + hysteresis) it stays; past it it resolves.
    assert events == [(0, "firing", f"frost/{GARDEN.id}"), (5, "resolved", f"frost/{GARDEN.id}")]


def test_a_reading_without_a_value_leaves_a_value_alert_as_it_is():
    eng = engine(rules(frost={"hold": 0}, sensor_fault={"enabled": False}))
    assert run(eng, [(0, -1.0), (1, None), (2, None), (3, 5.0)]) == [
        (0, "firing", f"frost/{GARDEN.id}"), (3, "resolved", f"frost/{GARDEN.id}")]


def test_a_sensors_own_limits_and_a_rule_applies_only_where_the_limit_exists():
    eng = engine()
    hot = [(CPU, Reading(101.0)), (GARDEN, Reading(101.0))]
    events = [(e.state, e.alert.key, e.alert.limit) for e in eng.observe(0, hot)]
    assert events == [("firing", f"temperature_crit/{CPU.id}", 100.0)]  # the garden probe has no crit
    later = [(e.state, e.alert.key) for e in eng.observe(60, [(CPU, Reading(99.0))])]
    assert later == [("firing", f"temperature_max/{CPU.id}")]  # 99 >= max 80 held 60 s; crit 100-2 not yet clear
    assert [(e.state, e.alert.key) for e in eng.observe(61, [(CPU, Reading(97.9))])] == [
        ("resolved", f"temperature_crit/{CPU.id}")]


def test_sensor_fault_needs_five_minutes_of_fault_or_error():
    eng = engine()
    for now in range(0, 300, 30):
        assert eng.observe(now, [(FAN, Reading(None, FAULT))]) == []
    (event,) = eng.observe(300, [(FAN, Reading(None, FAULT))])
    assert (event.state, event.alert.summary) == ("firing", "fan1 reports a fault")
    (event,) = eng.observe(301, [(FAN, Reading(1200.0, OK))])
    assert (event.state, event.alert.summary) == ("resolved", "fan1 is back to normal (1200 RPM)")


def test_voltage_and_fan_alarms_are_off_until_asked_for():
    alarm = Reading(0.0, "alarm", alarms=("min_alarm",))
    assert engine().observe(1000, [(FAN, alarm)]) == []
    eng = engine(rules(fan_alarm={"enabled": True, "hold": 0}))
    assert [e.alert.key for e in eng.observe(0, [(FAN, alarm)])] == [f"fan_alarm/{FAN.id}"]


def test_stale_fires_for_a_sensor_without_a_new_value_and_for_one_that_vanished():
    stale = AlertRule("probe_stale", sensors=(), kinds=("temperature",), statuses=("stale",), stale_after=10)
    eng = engine([stale])
    assert eng.observe(0, [(GARDEN, Reading(3.0)), (CPU, Reading(40.0))]) == []
    assert eng.observe(9, [(GARDEN, Reading(None, ERROR, "EIO"))]) == []  # the CPU vanished too
    events = eng.observe(10, [(GARDEN, Reading(None, ERROR, "EIO"))])
    assert sorted((e.state, e.alert.key) for e in events) == [
        ("firing", f"probe_stale/{CPU.id}"), ("firing", f"probe_stale/{GARDEN.id}")]
    events = eng.observe(11, [(GARDEN, Reading(2.0)), (CPU, Reading(41.0))])
    assert sorted(e.state for e in events) == ["resolved", "resolved"]


def test_alerts_kept_from_before_a_restart_do_not_fire_again_and_orphans_resolve():
    first = engine(rules(frost={"hold": 0}))
    (fired,) = first.observe(0, [(GARDEN, Reading(-3.0))])
    orphan = replace(fired.alert, key="gone/x", rule="gone")
    second = engine(rules(frost={"hold": 0}), firing=[fired.alert, orphan])
    events = second.observe(100, [(GARDEN, Reading(-3.0))])
    assert [(e.state, e.alert.key) for e in events] == [("resolved", "gone/x")]  # its rule was removed
    assert second.firing[fired.alert.key].fired_at == 0


def test_a_rule_whose_sensors_match_nothing_now_is_a_warning(caplog):
    unplugged = AlertRule("shed", sensors=(compile_id_pattern("w1_slave_temp-virtual-9/*"),), below=0.0)
    engine([unplugged]).observe(0, [(GARDEN, Reading(1.0))])
    assert "alert rule shed: no sensor matches w1_slave_temp-virtual-9/* now" in caplog.text


# --- the journal ----------------------------------------------------------------------------


def fire_and_resolve(journal: AlertJournal) -> None:
    eng = engine(rules(frost={"hold": 0}))
    journal.record(7, eng.observe(0, [(GARDEN, Reading(-1.0))]))
    journal.record(8, eng.observe(1, [(GARDEN, Reading(-1.0))]))
    journal.record(9, eng.observe(2, [(GARDEN, Reading(4.0))]))


def test_the_journal_keeps_active_recent_and_numbered_events_for_the_readers(tmp_path):
    journal = AlertJournal.open(tmp_path, durable=True)
    eng = engine(rules(frost={"hold": 0}))
    journal.record(7, eng.observe(0, [(GARDEN, Reading(-1.0))]))
    view = decode((tmp_path / JOURNAL_FILE).read_bytes())
    assert [a.key for a in view.active] == [f"frost/{GARDEN.id}"]
    assert [(e.event, e.seq, e.state) for e in view.events] == [(1, 7, "firing")]
    assert view.events_of_samples(7, 7) == list(view.events) and view.events_of_samples(8, 9) == []
    journal.record(9, eng.observe(2, [(GARDEN, Reading(4.0))]))
    view = decode((tmp_path / JOURNAL_FILE).read_bytes())
    assert view.active == () and view.recent[0].resolved_at == 2
    assert [e.event for e in view.events_after(1)] == [2]
    assert view == journal.view()  # the readers get what the sampler wrote


def test_a_reopened_journal_keeps_its_alerts_and_unbinds_its_events_from_sample_numbers(tmp_path):
    journal = AlertJournal.open(tmp_path, durable=True)
    eng = engine(rules(frost={"hold": 0}))
    journal.record(7, eng.observe(0, [(GARDEN, Reading(-1.0))]))
    reopened = AlertJournal.open(tmp_path, durable=True)
    assert [a.key for a in reopened.firing()] == [f"frost/{GARDEN.id}"]
    assert [e.seq for e in reopened.events] == [0]  # sample numbers start over with the container
    assert reopened.next_event == 2


def test_an_unreadable_journal_is_moved_aside_and_a_new_one_begun(tmp_path, caplog):
    (tmp_path / JOURNAL_FILE).write_bytes(b"\x00garbage{")
    journal = AlertJournal.open(tmp_path, durable=True)
    assert journal.firing() == []
    (aside,) = tmp_path.glob(f"{JOURNAL_FILE}.corrupt-*")
    assert aside.read_bytes() == b"\x00garbage{"
    assert "moved aside" in caplog.text
    fire_and_resolve(journal)
    assert json.loads((tmp_path / JOURNAL_FILE).read_text())["next_event"] == 3


def test_a_journal_of_another_version_is_moved_aside_as_such(tmp_path, caplog):
    # A FrostServer put back to an older one: its journal is kept aside, not taken for garbage.
    (tmp_path / JOURNAL_FILE).write_bytes(b'{"version": 2, "alerts": []}')
    journal = AlertJournal.open(tmp_path, durable=True)
    assert journal.firing() == []
    (aside,) = tmp_path.glob(f"{JOURNAL_FILE}.version-*")
    assert aside.read_bytes() == b'{"version": 2, "alerts": []}'
    assert "the alerts journal has version 2, and this FrostServer reads version 1" in caplog.text


def test_a_journal_that_cannot_be_written_degrades_once_and_recovers_by_itself(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    journal = AlertJournal.open(tmp_path, durable=True)
    blocker = tmp_path / f".{JOURNAL_FILE}.{os.getpid()}.tmp"
    blocker.mkdir()  # where each write begins: every write fails, as on a full volume (even for root)
    fire_and_resolve(journal)
    assert journal.state() == "degraded" and not (tmp_path / JOURNAL_FILE).exists()
    assert caplog.text.count("cannot write") == 1  # one line, not one per change
    blocker.rmdir()
    journal.record(10, [], now=journal._retry_at - 1)  # not yet time to try again
    assert journal.state() == "degraded"
    journal.record(11, [], now=journal._retry_at)
    assert journal.state() == "ok" and "written again" in caplog.text
    assert json.loads((tmp_path / JOURNAL_FILE).read_text())["next_event"] == 3  # nothing lost


def test_a_reading_handed_back_unchanged_is_still_judged_while_an_alert_is_pending_or_its_sensor_changes():
    eng = engine(rules(frost={"hold": 300}))
    cold = Reading(-1.0)  # the reader hands back the same object while the value does not change
    assert [e for now in range(0, 300, 10) for e in eng.observe(now, [(GARDEN, cold)])] == []
    assert [e.state for e in eng.observe(300, [(GARDEN, cold)])] == ["firing"]
    hot = Reading(85.0)
    cooler = replace(CPU, thresholds={"max": 90.0, "crit": 100.0})
    assert eng.observe(0, [(cooler, hot)]) == [] and eng.observe(100, [(cooler, hot)]) == []  # judged quiet
    events = eng.observe(200, [(CPU, hot)]) + eng.observe(260, [(CPU, hot)])  # its max set back to 80
    assert [(e.state, e.alert.key) for e in events] == [("firing", f"temperature_max/{CPU.id}")]


# --- sampling_stopped: the one judge ---------------------------------------------------------------


def test_sampling_stopped_fires_once_the_newest_sample_is_older_than_for_and_three_intervals():
    rule = AlertRule("sampling_stopped", hold=120, severity="critical")
    assert judge(rule, newest=1000.0, interval=1.0, since=0.0, now=1119.9) is None
    alert = judge(rule, newest=1000.0, interval=1.0, since=0.0, now=1120.0)
    assert alert == Alert("sampling_stopped", "sampling_stopped", None, "Sampling", "critical",
                          "No sample for 2 min: sampling has stopped", value=120.0, limit=120.0, unit="s",
                          fired_at=1120.0)
    # A slow interval is no stop: never sooner than three intervals, whatever `for` says.
    assert judge(rule, newest=1000.0, interval=60.0, since=0.0, now=1170.0) is None
    assert judge(rule, newest=1000.0, interval=60.0, since=0.0, now=1180.0).fired_at == 1180.0
    # Before any sample: silent since the judge started.
    assert judge(rule, newest=None, interval=1.0, since=500.0, now=620.0).fired_at == 620.0
    assert resumed(alert, 1300.0) == replace(alert, summary="Sampling has resumed", resolved_at=1300.0)
