"""The alerts as the workers read them, for /api/v1/alerts (api.py), the stream and /metrics: from the journal.

The sampler judges the rules and keeps the journal (alerts/journal.py); the notifier counts what it
sends (alerts/notifier_status.py); sampling_stopped is judged from the age of the newest sample by
the one judge the notifier uses too (alerts/sampling_stopped.py). This module renders them: the
API's JSON and the stream's `alert` events are one alert document (alert_document).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..alerts.alert import Alert
from ..alerts.journal import JOURNAL_FILE, JournalView, decode_view, journal_directory
from ..alerts.notifier_status import NOTIFIER_FILE, NotifierStatus, decode_status
from ..alerts.sampling_stopped import SamplingJudge
from ..config import Settings
from ..config.alert_rules import SAMPLING_STOPPED
from ..config.alerts import AlertsConfig
from ..settings.live import LiveSettings
from ..store.files import DecodedFile
from ..store.reader import StoreReader
from .json_text import dumps


class AlertsReader:
    """A worker's view of the alerts: the journal, the notifier's counters, sampling_stopped."""

    def __init__(
        self,
        settings: Settings,
        store: StoreReader,
        clock: Callable[[], float] = time.time,
        live: LiveSettings | None = None,
    ):
        self._config: AlertsConfig = settings.alerts
        self.live = live  # the rules and targets in force, set in the browser too (None: settings' for good)
        directory = journal_directory(settings.history_dir, settings.run_dir)
        self.journal = DecodedFile(Path(directory) / JOURNAL_FILE, decode_view, JournalView())
        self.notifier_status = DecodedFile(settings.run_dir / NOTIFIER_FILE, decode_status, NotifierStatus())
        self.sampling = SamplingJudge(self._config.enabled_rules, store.header, clock)

    @property
    def config(self) -> AlertsConfig:
        """Return the [alerts] in force: the rules and targets, the browser's included."""
        return self.refresh()

    def refresh(self) -> AlertsConfig:
        """Take the [alerts] in force now (sampling_stopped's rule with it); return it."""
        if self.live is None:
            return self._config
        config = self.live.current().settings.alerts
        if config is not self._config:
            self._config = config
            self.sampling.rule = SamplingJudge(config.enabled_rules, self.sampling.header, self.sampling.clock).rule
        return config

    def sampling_stopped(self) -> Alert | None:
        """Return the sampling_stopped alert if it fires now (the newest sample is too old), else None."""
        self.refresh()  # the rule in force now
        return self.sampling.current()

    def document(self) -> dict[str, Any]:
        """Return the /api/v1/alerts document."""
        view = self.journal.current()
        active = list(view.active)
        stopped = self.sampling_stopped()
        if stopped is not None:
            active.append(stopped)
        status = self.notifier_status.current()
        return {
            "active": [alert_document(alert) for alert in active],
            "recent": [alert_document(alert) for alert in view.recent],
            "notifications": {"targets": len(self.config.targets), "unusable": status.unusable},
        }

    def firing_by_rule(self) -> dict[str, int]:
        """Return how many alerts of each enabled rule fire now."""
        counts = {rule.name: 0 for rule in self.config.enabled_rules}
        for alert in self.journal.current().active:
            counts[alert.rule] = counts.get(alert.rule, 0) + 1
        if SAMPLING_STOPPED in counts and self.sampling_stopped() is not None:
            counts[SAMPLING_STOPPED] = 1
        return counts


def alert_document(alert: Alert) -> dict[str, Any]:
    """Return an alert as the API and the stream show it (openapi.json, "Alert")."""
    return {
        "key": alert.key,
        "rule": alert.rule,
        "sensor": alert.sensor,
        "label": alert.label,
        "severity": alert.severity,
        "summary": alert.summary,
        "value": alert.value,
        "limit": alert.limit,
        "unit": alert.unit,
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
    }


def encode_alert_event(state: str, alert: Alert, seq: int | None) -> bytes:
    """Encode an alert event for the stream: with the id of the sample that raised it, if any."""
    data = dumps({**alert_document(alert), "state": state}, "the event stream's alerts")
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: alert\ndata: {data}\n\n".encode()


def stream_events(view: JournalView, first_seq: int, last_seq: int) -> list[bytes]:
    """Return the encoded alert events the samples first_seq..last_seq raised."""
    events = view.events_of_samples(first_seq, last_seq)
    return [encode_alert_event(entry.state, entry.alert, entry.seq) for entry in events]
