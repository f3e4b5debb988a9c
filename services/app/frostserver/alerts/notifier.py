"""The notifier process: the one place that sends notifications (`python -m frostserver.alerts.notifier`).

The supervisor runs it beside the sampler and Gunicorn. It follows the settings (settings/live.py:
the config file's [alerts] notify, and the targets, device name and display units set in the
browser), so a target added in the browser is sent the next event, a removed one is sent nothing
more, and texts are in °F on a device set to show °F; with no target at all it waits, idle, for
one (a look at settings.db a second, no Apprise loaded). It reads the events the
sampler writes to the journal (alerts/journal.py) and sends each to every target with Apprise, off
the sampling path: a target that hangs or fails delays nothing but its own next message. Each
attempt runs in a child process (alerts/send.py) killed at its deadline: Apprise is loaded only
while a message is being sent, not carried all day.

- Each target has a thread and a cursor (the last journal event it was sent, or gave up on), kept
  in `notified.json` beside the journal (Cursors, encode_cursors/decode_cursors): after a restart,
  nothing is sent twice and nothing the journal still holds is lost. A target new to the file
  starts with the events of the last hour.
- A failed attempt (an error, an answer that is not a success, no answer in ATTEMPT_TIMEOUT s) is
  tried again after a pause that doubles from RETRY_FIRST up to RETRY_LONGEST; after MAX_ATTEMPTS
  the message is dropped, so one dead target cannot hold its later messages back for ever.
- It also tells when sampling has stopped, which the sampler cannot tell of itself, and when it
  resumes: the alert the one judge of sampling_stopped (sampling_stopped.py) returns, as the API
  and the stream show it.
- Notification URLs carry secrets: logs name a target by display_target() (its scheme, and the
  host of a plain webhook), and Apprise's own messages are scrubbed of the URL's parts (send.scrub).
- `--test` sends one test message to every target and prints each result (`make notify-test`).
- A target added while it runs starts with the next event (not the last hour's, as one new to the
  file at start does: the person who added it is looking at the dashboard).

Its counters go to notifier.json in the run directory (alerts/notifier_status.py) for /metrics.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..codec import Refused, UnknownVersion, decode_document, encode_document, from_plain
from ..config import Settings, SettingsError, load_settings
from ..config.alerts import AlertsConfig, display_target
from ..logs import configure_logging
from ..settings.live import LiveSettings
from ..store.files import DecodedFile, Refusals, read_bytes, write_atomically
from ..store.reader import StoreReader
from ..supervisor import EXIT_CONFIG
from . import notifier_status
from .alert import Alert
from .journal import JOURNAL_FILE, JournalEvent, JournalView, decode_view, journal_directory
from .messages import FIRING, RESOLVED, in_units, notification
from .notifier_status import NOTIFIER_FILE, NotifierStatus
from .sampling_stopped import SamplingJudge, resumed
from .send import Message, Sender, apprise_sender, attempt_with_deadline, child_sender, child_usable

log = logging.getLogger("frostserver.notifier")  # not __name__: run as __main__

CURSOR_FILE = "notified.json"
POLL = 1.0  # s between looks at the journal and the newest sample
ATTEMPT_TIMEOUT = 30.0  # s one attempt may take, whatever the service (Apprise's own are shorter)
RETRY_FIRST, RETRY_LONGEST = 5.0, 300.0  # s
MAX_ATTEMPTS = 8  # 5 + 10 + ... + 300 s: about a quarter of an hour of trying
NEW_TARGET_LOOKBACK = 3600.0  # s of journal events a target new to the cursor file is sent
CURSORS_VERSION = 1
CURSORS = "the notifier's cursors"
STOP_WAIT = 5.0  # s for the targets to end their attempts once stopping (the supervisor's STOP_WAIT is 8 s)


def fingerprint(url: str) -> str:
    """Name a target in the cursor file without writing its secret there."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cursors:
    """notified.json: how far each target was sent, and the sampling_stopped alert told, until its end is told.

    {"version": 1, "targets": {<fingerprint>: <event>, ...}, "sampling_stopped": Alert | null}
    """

    targets: dict[str, int] = field(default_factory=dict)  # by fingerprint(url): the last event sent or given up
    sampling_stopped: Alert | None = None


@dataclass(frozen=True)
class _CursorsBeforeVersions:
    """notified.json as FrostServer wrote it before its files had versions (kept on the history volume)."""

    targets: dict[str, int]


def encode_cursors(cursors: Cursors) -> bytes:
    """Return notified.json's bytes."""
    return encode_document(CURSORS_VERSION, cursors)


def decode_cursors(data: bytes) -> Cursors:
    """Return the Cursors a notified.json holds; raise codec.Refused for another version or a damaged file."""
    try:
        cursors: Cursors = decode_document(Cursors, data, CURSORS_VERSION, CURSORS)
    except UnknownVersion as error:
        if error.found is not None:
            raise
        # Written before versions, on a volume that outlives the image: its cursors still hold (no
        # event sent twice). Its sampling_stopped was a time, not an alert: the upgrade restarted the sampler.
        old = from_plain(_CursorsBeforeVersions, json.loads(data), CURSORS)
        return Cursors(old.targets)
    return cursors


class Target(threading.Thread):
    """One target: its queue of messages, sent in order, each retried with back-off."""

    def __init__(self, url: str, send: Sender, notifier: Notifier):
        super().__init__(name=f"frost-notify-{display_target(url)}", daemon=True)
        self.url, self.shown, self.send, self.notifier = url, display_target(url), send, notifier
        self.queue: collections.deque[Message] = collections.deque()
        self.wake = threading.Event()
        self.halt = threading.Event()  # the notifier stops, or this target was removed in the browser

    def retire(self) -> None:
        """Stop after the attempt under way: the target was removed."""
        self.halt.set()
        self.wake.set()

    def put(self, message: Message) -> None:
        self.queue.append(message)
        self.wake.set()

    def run(self) -> None:
        stopping = self.halt
        while not stopping.is_set():
            if not self.queue:
                self.wake.wait(POLL)
                self.wake.clear()
                continue
            message = self.queue[0]
            if not self._deliver(message):
                return  # stopped before it was sent: the cursor stays before it, a restart sends it
            self.queue.popleft()
            if message.event is not None:
                self.notifier.delivered(self.url, message.event)

    def _deliver(self, message: Message) -> bool:
        """Send a message, retrying with back-off; False if stopped before it was sent or given up on."""
        pause = RETRY_FIRST
        for attempt in range(1, MAX_ATTEMPTS + 1):
            problem = self.send(self.url, message)  # bounded by the sender (the child's deadline)
            if problem is None:
                self.notifier.count("sent")
                log.info("sent %s %r to %s", message.state, message.title, self.shown)
                return True
            if attempt == MAX_ATTEMPTS:
                self.notifier.count("dropped")
                log.error("gave up sending %r to %s after %d attempts: %s", message.title, self.shown, attempt, problem)
                return True
            self.notifier.count("failed")
            log.warning(
                "sending %r to %s failed (attempt %d of %d: %s); next try in %g s",
                message.title, self.shown, attempt, MAX_ATTEMPTS, problem, pause,
            )  # fmt: skip
            if self.halt.wait(pause):
                return False
            pause = min(pause * 2, RETRY_LONGEST)
        return True  # not reached: the last attempt returns above


class Notifier:
    """Follow the journal and the newest sample; hand each message to every target (see the module)."""

    def __init__(
        self,
        settings: Settings,
        send: Sender,
        clock: Callable[[], float] = time.time,
        live: LiveSettings | None = None,
    ):
        self.config: AlertsConfig = settings.alerts
        self.units = settings.device.units
        self.live = live  # the targets, name and units in force (None: settings', for good)
        self.send = send
        self.clock = clock
        directory = Path(journal_directory(settings.history_dir, settings.run_dir))
        self.journal = DecodedFile(directory / JOURNAL_FILE, decode_view, JournalView())
        self.cursor_path = directory / CURSOR_FILE
        self.status_path = settings.run_dir / NOTIFIER_FILE
        self.store = StoreReader(settings.run_dir)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.counters = NotifierStatus(targets=len(self.config.targets))
        self.sampling = SamplingJudge(self.config.enabled_rules, self.store.header, clock)
        saved = self._read_cursors()
        self.cursors: dict[str, int] = dict(saved.targets)
        self.stopped: Alert | None = saved.sampling_stopped  # the sampling_stopped alert told, until its end is
        self.targets = [Target(url, send, self) for url in self.config.targets]
        self.queued: dict[str, int] = {}

    def run(self) -> None:
        """Send until stopping is set."""
        self._start_cursors()
        self._write_status()
        for target in self.targets:
            target.start()
        self.queued = {target.url: self.cursors[fingerprint(target.url)] for target in self.targets}
        queued = self.queued
        while not self.stopping.is_set():
            self.follow_settings()
            view = self.journal.current()
            for target in self.targets:
                for entry in view.events_after(queued[target.url]):
                    target.put(self._message(entry))
                    queued[target.url] = entry.event
            self.watch_sampling()
            self.stopping.wait(POLL)
        # Let each target end the attempt it is in and move its cursor past what it sent: a
        # message sent but not recorded would be sent again after a restart. Bounded, inside the
        # supervisor's wait after SIGTERM; an attempt still running then may be sent twice.
        deadline = time.monotonic() + STOP_WAIT
        for target in self.targets:
            target.retire()
        for target in self.targets:
            target.join(max(0.0, deadline - time.monotonic()))

    def follow_settings(self) -> None:
        """Take the targets, device name and units in force now; start and retire targets to match."""
        if self.live is None:
            return
        settings = self.live.current().settings
        config, self.units = settings.alerts, settings.device.units
        if config is self.config:
            return
        self.config = config
        self.sampling.rule = SamplingJudge(config.enabled_rules, self.store.header, self.clock).rule
        wanted, known = list(config.targets), {target.url: target for target in self.targets}
        for target in [target for url, target in known.items() if url not in wanted]:
            target.retire()
            log.info("notification target %s removed: nothing more is sent to it", target.shown)
        added = [url for url in wanted if url not in known]
        self.targets = [known[url] if url in known else Target(url, self.send, self) for url in wanted]
        if added:
            start = self.journal.current().next_event - 1  # from the next event on
            with self.lock:
                for url in added:
                    self.cursors[fingerprint(url)] = start
                self._write_cursors()
            for target in self.targets:
                if target.url in added:
                    self.queued[target.url] = start
                    target.start()
            log.info("notification targets added: %s", ", ".join(display_target(url) for url in added))
        with self.lock:
            self.counters.targets = len(self.targets)
            self._write_status()

    def delivered(self, url: str, event: int) -> None:
        """Move a target's cursor past an event it was sent (or gave up on)."""
        with self.lock:
            self.cursors[fingerprint(url)] = event
            self._write_cursors()

    def count(self, result: str) -> None:
        with self.lock:
            self.counters.results[result] += 1
            self._write_status()

    # --- the parts --------------------------------------------------------------------------

    def _start_cursors(self) -> None:
        """Give each target new to the cursor file the journal's events of the last hour."""
        view = self.journal.current()
        recent = [e for e in view.events if e.alert.fired_at >= self.clock() - NEW_TARGET_LOOKBACK]
        start = recent[0].event - 1 if recent else view.next_event - 1
        for target in self.targets:
            self.cursors.setdefault(fingerprint(target.url), start)
        with self.lock:
            self._write_cursors()

    def _message(self, entry: JournalEvent) -> Message:
        alert = in_units(entry.alert, self.units)
        title, body = notification(entry.state, alert, self.config.device_name, self.config.dashboard_url)
        return Message(entry.event, entry.state, title, body)

    def watch_sampling(self) -> None:
        """Tell every target when sampling_stopped fires (sampling_stopped.py), and when it ends."""
        if self.sampling.rule is None:
            return
        stopped = self.sampling.current()
        if (stopped is None) == (self.stopped is None):
            return
        if stopped is not None:
            state, told = FIRING, stopped
        else:
            assert self.stopped is not None  # the test above
            state, told = RESOLVED, resumed(self.stopped, self.clock())
        title, body = notification(state, told, self.config.device_name, self.config.dashboard_url)
        for target in self.targets:
            target.put(Message(None, state, title, body))
        self.stopped = stopped
        with self.lock:
            self._write_cursors()

    def _read_cursors(self) -> Cursors:
        data = read_bytes(self.cursor_path)
        if data is None:
            return Cursors()
        try:
            return decode_cursors(data)
        except Refused as error:  # every target starts again with the last hour's events
            Refusals(log).say(self.cursor_path, error)
            return Cursors()

    def _write_cursors(self) -> None:
        try:
            write_atomically(self.cursor_path, encode_cursors(Cursors(dict(self.cursors), self.stopped)))
        except OSError as error:  # a full disk: sent events may be sent again after a restart
            log.warning("cannot write %s: %s", self.cursor_path, error.strerror or error)

    def _write_status(self) -> None:
        try:
            write_atomically(self.status_path, notifier_status.encode(self.counters))
        except OSError as error:
            log.warning("cannot write %s: %s", self.status_path, error.strerror or error)


def send_test(config: AlertsConfig, send: Sender) -> int:
    """Send one test message to every target, print each result; return the exit status (1: one failed)."""
    if not config.targets:
        # Nothing to test is no failure: `make notify-test` ends with this message, not make's "Error 1".
        print("No notification targets, so nothing to test: add notify = [...] to [alerts] in the config file.")
        return 0
    title = f"[{config.device_name}] test notification"
    body = f"FrostServer on {config.device_name} can reach you here."
    if config.dashboard_url:
        body += f"\nDashboard: {config.dashboard_url}"
    failures = 0
    for index, url in enumerate(config.targets):
        problem = attempt_with_deadline(send, url, Message(None, RESOLVED, title, body), ATTEMPT_TIMEOUT)
        failures += problem is not None
        print(f"notify[{index}] {display_target(url)}: {'sent' if problem is None else 'FAILED: ' + problem}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    """Run the notifier until SIGTERM, or send a test message with --test."""
    parser = argparse.ArgumentParser(prog="python -m frostserver.alerts.notifier", description=__doc__.split("\n")[0])
    parser.add_argument("--test", action="store_true", help="send a test message to every target and print results")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        if args.test:
            print(f"configuration error: {error}", file=sys.stderr)
        # Otherwise the sampler says it, once for the container (the same file, the same error).
        return EXIT_CONFIG
    configure_logging(settings.log_level)
    live = LiveSettings()
    settings = live.current().settings  # the browser's targets, name and units too
    if args.test:
        return send_test(settings.alerts, apprise_sender())
    if not settings.alerts.targets:
        log.info(
            "no notification targets yet ([alerts] notify, or the settings page): alerts show in the API "
            "and dashboard; waiting for a target"
        )
    notifier = Notifier(settings, child_sender(ATTEMPT_TIMEOUT), live=live)
    usable = [True] * len(settings.alerts.targets)
    if settings.alerts.targets:  # only then load Apprise (in a child), as sending does
        usable = child_usable(list(settings.alerts.targets), ATTEMPT_TIMEOUT) or usable
    for index, (url, ok) in enumerate(zip(settings.alerts.targets, usable, strict=True)):
        if not ok:
            notifier.counters.unusable += 1
            log.error(
                "notify[%d] %s: Apprise cannot use this URL; fix it in [alerts] notify", index, display_target(url)
            )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: notifier.stopping.set())
    if notifier.targets:
        log.info(
            "sending alerts to %d target(s): %s", len(notifier.targets), ", ".join(t.shown for t in notifier.targets)
        )
    notifier.run()
    live.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
