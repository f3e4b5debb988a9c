"""The app container's PID 1: the sampler and the web server side by side, one process per job.

`python -m frostserver.supervisor -- gunicorn --config gunicorn.conf.py` (the Dockerfile's CMD;
`make dev` gives Flask's development server instead):

- starts the web server, the sampler (`python -m frostserver.sampler`), the notifier
  (`python -m frostserver.alerts.notifier`, which sends alerts; it runs with or without targets,
  waiting without any, since targets can be added in the browser) and the MQTT publisher (`python -m
  frostserver.mqtt`, Home Assistant's discovery and the states; it runs with or without a broker,
  idle without one, since a broker can be set in the browser while the app runs);
- restarts the sampler (and the notifier, and the publisher) when it dies, after a pause that
  doubles from 1 s up to 30 s and starts over once a sampler has run for a minute, so a sampler
  that keeps dying is no restart storm;
  one that exits for a bad configuration (status 78) is not restarted, since it would fail again
  (the web server goes on answering every request with the error, a JSON 503);
- watches the sampler from outside: the sampler beats down a pipe after every sample it publishes
  (heartbeat.py), saying when the next beat is due; one whose beat is STALL_GRACE late (stopped,
  deadlocked, stuck in a read its own watchdog cannot see, which runs inside it) is killed with
  SIGKILL and restarted like any sampler that died;
- stops the sampler and exits with the web server's status when the web server exits, so that
  Docker restarts the container;
- on SIGTERM or SIGINT (docker stop, Ctrl-C), stops both and exits 0;
- reaps every process that ends in the container, as a PID 1 must.

Why not Gunicorn's server hooks: its arbiter reaps every child it did not spawn as a worker
(waitpid(-1) in reap_workers), so a sampler started from a hook would be reaped, unwatched.
The web server runs at a lower CPU priority than the sampler: on a busy device, sampling on time
matters more than answering a request a few milliseconds sooner. The supervisor imports nothing of
the app (no settings, no store; only the log format, the heartbeat's line and what its decoder
raises, all standard library alone): it stays small, and a bug
there cannot take it down. It needs no setting to judge a beat late either: each beat says when the
next is due.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from . import heartbeat
from .logs import RepeatLimiter, configure_logging

log = logging.getLogger("frostserver.supervisor")  # not __name__: run as __main__
repeats = RepeatLimiter(log)  # what can come at every sample is said once every 5 minutes

SAMPLER_COMMAND = (sys.executable, "-m", "frostserver.sampler")
NOTIFIER_COMMAND = (sys.executable, "-m", "frostserver.alerts.notifier")
PUBLISHER_COMMAND = (sys.executable, "-m", "frostserver.mqtt")
# The sampler's, the notifier's and the publisher's exit status for a configuration they cannot run
# with (sysexits' EX_CONFIG): not restarted, since a restart would fail the same way. Defined here,
# where it is judged; the children import it.
EXIT_CONFIG = 78
WEB_NICENESS = 10  # the web server's CPU priority below the sampler's (nice 0)
STOP_WAIT = 8.0  # s to wait for both after SIGTERM, inside Docker's 10 s before its SIGKILL
# How late a sampler's beat may be before it is killed: its next sample was due, and 30 s more have
# passed. /readyz says 503 long before (three intervals): the kill waits longer because it costs
# the minute of history held in memory, and nothing in a working sampler pauses this long. On a
# busy 2-core machine the sampler (nice 0, Gunicorn at 10) waits for the CPU for milliseconds, a
# second at worst; its longest own pause is the history's checkpoint (an fsync every 30 minutes,
# seconds on a slow SD card). 30 s is ten times that, and still brings a new sampler within a
# minute of a stop: 30 s + one interval and the read deadline (the beat's "due") + the 1 s restart
# pause + its start.
STALL_GRACE = 30.0
# How long a new sampler may take to publish its first sample: its start (Python and the app's
# imports, the lm-sensors files, opening the history) takes seconds on a Raspberry Pi and several
# times that under QEMU (make test-arm).
STARTUP_GRACE = 120.0


@dataclass
class Backoff:
    """How long to wait before restarting a sampler that died."""

    first: float = 1.0  # s, after the first death
    longest: float = 30.0  # s, the most it grows to
    healthy_after: float = 60.0  # s of running after which a death counts as the first again
    failures: int = 0  # deaths in a row of samplers that died young

    def delay(self, ran_for: float) -> float:
        """Count one death of a sampler that ran `ran_for` seconds; return the pause before restarting it."""
        self.failures = 1 if ran_for >= self.healthy_after else self.failures + 1
        return float(min(self.longest, self.first * 2 ** (self.failures - 1)))


@dataclass
class StallWatch:
    """When a sampler's beat is overdue, from the beats it sends and the grace allowed."""

    grace: float = STALL_GRACE  # s past the next sample's due time
    startup: float = STARTUP_GRACE  # s from its start to its first sample
    started_at: float | None = None  # time.monotonic() of its start, while it has not beaten
    beat_at: float | None = None  # when its last beat arrived
    due: float = 0.0  # s after beat_at its next sample was due

    def start(self, now: float) -> None:
        """A new sampler started at `now`: it has `startup` seconds to publish its first sample."""
        self.started_at, self.beat_at, self.due = now, None, 0.0

    def beat(self, due: float, now: float) -> None:
        """A sample was published (seen at `now`); the next is due `due` seconds later."""
        self.started_at, self.beat_at, self.due = None, now, due

    def stop(self) -> None:
        """Stop watching (the sampler died or was killed)."""
        self.started_at = self.beat_at = None

    @property
    def deadline(self) -> float | None:
        """The time.monotonic() after which the sampler counts as hung; None when not watching."""
        if self.beat_at is not None:
            return self.beat_at + self.due + self.grace
        if self.started_at is not None:
            return self.started_at + self.startup
        return None

    def overdue(self, now: float) -> bool:
        """Whether the sampler's beat is later than it may be."""
        deadline = self.deadline
        return deadline is not None and now > deadline

    def describe(self, now: float) -> str:
        """Say how late it is, for the log line before the kill."""
        if self.beat_at is None:
            return f"published no first sample in {now - (self.started_at or now):.0f} s since its start"
        return f"published no sample for {now - self.beat_at:.0f} s (the next was due {self.due:g} s after the last)"


@dataclass
class _Child:
    name: str
    argv: Sequence[str]
    niceness: int = 0
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restart_at: float | None = None  # the next start, while it is down
    exit_status: int | None = None
    backoff: Backoff | None = None  # restarted when it dies (not the web server: the container is)
    done_when_ok: bool = False  # an exit with status 0 means it has nothing to do: not restarted
    watch: StallWatch | None = None  # watched through a heartbeat pipe (the sampler)
    beats: int | None = None  # the pipe's read end, while it is open
    beat_reader: heartbeat.BeatReader | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None


class Supervisor:
    """Run the web server and the sampler until told to stop (see the module's docstring)."""

    def __init__(
        self,
        web: Sequence[str],
        sampler: Sequence[str] = SAMPLER_COMMAND,
        notifier: Sequence[str] | None = NOTIFIER_COMMAND,
        *,
        publisher: Sequence[str] | None = PUBLISHER_COMMAND,
        backoff: Backoff | None = None,
        watch: StallWatch | None = None,
    ):
        self.web = _Child("web server", web, WEB_NICENESS)
        self.sampler = _Child("sampler", sampler, backoff=backoff or Backoff(), watch=watch or StallWatch())
        # The notifier at the web server's priority: a sample on time matters more than a message.
        self.notifier = (
            None
            if notifier is None
            else _Child("notifier", notifier, WEB_NICENESS, backoff=Backoff(), done_when_ok=True)
        )
        # The publisher too: a broker that is slow or away must never cost a sample.
        self.publisher = (
            None
            if publisher is None
            else _Child("publisher", publisher, WEB_NICENESS, backoff=Backoff(), done_when_ok=True)
        )
        self.tended = [child for child in (self.sampler, self.notifier, self.publisher) if child is not None]
        self.stopping = False
        self._wakeup_r, self._wakeup_w = os.pipe()

    def run(self) -> int:
        """Start both, supervise them, and return the exit status for the container."""
        os.set_blocking(self._wakeup_w, False)
        signal.set_wakeup_fd(self._wakeup_w)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop_requested)
        signal.signal(signal.SIGHUP, lambda *_: self._signal(self.web, signal.SIGHUP))  # Gunicorn: reload
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the loop
        self._start(self.web)
        for child in self.tended:
            self._start(child)
        while not self.stopping:
            self._wait(self._next_timeout())
            self._reap()
            if not self.web.alive:
                log.error("the web server exited (%s); stopping", _describe(self.web.exit_status))
                break
            self._watch()
            self._tend()
        return self._shut_down()

    # --- the loop's parts --------------------------------------------------------------------

    def _stop_requested(self, signum: int, _frame: object) -> None:
        if not self.stopping:  # a second signal (Ctrl-C reaches the whole group) says nothing new
            log.info("%s: stopping", signal.Signals(signum).name)
        self.stopping = True

    def _next_timeout(self) -> float | None:
        """Seconds until the next restart or stall deadline is due; None (no timeout) while nothing is."""
        due = [child.restart_at for child in self.tended if child.restart_at is not None]
        due += [d for child in self.tended if child.watch and (d := child.watch.deadline) is not None]
        return None if not due else max(0.0, min(due) - time.monotonic())

    def _wait(self, timeout: float | None) -> None:
        """Sleep until a signal arrives (SIGCHLD included), a beat arrives or the timeout passes."""
        pipes = [child.beats for child in self.tended if child.beats is not None]
        readable, _, _ = select.select([self._wakeup_r, *pipes], [], [], timeout)
        if self._wakeup_r in readable:
            os.read(self._wakeup_r, 4096)
        for child in self.tended:
            if child.beats is not None and child.beats in readable:
                self._read_beats(child)

    def _read_beats(self, child: _Child) -> None:
        """Take every beat the pipe holds; close it at its end (the sampler exited)."""
        assert child.beats is not None and child.watch is not None and child.beat_reader is not None
        while True:
            try:
                data = os.read(child.beats, 4096)
            except BlockingIOError:
                return
            if not data:  # the sampler's end closed: it is exiting, its death is reaped next
                self._close_beats(child)
                return
            now = time.monotonic()
            for beat in child.beat_reader.feed(data):
                if isinstance(beat, heartbeat.Beat):
                    child.watch.beat(beat.due, now)
                else:  # at most once in a while: a sampler that beats wrong does so at every sample
                    what = type(beat).__name__
                    repeats.warning("the %s's heartbeat is refused: %s; ignored", child.name, beat, key=what)

    def _close_beats(self, child: _Child) -> None:
        if child.beats is not None:
            os.close(child.beats)
            child.beats = child.beat_reader = None
        if child.watch is not None:
            child.watch.stop()

    def _watch(self) -> None:
        """Kill a sampler whose beat is overdue; its death restarts it like any other."""
        now = time.monotonic()
        for child in self.tended:
            if child.watch is not None and child.alive and child.watch.overdue(now):
                log.error("the %s %s; killing it (SIGKILL) to restart it", child.name, child.watch.describe(now))
                child.watch.stop()  # once: one stuck in the kernel dies when its read returns
                self._signal(child, signal.SIGKILL)

    def _reap(self) -> None:
        """Collect every child that ended: ours, and orphans handed to PID 1."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for child in (self.web, *self.tended):
                if child.process is not None and child.process.pid == pid:
                    child.process.returncode = child.exit_status = os.waitstatus_to_exitcode(status)
                    self._close_beats(child)
                    if child.backoff is not None:
                        self._died(child)

    def _died(self, child: _Child) -> None:
        ran_for = time.monotonic() - child.started
        if child.exit_status == EXIT_CONFIG:
            log.error("the %s cannot run with this configuration (see above); not restarting it", child.name)
            return
        if self.stopping or (child.done_when_ok and child.exit_status == 0):
            return
        assert child.backoff is not None  # only tended children die here
        delay = child.backoff.delay(ran_for)
        log.error(
            "the %s exited (%s) after %.1f s; restarting it in %g s",
            child.name,
            _describe(child.exit_status),
            ran_for,
            delay,
        )
        child.restart_at = time.monotonic() + delay

    def _tend(self) -> None:
        for child in self.tended:
            if child.restart_at is not None and time.monotonic() >= child.restart_at:
                self._start(child)

    def _start(self, child: _Child) -> None:
        # preexec_fn runs between fork and exec: safe here, where no other thread exists.
        preexec = functools.partial(os.nice, child.niceness) if child.niceness else None
        # A new pipe per start: a predecessor stuck in the kernel can never beat for its successor.
        beats, beat_end = os.pipe() if child.watch is not None else (None, None)
        passed = () if beat_end is None else (beat_end,)
        env = None if beat_end is None else {**os.environ, heartbeat.ENV: str(beat_end)}
        try:
            child.process = subprocess.Popen(child.argv, preexec_fn=preexec, pass_fds=passed, env=env)
        except OSError as error:
            for fd in (beats, beat_end):
                if fd is not None:
                    os.close(fd)
            log.critical("cannot start the %s (%s): %s", child.name, " ".join(child.argv), error)
            child.process, child.exit_status = None, 127
            if child.backoff is not None:
                child.started = time.monotonic()
                self._died(child)
            return
        child.started = time.monotonic()
        child.restart_at, child.exit_status = None, None
        if beats is not None and beat_end is not None and child.watch is not None:
            os.close(beat_end)  # the sampler's alone: its exit then ends the pipe
            os.set_blocking(beats, False)
            child.beats, child.beat_reader = beats, heartbeat.BeatReader()
            child.watch.start(child.started)
        log.info("started the %s (pid %d)", child.name, child.process.pid)

    def _signal(self, child: _Child, signum: int) -> None:
        if child.alive and child.process is not None:
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signum)

    def _shut_down(self) -> int:
        """Stop both (SIGTERM, then SIGKILL after STOP_WAIT); return the container's exit status."""
        children = (*self.tended, self.web)
        for child in children:
            self._signal(child, signal.SIGTERM)
        deadline, killed = time.monotonic() + STOP_WAIT, False
        while any(child.alive for child in children):
            left = deadline - time.monotonic()
            if left <= 0:
                if killed:  # one stuck in the kernel (a blocked read) cannot die: leave it to Docker
                    break
                for child in children:
                    self._signal(child, signal.SIGKILL)
                deadline, killed = time.monotonic() + 1.0, True  # a SIGKILLed child is gone at once
            self._wait(max(0.0, min(left, 0.2)))
            self._reap()
        if self.stopping:
            return 0
        return self.web.exit_status or 1


def _describe(status: int | None) -> str:
    if status is None:
        return "status unknown"
    if status < 0:
        return f"killed by {signal.Signals(-status).name}"
    return f"status {status}"


def main(argv: Sequence[str] | None = None) -> int:
    """Supervise the web server given after `--` and the sampler."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m frostserver.supervisor -- WEB-SERVER-COMMAND...", file=sys.stderr)
        return 2
    configure_logging("info")  # its few lines always matter: starts, deaths, restarts
    return Supervisor(args).run()


if __name__ == "__main__":
    sys.exit(main())
