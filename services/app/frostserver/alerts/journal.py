"""alerts.json: the alerts firing, the recent ones, and the events the notifier and the stream send.

The sampler is its one writer (AlertJournal); the workers and the notifier read it (JournalView,
through store.files.DecodedFile). It lives in the history's directory (a volume), so an alert that
fired before a restart is still firing after it (no second "firing") and an event the notifier had
not sent yet is still sent (no lost "resolved"); without a history directory it lives in the run
directory and lasts as long as the container.

It changes only when an alert fires or resolves, so it is written whole, atomically and, on the
volume, with fsync: rare writes, each one durable. A write that fails (a full disk) keeps the
journal in memory, says so once, and is retried once a minute until it succeeds. A file that cannot
be read at start is moved aside (alerts.json.corrupt-<time>) and a new one begun.

    {"version": 1, "next_event": 8,
     "active": [Alert, ...],                 oldest first
     "recent": [Alert, ...],                 the last 50 that fired, newest first
     "events": [{"event": 7, "seq": 1234, "state": "firing", "alert": Alert}, ...]}
                                             the last 200, oldest first; seq: the sample that
                                             raised it (0: from an earlier run of the container)
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..store.files import write_atomically
from .engine import Alert, AlertEvent

log = logging.getLogger(__name__)

JOURNAL_FILE = "alerts.json"
VERSION = 1
KEEP_EVENTS = 200
KEEP_RECENT = 50
RETRY_EVERY = 60.0  # s between attempts to write a journal that failed to be written
ALERT_FIELDS = tuple(f.name for f in fields(Alert))


def journal_directory(history_dir: Path | None, run_dir: Path) -> Path:
    """Return where the journal lives: beside the history if there is one, else in the run directory."""
    return history_dir if history_dir is not None else run_dir


def alert_from(document: Any) -> Alert | None:
    """Return the Alert a journal entry describes, or None if it is not one."""
    if not isinstance(document, dict):
        return None
    try:
        return Alert(**{name: document[name] for name in ALERT_FIELDS if name in document})
    except TypeError:
        return None


@dataclass(frozen=True)
class JournalView:
    """The journal as a reader sees it: plain documents, ready to render."""

    active: tuple[dict[str, Any], ...] = ()
    recent: tuple[dict[str, Any], ...] = ()
    events: tuple[dict[str, Any], ...] = ()
    next_event: int = 1

    def events_after(self, event: int) -> list[dict[str, Any]]:
        """Return the events numbered after `event`, oldest first."""
        return [entry for entry in self.events if entry["event"] > event]

    def events_of_samples(self, first_seq: int, last_seq: int) -> list[dict[str, Any]]:
        """Return the events raised by the samples first_seq..last_seq, oldest first."""
        return [entry for entry in self.events if first_seq <= entry["seq"] <= last_seq]


def decode_view(_identity: object, document: Any) -> JournalView:
    """Turn the journal's JSON into a JournalView (for store.files.DecodedFile)."""
    if not isinstance(document, dict) or document.get("version") != VERSION:
        return JournalView()
    events = tuple(
        entry
        for entry in document.get("events", ())
        if isinstance(entry, dict) and isinstance(entry.get("event"), int) and isinstance(entry.get("seq"), int)
    )
    return JournalView(
        active=tuple(entry for entry in document.get("active", ()) if isinstance(entry, dict)),
        recent=tuple(entry for entry in document.get("recent", ()) if isinstance(entry, dict)),
        events=events,
        next_event=int(document.get("next_event", 1)),
    )


@dataclass
class AlertJournal:
    """The sampler's side: keep the journal, write it when it changes (see the module's docstring)."""

    path: Path
    durable: bool  # fsync each write (on the history's volume); a tmpfs needs none
    active: dict[str, Alert] = field(default_factory=dict)
    recent: list[Alert] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    next_event: int = 1
    failing: bool = False  # the last write failed; retried every RETRY_EVERY s
    _retry_at: float = 0.0

    @classmethod
    def open(cls, directory: Path, *, durable: bool) -> AlertJournal:
        """Load the journal in directory, or begin one (moving an unreadable file aside)."""
        journal = cls(Path(directory) / JOURNAL_FILE, durable)
        journal._load()
        return journal

    def firing(self) -> list[Alert]:
        """Return the alerts firing, oldest first."""
        return list(self.active.values())

    def record(self, seq: int, events: Iterable[AlertEvent], now: float | None = None) -> None:
        """Add the events the sample `seq` raised, and write the journal if anything changed."""
        now = time.monotonic() if now is None else now
        changed = False
        for event in events:
            changed = True
            alert = event.alert
            if event.state == "firing":
                self.active[alert.key] = alert
                self.recent.insert(0, alert)
            else:
                self.active.pop(alert.key, None)
                self.recent = [
                    alert if kept.key == alert.key and kept.resolved_at is None else kept for kept in self.recent
                ]
            self.events.append({"event": self.next_event, "seq": seq, "state": event.state, "alert": asdict(alert)})
            self.next_event += 1
        if changed:
            del self.recent[KEEP_RECENT:]
            del self.events[:-KEEP_EVENTS]
        if changed or (self.failing and now >= self._retry_at):
            self._write(now)

    def state(self) -> str:
        """Return "ok", or "degraded" while the journal cannot be written."""
        return "degraded" if self.failing else "ok"

    # --- the file ---------------------------------------------------------------------------

    def _document(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "next_event": self.next_event,
            "active": [asdict(alert) for alert in self.active.values()],
            "recent": [asdict(alert) for alert in self.recent],
            "events": self.events,
        }

    def _write(self, now: float) -> None:
        data = json.dumps(self._document(), separators=(",", ":"), ensure_ascii=False).encode()
        try:
            write_atomically(self.path, data, durable=self.durable)
        except OSError as error:
            if not self.failing:
                log.error(
                    "cannot write %s (%s): alerts are kept in memory and written when it works again",
                    self.path,
                    error.strerror or error,
                )
            self.failing, self._retry_at = True, now + RETRY_EVERY
            return
        if self.failing:
            log.info("%s is written again", self.path)
        self.failing = False

    def _load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as error:
            log.error("cannot read %s (%s): starting without the alerts it held", self.path, error.strerror or error)
            return
        try:
            document = json.loads(raw)
            if not isinstance(document, dict) or document.get("version") != VERSION:
                raise ValueError(f"not a version {VERSION} alerts journal")
            active = [alert_from(entry) for entry in document["active"]]
            recent = [alert_from(entry) for entry in document["recent"]]
            events = [entry for entry in document["events"] if isinstance(entry, dict)]
            next_event = int(document["next_event"])
        except (ValueError, KeyError, TypeError) as error:
            self._move_aside(error)
            return
        self.active = {alert.key: alert for alert in active if alert is not None}
        self.recent = [alert for alert in recent if alert is not None]
        # Sample numbers start over with the container: these are no longer any sample's.
        self.events = [{**entry, "seq": 0} for entry in events]
        self.next_event = next_event

    def _move_aside(self, error: Exception) -> None:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
        try:
            os.replace(self.path, aside)
        except OSError as move_error:
            log.error("%s is unreadable (%s) and cannot be moved aside (%s)", self.path, error, move_error)
            return
        log.error("%s is unreadable (%s): moved aside as %s, starting a new one", self.path, error, aside.name)
