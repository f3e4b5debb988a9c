"""An alert, as every process sees it: the sampler judges it (engine.py), the journal keeps it
(journal.py), the workers render it for the API and the stream, the notifier words it.

sampling_stopped is an Alert too, judged by whoever reads the store (sampling_stopped.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Alert:
    """One alert, as the journal keeps it and the API shows it (the API's JSON has these keys, in this order)."""

    key: str  # "<rule>/<sensor id>", or the rule alone for a device-wide alert
    rule: str
    sensor: str | None
    label: str
    severity: str
    summary: str
    value: float | None
    limit: float | None
    unit: str
    fired_at: float
    resolved_at: float | None = None
    # frost_expected: when the forecast said the frost threshold would be reached, as it fired.
    expected_at: float | None = None


@dataclass(frozen=True)
class AlertEvent:
    """An alert that fired or resolved at one sample."""

    state: str  # messages.FIRING or messages.RESOLVED
    alert: Alert
