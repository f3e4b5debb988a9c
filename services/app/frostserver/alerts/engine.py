"""Judge the alert rules on every sample: which alerts fire, which resolve.

Runs in the sampler, on the readings it has just taken (no extra sensor reads), so it must be
cheap at 1024 sensors: which rules apply to a sensor, and with which limit, is worked out once per
sensor (again only when its metadata changes), and a sensor that is fine and was fine costs a
comparison per rule that applies to it.

Per (rule, sensor): while the condition holds, the alert is pending; once it has held `hold`
seconds it fires. A value alert resolves when the value is back past its limit by `hysteresis`;
between the limit and that, nothing changes. A reading without a value (a fault, an error) leaves
a value alert as it is: the sensor_fault rule speaks for those. A sensor that vanishes keeps its
alerts as they are (the stale status tells of it, where a rule asks for it).

The forecast rule (frost_expected) is judged apart, after the others, on the forecasts the sampler
made of this sample (forecast/frost.py), for the few sensors that have one: it holds while the
forecast's frost comes within the lead time (or the value is at or below the threshold already),
and is clear once the trend projected over the lead time stays `hysteresis` above the threshold, or
while the sensor's own frost alert fires (that alert speaks then; a frost_expected alert firing
resolves, saying that frost came). A forecast without a trend (too little data, no value) changes
nothing.

Rules change while the sampler runs (settings set in the browser): reconfigure() takes the new
rules and keeps what it knows of every rule that did not change (its pending times, its alerts),
so an unchanged rule neither fires again nor starts its `for` over. A changed rule starts its
pending `for` over and keeps its firing alerts until its new condition clears them; a rule removed
or turned off resolves its alerts at the next sample.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ..config.alert_rules import FROST, FROST_THRESHOLD, STALE, AlertRule
from ..config.forecast import ForecastConfig
from ..model import FrostForecast, Reading, Sensor
from .alert import Alert, AlertEvent
from .messages import (
    FIRING,
    RESOLVED,
    expected_summary,
    firing_summary,
    no_longer_expected_summary,
    resolved_summary,
)

DEFAULT_LEAD_TIME = ForecastConfig().lead_time  # s; [forecast] lead_time's default, declared there once

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Check:
    """One rule as it applies to one sensor."""

    rule: AlertRule
    key: str
    sensor_id: str
    limit: float | None  # value rules: the number compared with; status rules: None
    below: bool  # a value rule on the low side (the rule's `below`)
    statuses: tuple[str, ...]  # the rule's, here for the hot loop


class AlertEngine:
    """Judge the enabled rules on each sample (see the module's docstring)."""

    def __init__(
        self,
        rules: Iterable[AlertRule],
        *,
        frost_threshold: float,
        interval: float,
        firing: Iterable[Alert] = (),
        lead_time: float = DEFAULT_LEAD_TIME,
    ):
        self.lead_time = lead_time
        self.interval = interval
        self.firing: dict[str, Alert] = {alert.key: alert for alert in firing}
        self._pending: dict[str, float] = {}  # key -> since when the condition holds
        self._last_value: dict[str, float] = {}  # sensor id -> when it last had a value (stale rules)
        self._matched: set[str] = set()  # rules that selected some sensor
        self._first = True
        self._recheck: set[str] = set()  # keys of alerts firing when their rule changed (reconfigure)
        self._set_rules(rules, frost_threshold)

    def _set_rules(self, rules: Iterable[AlertRule], frost_threshold: float) -> None:
        all_rules = tuple(rule for rule in rules if rule.enabled and not rule.device_wide)
        self.rules = tuple(rule for rule in all_rules if not rule.forecast)  # judged on each reading
        self.forecast_rules = tuple(rule for rule in all_rules if rule.forecast)  # judged on the forecasts
        self.frost_threshold = frost_threshold
        self._plans: dict[str, tuple[Sensor, tuple[_Check, ...]]] = {}  # sensor id -> its checks
        self._watches_stale = any(STALE in rule.statuses for rule in self.rules)
        self._by_name = {rule.name: rule for rule in all_rules}
        self._forecast_plans: dict[tuple[str, str], tuple[Sensor, bool]] = {}  # (rule, sensor id) -> selects
        # sensor id -> the (sensor, reading) last judged with nothing pending or firing for it: the
        # reader hands back the same Reading while a value does not change, and judging it again
        # would change nothing (no stale rule: staleness grows with time alone).
        self._settled: dict[str, tuple[Sensor, Reading]] = {}

    def reconfigure(self, rules: Iterable[AlertRule], frost_threshold: float, lead_time: float | None = None) -> None:
        """Judge with new rules from the next sample on, keeping the state of every rule that did not change."""
        old, old_threshold, old_lead_time = self._by_name, self.frost_threshold, self.lead_time
        self._set_rules(rules, frost_threshold)
        if lead_time is not None:
            self.lead_time = lead_time

        def unchanged(name: str) -> bool:
            rule, before = self._by_name.get(name), old.get(name)
            if rule is None or rule != before:
                return False
            if rule.forecast and self.lead_time != old_lead_time:
                return False
            uses_threshold = rule.forecast or FROST_THRESHOLD in (rule.above, rule.below)
            return not uses_threshold or frost_threshold == old_threshold

        for key in [key for key in self._pending if not unchanged(key.partition("/")[0])]:
            del self._pending[key]  # a changed rule's `for` starts over
        self._matched = {name for name in self._matched if name in self._by_name}
        # The next sample resolves the alerts of rules removed or turned off, and those of changed
        # rules that no longer apply to their sensor (its place, its kind, its limit gone).
        self._first = True
        self._recheck = {
            key for key, alert in self.firing.items() if alert.rule in self._by_name and not unchanged(alert.rule)
        }

    def observe(
        self,
        sampled_at: float,
        pairs: Iterable[tuple[Sensor, Reading]],
        forecasts: Mapping[str, FrostForecast] | None = None,
    ) -> list[AlertEvent]:
        """Judge one sample (and the frost forecasts made of it); return the alerts that fired or resolved with it."""
        events: list[AlertEvent] = []
        if self._first:
            events.extend(self._resolve_orphans(sampled_at))
        seen: set[str] = set()
        plans, pending, firing, settled = self._plans, self._pending, self.firing, self._settled
        forecasts = forecasts if forecasts and self.forecast_rules else {}
        forecast_pairs: list[tuple[Sensor, Reading, FrostForecast]] = []
        for sensor, reading in pairs:
            if sensor.ignored:
                continue
            if sensor.id in forecasts:
                forecast_pairs.append((sensor, reading, forecasts[sensor.id]))
            planned = plans.get(sensor.id)
            checks = planned[1] if planned is not None and planned[0] is sensor else self._checks(sensor)
            if not checks:
                continue
            if self._watches_stale:
                seen.add(sensor.id)
                if reading.value is not None or sensor.id not in self._last_value:
                    self._last_value[sensor.id] = sampled_at
            quiet = settled.get(sensor.id)
            if quiet is not None and quiet[1] is reading and quiet[0] is sensor and not self._watches_stale:
                continue
            value, busy = reading.value, False
            for check in checks:
                # The common case inline (1024 sensors, every sample): clear, and nothing pending.
                limit = check.limit
                if limit is not None and value is not None:
                    clear = value > limit if check.below else value < limit
                    if clear and check.key not in pending and check.key not in firing:
                        continue
                elif (
                    limit is None
                    and reading.status not in check.statuses
                    and not self._watches_stale
                    and check.key not in pending
                    and check.key not in firing
                ):
                    continue
                verdict = self._judge(check, reading, sampled_at)
                if verdict is not None:
                    self._settle(check, verdict, sensor, reading, sampled_at, events)
                busy = busy or check.key in pending or check.key in firing
            if busy:
                settled.pop(sensor.id, None)
            else:
                settled[sensor.id] = (sensor, reading)
        if self._watches_stale:
            self._judge_vanished(seen, sampled_at, events)
        if forecast_pairs:
            self._judge_forecasts(sampled_at, forecast_pairs, events)
        if self._recheck:
            events.extend(self._resolve_unplanned(sampled_at))
        if self._first:
            self._first = False
            self._warn_unmatched()
        return events

    # --- the parts --------------------------------------------------------------------------

    def _checks(self, sensor: Sensor) -> tuple[_Check, ...]:
        planned = self._plans.get(sensor.id)
        if planned is not None:
            known, checks = planned
            if known is sensor or (known == sensor and known.thresholds == sensor.thresholds):
                return checks
        checks = tuple(self._plan(sensor))
        self._plans[sensor.id] = (sensor, checks)
        return checks

    def _plan(self, sensor: Sensor) -> Iterable[_Check]:
        for rule in self.rules:
            if not rule.selects(sensor):
                continue
            self._matched.add(rule.name)
            key = f"{rule.name}/{sensor.id}"
            if rule.statuses:
                yield _Check(rule, key, sensor.id, None, False, rule.statuses)
                continue
            limit = self._limit(rule, sensor)
            if limit is not None:  # a sensor without that limit: the rule does not apply to it
                yield _Check(rule, key, sensor.id, limit, rule.below is not None, ())

    def _limit(self, rule: AlertRule, sensor: Sensor) -> float | None:
        name = rule.below if rule.below is not None else rule.above
        if name == FROST_THRESHOLD:
            return self.frost_threshold
        if isinstance(name, str):
            return sensor.thresholds.get(name)
        return name

    def _judge(self, check: _Check, reading: Reading, now: float) -> bool | None:
        """Tell whether the condition holds (True), is clear (False), or neither (None: keep)."""
        rule = check.rule
        if check.limit is None:
            if reading.status in rule.statuses:
                return True
            return STALE in rule.statuses and self._stale(rule, check.sensor_id, now)
        value = reading.value
        if value is None:
            return None
        limit, firing = check.limit, check.key in self.firing
        if rule.below is not None:
            if value <= limit:
                return True
            return None if firing and value <= limit + rule.hysteresis else False
        if value >= limit:
            return True
        return None if firing and value >= limit - rule.hysteresis else False

    def _stale(self, rule: AlertRule, sensor_id: str, now: float) -> bool:
        last = self._last_value.get(sensor_id)
        return last is not None and now - last >= rule.stale_after * self.interval

    def _settle(
        self,
        check: _Check,
        holds: bool,
        sensor: Sensor,
        reading: Reading,
        now: float,
        events: list[AlertEvent],
        forecast: FrostForecast | None = None,
        frost_came: bool = False,
    ) -> None:
        key, rule = check.key, check.rule
        firing = self.firing.get(key)
        if holds:
            if firing is not None:
                return
            since = self._pending.setdefault(key, now)
            if now - since < rule.hold:
                return
            del self._pending[key]
            status = STALE if reading.status not in rule.statuses and rule.statuses else reading.status
            if rule.forecast and forecast is not None:
                summary = expected_summary(sensor.label, forecast, now, reading.value, sensor.unit)
            else:
                summary = firing_summary(rule, sensor.label, reading.value, check.limit, sensor.unit, status)
            alert = Alert(
                key=key,
                rule=rule.name,
                sensor=sensor.id,
                label=sensor.label,
                severity=rule.severity,
                summary=summary,
                value=reading.value,
                limit=check.limit,
                unit=sensor.unit,
                fired_at=now,
                expected_at=None if forecast is None else forecast.eta,
            )
            self.firing[key] = alert
            events.append(AlertEvent(FIRING, alert))
            return
        self._pending.pop(key, None)
        if firing is not None:
            del self.firing[key]
            if rule.forecast:
                summary = no_longer_expected_summary(
                    sensor.label, forecast, reading.value, sensor.unit, self.lead_time, frost_came
                )
            else:
                summary = resolved_summary(rule, sensor.label, reading.value, check.limit, sensor.unit)
            resolved = replace(firing, summary=summary, value=reading.value, resolved_at=now)
            events.append(AlertEvent(RESOLVED, resolved))

    def _judge_forecasts(
        self, now: float, found: list[tuple[Sensor, Reading, FrostForecast]], events: list[AlertEvent]
    ) -> None:
        """Judge the forecast rules on the sensors with a forecast (see the module's docstring)."""
        for rule in self.forecast_rules:
            for sensor, reading, forecast in found:
                plan_key = (rule.name, sensor.id)
                planned = self._forecast_plans.get(plan_key)
                if planned is None or planned[0] is not sensor:
                    planned = self._forecast_plans[plan_key] = (sensor, rule.selects(sensor))
                    if planned[1]:
                        self._matched.add(rule.name)
                if not planned[1]:
                    continue
                check = _Check(rule, f"{rule.name}/{sensor.id}", sensor.id, self.frost_threshold, True, ())
                frost_came = f"{FROST}/{sensor.id}" in self.firing
                firing = check.key in self.firing
                verdict = False if frost_came else self._expects_frost(rule, reading, forecast, now, firing)
                if verdict is not None:
                    self._settle(check, verdict, sensor, reading, now, events, forecast, frost_came)

    def _expects_frost(
        self, rule: AlertRule, reading: Reading, forecast: FrostForecast, now: float, firing: bool
    ) -> bool | None:
        """Tell whether a forecast expects frost within the lead time (True), not (False), or neither (None: keep)."""
        threshold = self.frost_threshold
        if reading.value is not None and reading.value <= threshold:
            return True
        if forecast.eta is not None and forecast.eta - now <= self.lead_time:
            return True
        projected = forecast.projected(now + self.lead_time)
        if projected is None:
            return None  # no trend: too little data, or no value
        # Firing, it resolves only once the projection is `hysteresis` above the threshold.
        return None if firing and projected <= threshold + rule.hysteresis else False

    def _judge_vanished(self, seen: set[str], now: float, events: list[AlertEvent]) -> None:
        """Judge the stale rules for sensors that were in earlier samples and are not in this one."""
        for sensor_id in [sid for sid in self._last_value if sid not in seen]:
            planned = self._plans.get(sensor_id)
            if planned is None:
                continue
            sensor, checks = planned
            gone = Reading(None, status=STALE, error="no longer read")
            for check in checks:
                if STALE in check.rule.statuses:
                    self._settle(check, self._stale(check.rule, sensor_id, now), sensor, gone, now, events)

    def _resolve_orphans(self, now: float) -> list[AlertEvent]:
        """Resolve alerts kept from an earlier run whose rule is gone or turned off."""
        events = []
        for key, alert in list(self.firing.items()):
            if alert.rule not in self._by_name:
                del self.firing[key]
                summary = f"{alert.label}: rule {alert.rule!r} was removed or turned off"
                events.append(AlertEvent(RESOLVED, replace(alert, summary=summary, resolved_at=now)))
        return events

    def _resolve_unplanned(self, now: float) -> list[AlertEvent]:
        """Resolve the alerts of changed rules that no sensor's checks hold any longer (judged once, after a change)."""
        planned = {check.key for _, checks in self._plans.values() for check in checks}
        events = []
        for key in self._recheck:
            alert = self.firing.get(key)
            if alert is not None and key not in planned and alert.sensor in self._plans:
                del self.firing[key]
                summary = f"{alert.label}: rule {alert.rule!r} no longer applies to it"
                events.append(AlertEvent(RESOLVED, replace(alert, summary=summary, resolved_at=now)))
        self._recheck = set()
        return events

    def _warn_unmatched(self) -> None:
        """Warn, once, of rules that name sensors none of which exists now (a probe unplugged?)."""
        for rule in self.rules:
            if rule.sensors and rule.name not in self._matched:
                globs = ", ".join(pattern.glob for pattern in rule.sensors)
                log.warning("alert rule %s: no sensor matches %s now; it applies when one appears", rule.name, globs)
