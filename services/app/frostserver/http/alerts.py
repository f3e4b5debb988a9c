"""The alerts as the workers read them, for /api/v1/alerts (api.py), the stream and /metrics: from the journal.

The sampler judges the rules and keeps the journal (alerts/journal.py); the notifier counts what it
sends (alerts/notifier_status.py). One alert is judged here instead: sampling_stopped, from the age
of the newest sample, since a sampler that has stopped cannot say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..alerts.journal import JOURNAL_FILE, JournalView, decode_view, journal_directory
from ..alerts.messages import FIRING, RESOLVED, sampling_stopped_summary
from ..alerts.notifier_status import NOTIFIER_FILE, NotifierStatus, decode_status
from ..alerts.rules import sampling_silence
from ..config import Settings
from ..config.alert_rules import SAMPLING_STOPPED
from ..config.alerts import AlertsConfig
from ..store.files import DecodedFile
from ..store.reader import StoreReader
from .json_text import dumps


class AlertsReader:
    """A worker's view of the alerts: the journal, the notifier's counters, sampling_stopped."""

    def __init__(self, settings: Settings, store: StoreReader, clock: Callable[[], float] = time.time):
        self.config: AlertsConfig = settings.alerts
        self.store = store
        self.clock = clock
        directory = journal_directory(settings.history_dir, settings.run_dir)
        self.journal = DecodedFile(Path(directory) / JOURNAL_FILE, decode_view, JournalView())
        self.notifier = DecodedFile(settings.run_dir / NOTIFIER_FILE, decode_status, NotifierStatus())
        self.stopped_rule = next((rule for rule in self.config.enabled_rules if rule.name == SAMPLING_STOPPED), None)
        self.started = clock()  # before any sample: sampling counts as stopped from here

    def sampling_stopped(self) -> dict[str, Any] | None:
        """Return the sampling_stopped alert if it fires now (the newest sample is too old), else None."""
        rule = self.stopped_rule
        if rule is None:
            return None
        header = self.store.header()
        last = header.last_timestamp if header is not None and header.seq else None
        silent_for = sampling_silence(rule, last, header.interval if header else 1.0, self.started, self.clock())
        if silent_for is None:
            return None
        return {
            "key": SAMPLING_STOPPED,
            "rule": SAMPLING_STOPPED,
            "sensor": None,
            "label": "Sampling",
            "severity": rule.severity,
            "summary": sampling_stopped_summary(silent_for),
            "value": round(silent_for, 1),
            "limit": rule.hold,
            "unit": "s",
            "fired_at": (self.started if last is None else last) + rule.hold,
            "resolved_at": None,
        }

    def document(self) -> dict[str, Any]:
        """Return the /api/v1/alerts document."""
        view = self.journal.current()
        active = list(view.active)
        stopped = self.sampling_stopped()
        if stopped is not None:
            active.append(stopped)
        status = self.notifier.current()
        return {
            "active": active,
            "recent": list(view.recent),
            "notifications": {"targets": len(self.config.targets), "unusable": status.unusable},
        }

    def firing_by_rule(self) -> dict[str, int]:
        """Return how many alerts of each enabled rule fire now."""
        counts = {rule.name: 0 for rule in self.config.enabled_rules}
        for alert in self.journal.current().active:
            rule = alert.get("rule")
            if isinstance(rule, str):
                counts[rule] = counts.get(rule, 0) + 1
        if SAMPLING_STOPPED in counts and self.sampling_stopped() is not None:
            counts[SAMPLING_STOPPED] = 1
        return counts


def encode_alert_event(state: str, alert: dict[str, Any], seq: int | None) -> bytes:
    """Encode an alert event for the stream: with the id of the sample that raised it, if any."""
    data = dumps({**alert, "state": state}, "the event stream's alerts")
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: alert\ndata: {data}\n\n".encode()


def stream_events(view: JournalView, first_seq: int, last_seq: int) -> list[bytes]:
    """Return the encoded alert events the samples first_seq..last_seq raised."""
    return [
        encode_alert_event(entry["state"], entry["alert"], entry["seq"])
        for entry in view.events_of_samples(first_seq, last_seq)
        if entry.get("state") in (FIRING, RESOLVED) and isinstance(entry.get("alert"), dict)
    ]
