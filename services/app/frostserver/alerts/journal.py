"""alerts.json: the alerts firing, the recent ones, and the events the notifier and the stream send.

The sampler is its one writer (AlertJournal); the workers and the notifier read it (JournalView,
through store.files.DecodedFile). It lives in the history's directory (a volume), so an alert that
fired before a restart is still firing after it (no second "firing") and an event the notifier had
not sent yet is still sent (no lost "resolved"); without a history directory it lives in the run
directory and lasts as long as the container.

It changes only when an alert fires or resolves, so it is written whole, atomically and, on the
volume, with fsync: rare writes, each one durable. A write that fails (a full disk) keeps the
journal in memory, says so once, and is retried once a minute until it succeeds. A file that cannot
be read at start is moved aside (alerts.json.corrupt-<time>, or alerts.json.version-<time> for one
of another version: a FrostServer put back to an older one) and a new one begun.

The file (encode/decode: a JournalView, whose alerts are alert.Alert):

    {"version": 1,
     "active": [Alert, ...],                 oldest first
     "recent": [Alert, ...],                 the last 50 that fired, newest first
     "events": [{"event": 7, "seq": 1234, "state": "firing", "alert": Alert}, ...],
                                             the last 200, oldest first; seq: the sample that
                                             raised it (0: from an earlier run of the container)
     "next_event": 8}
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..codec import Damaged, Refused, UnknownVersion, decode_document, encode_document
from ..store.files import FileIdentity, write_atomically
from .alert import Alert, AlertEvent
from .messages import FIRING, RESOLVED

log = logging.getLogger(__name__)

JOURNAL_FILE = "alerts.json"
VERSION = 1
KEEP_EVENTS = 200
KEEP_RECENT = 50
RETRY_EVERY = 60.0  # s between attempts to write a journal that failed to be written
WHAT = "the alerts journal"


def journal_directory(history_dir: Path | None, run_dir: Path) -> Path:
    """Return where the journal lives: beside the history if there is one, else in the run directory."""
    return history_dir if history_dir is not None else run_dir


@dataclass(frozen=True)
class JournalEvent:
    """An alert that fired or resolved, numbered for the notifier's cursors and the stream's order."""

    event: int  # numbered from 1, never reused
    seq: int  # the sample that raised it (0: from an earlier run of the container)
    state: str  # FIRING or RESOLVED
    alert: Alert


@dataclass(frozen=True)
class JournalView:
    """The journal as its writer wrote it and every reader decodes it."""

    active: tuple[Alert, ...] = ()  # oldest first
    recent: tuple[Alert, ...] = ()  # newest first
    events: tuple[JournalEvent, ...] = ()  # oldest first
    next_event: int = 1

    def events_after(self, event: int) -> list[JournalEvent]:
        """Return the events numbered after `event`, oldest first."""
        return [entry for entry in self.events if entry.event > event]

    def events_of_samples(self, first_seq: int, last_seq: int) -> list[JournalEvent]:
        """Return the events raised by the samples first_seq..last_seq, oldest first."""
        return [entry for entry in self.events if first_seq <= entry.seq <= last_seq]


def encode(view: JournalView) -> bytes:
    """Return alerts.json's bytes."""
    return encode_document(VERSION, view)


def decode(data: bytes) -> JournalView:
    """Return the JournalView an alerts.json holds; raise codec.Refused for another version or a damaged file."""
    view: JournalView = decode_document(JournalView, data, VERSION, WHAT)
    for entry in view.events:
        if entry.state not in (FIRING, RESOLVED):
            raise Damaged(WHAT, f"event {entry.event}'s state is {entry.state!r}, neither {FIRING} nor {RESOLVED}")
    return view


def decode_view(_identity: FileIdentity | None, data: bytes) -> JournalView:
    """Decode the journal for its readers (store.files.DecodedFile)."""
    return decode(data)


@dataclass
class AlertJournal:
    """The sampler's side: keep the journal, write it when it changes (see the module's docstring)."""

    path: Path
    durable: bool  # fsync each write (on the history's volume); a tmpfs needs none
    active: dict[str, Alert] = field(default_factory=dict)
    recent: list[Alert] = field(default_factory=list)
    events: list[JournalEvent] = field(default_factory=list)
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
            self.events.append(JournalEvent(self.next_event, seq, event.state, alert))
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

    def view(self) -> JournalView:
        """Return the journal as its readers will decode it."""
        return JournalView(tuple(self.active.values()), tuple(self.recent), tuple(self.events), self.next_event)

    def _write(self, now: float) -> None:
        data = encode(self.view())
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
            view = decode(raw)
        except UnknownVersion as error:
            self._move_aside(error, "version")
            return
        except Refused as error:
            self._move_aside(error, "corrupt")
            return
        self.active = {alert.key: alert for alert in view.active}
        self.recent = list(view.recent)
        # Sample numbers start over with the container: these are no longer any sample's.
        self.events = [replace(entry, seq=0) for entry in view.events]
        self.next_event = view.next_event

    def _move_aside(self, error: Refused, why: str) -> None:
        aside = self.path.with_name(f"{self.path.name}.{why}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
        try:
            os.replace(self.path, aside)
        except OSError as move_error:
            log.error("%s: %s, and it cannot be moved aside (%s)", self.path, error, move_error)
            return
        log.error("%s: %s; moved aside as %s, starting a new one", self.path, error, aside.name)
