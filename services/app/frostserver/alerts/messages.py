"""Alerts in words: the one-line summaries the API shows and the notifications' titles and bodies.

Summaries are written in SI units (°C), as the API serves them; a notification for a device whose
[device] units is "fahrenheit" shows its temperatures in °F (in_units). A label is what a person
typed: it is written as it is, plain text in a plain-text message, and never converted.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..config.alert_rules import FROST_THRESHOLD, STALE, AlertRule
from ..units import CELSIUS_UNIT, FAHRENHEIT_UNIT, converts, fahrenheit
from .alert import Alert

FIRING, RESOLVED = "firing", "resolved"

STATUS_WORDS = {
    "alarm": "raises an alarm",
    "fault": "reports a fault",
    "error": "cannot be read",
    STALE: "has had no new reading",
}


def number(value: float | None, unit: str = "") -> str:
    """Show a value briefly: 2 decimals at most, with its unit."""
    if value is None:
        return "no value"
    text = f"{round(value, 2):g}"
    return f"{text} {unit}" if unit else text


def limit_words(rule: AlertRule, limit: float | None, unit: str) -> str:
    """Say what the limit of a value rule is: "the frost threshold (0.5 °C)", "its crit limit (100 °C)"."""
    name = rule.below if rule.below is not None else rule.above
    shown = number(limit, unit)
    if name == FROST_THRESHOLD:
        return f"the frost threshold ({shown})"
    if isinstance(name, str):
        return f"its {name} limit ({shown})"
    return shown


def firing_summary(
    rule: AlertRule, label: str, value: float | None, limit: float | None, unit: str, status: str
) -> str:
    """Say why an alert fires, in one line."""
    if rule.statuses:
        return f"{label} {STATUS_WORDS.get(status, status)}"
    side = "at or below" if rule.below is not None else "at or above"
    return f"{label} at {number(value, unit)}: {side} {limit_words(rule, limit, unit)}"


def resolved_summary(rule: AlertRule, label: str, value: float | None, limit: float | None, unit: str) -> str:
    """Say why an alert resolved, in one line."""
    if rule.statuses:
        return f"{label} is back to normal" + (f" ({number(value, unit)})" if value is not None else "")
    side = "above" if rule.below is not None else "below"
    return f"{label} back at {number(value, unit)}: {side} {limit_words(rule, limit, unit)}"


def sampling_stopped_summary(silent_for: float) -> str:
    """Say that sampling stopped, and for how long."""
    return f"No sample for {duration(silent_for)}: sampling has stopped"


def duration(seconds: float) -> str:
    """Show a duration briefly: "45 s", "3 min", "2 h 5 min"."""
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def in_units(alert: Alert, units: str) -> Alert:
    """Return the alert as a person reading `units` reads it: its summary's temperatures in °F when asked.

    Only the numbers this module wrote (the value and the limit, "21.5 °C") after the label are
    rewritten; the label stays as typed, even if it holds such a number.
    """
    if not converts(alert.unit, units):
        return alert
    label, summary = alert.label, alert.summary
    head, tail = (label, summary[len(label) :]) if label and summary.startswith(label) else ("", summary)
    texts = {
        number(v, CELSIUS_UNIT): number(fahrenheit(v), FAHRENHEIT_UNIT)
        for v in (alert.value, alert.limit)
        if v is not None
    }
    for celsius in sorted(texts, key=len, reverse=True):  # "21 °C" before "1 °C"
        tail = re.sub(rf"(?<![\d.-]){re.escape(celsius)}", texts[celsius], tail)
    return replace(alert, summary=head + tail)


def notification(state: str, alert: Alert, device_name: str, dashboard_url: str | None) -> tuple[str, str]:
    """Return a notification's title and body for an alert that fired or resolved (in_units first, if asked)."""
    label = alert.label or alert.rule
    word = "FIRING" if state == FIRING else "resolved"
    title = f"[{device_name}] {word}: {label}"
    lines = [alert.summary]
    lines.append(f"Rule: {alert.rule} ({alert.severity})")
    if alert.sensor:
        lines.append(f"Sensor: {alert.sensor}")
    lines.append(f"Device: {device_name}")
    if dashboard_url:
        lines.append(f"Dashboard: {dashboard_url}")
    return title, "\n".join(lines)
