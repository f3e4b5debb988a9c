"""The one judge of the device-wide alert rule sampling_stopped, for the API, the stream and the notifier.

What an alert rule is, and the built-in ones, are the configuration's (config/alert_rules.py); the
sampler's engine (engine.py) judges the rules about sensors. sampling_stopped cannot be judged by
the sampler, since a sampler that has stopped cannot say so: whoever reads the store judges it
here, from the newest sample's time, and gets the same Alert: /api/v1/alerts and /metrics
(http/alerts.py), the event stream (http/stream.py) and the notifier (notifier.py) only render it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from ..config.alert_rules import SAMPLING_STOPPED, AlertRule
from ..store.ring import Header
from .alert import Alert
from .messages import sampling_stopped_summary

RESUMED = "Sampling has resumed"  # the summary of the alert once a sample came again
STOPPED_AFTER_INTERVALS = 3  # never judged stopped sooner, whatever `for` says: a slow interval is no stop


def judge(rule: AlertRule, newest: float | None, interval: float, since: float, now: float) -> Alert | None:
    """Return the sampling_stopped alert if it fires at `now`, else None.

    newest: when the newest sample was taken (None: none yet, so silent since `since`, when the
    judge started); interval: the sampling interval.
    """
    silent_since = since if newest is None else newest
    after = max(rule.hold, STOPPED_AFTER_INTERVALS * interval)
    silent_for = now - silent_since
    if silent_for < after:
        return None
    return Alert(
        key=SAMPLING_STOPPED,
        rule=SAMPLING_STOPPED,
        sensor=None,
        label="Sampling",
        severity=rule.severity,
        summary=sampling_stopped_summary(silent_for),
        value=round(silent_for, 1),
        limit=after,
        unit="s",
        fired_at=silent_since + after,
    )


def resumed(alert: Alert, now: float) -> Alert:
    """Return the sampling_stopped alert resolved at `now`: a sample came again."""
    return replace(alert, summary=RESUMED, resolved_at=now)


class SamplingJudge:
    """Judge sampling_stopped for one reader of the store: the rule if enabled, the ring's header, a clock."""

    def __init__(self, rules: Iterable[AlertRule], header: Callable[[], Header | None], clock: Callable[[], float]):
        self.rule = next((rule for rule in rules if rule.name == SAMPLING_STOPPED and rule.enabled), None)
        self.header = header
        self.clock = clock
        self.since = clock()  # before any sample: sampling counts as stopped from here

    def current(self) -> Alert | None:
        """Return the sampling_stopped alert if it fires now (the newest sample is too old), else None."""
        if self.rule is None:
            return None
        header = self.header()
        newest = header.last_timestamp if header is not None and header.seq else None
        return judge(self.rule, newest, header.interval if header is not None else 1.0, self.since, self.clock())
