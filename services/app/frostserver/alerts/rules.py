"""Judge the device-wide alert rule, sampling_stopped, for the workers and the notifier alike.

What an alert rule is, and the built-in ones, are the configuration's (config/alert_rules.py); the
sampler's engine (engine.py) judges the rules about sensors. sampling_stopped cannot be judged by
the sampler, since a sampler that has stopped cannot say so: whoever reads the store judges it here.
"""

from __future__ import annotations

from ..config.alert_rules import AlertRule


def sampling_silence(
    rule: AlertRule, last_sample: float | None, interval: float, since: float, now: float
) -> float | None:
    """Return for how long sampling has been silent if that makes sampling_stopped fire, else None.

    last_sample: when the newest sample was taken (None: none yet, silent since `since`, when the
    judge started). Never less than three intervals, whatever `for` says: a slow interval is no stop.
    """
    silent_for = now - (since if last_sample is None else last_sample)
    return silent_for if silent_for >= max(rule.hold, 3 * interval) else None
