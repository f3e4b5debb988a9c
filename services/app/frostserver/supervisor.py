"""The app container's PID 1: the sampler and the web server side by side, one process per job.

`python -m frostserver.supervisor -- gunicorn --config gunicorn.conf.py` (the Dockerfile's CMD;
`make dev` gives Flask's development server instead):

- starts the web server, the sampler (`python -m frostserver.sampler`) and the notifier
  (`python -m frostserver.alerts.notifier`, which sends alerts; without notification targets it
  exits at once, status 0, and is not started again);
- restarts the sampler (and the notifier) when it dies, after a pause that doubles from 1 s up to 30 s and starts
  over once a sampler has run for a minute, so a sampler that keeps dying is no restart storm;
  one that exits for a bad configuration (status 78) is not restarted, since it would fail again
  (the web server goes on answering every request with the error, a JSON 503); a sampler that
  hangs exits by itself (its watchdog) and is restarted the same way;
- stops the sampler and exits with the web server's status when the web server exits, so that
  Docker restarts the container;
- on SIGTERM or SIGINT (docker stop, Ctrl-C), stops both and exits 0;
- reaps every process that ends in the container, as a PID 1 must.

Why not Gunicorn's server hooks: its arbiter reaps every child it did not spawn as a worker
(waitpid(-1) in reap_workers), so a sampler started from a hook would be reaped, unwatched.
The web server runs at a lower CPU priority than the sampler: on a busy device, sampling on time
matters more than answering a request a few milliseconds sooner. The supervisor imports nothing of
the app (no settings, no store): it stays small, and a bug there cannot take it down.
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

from .logs import configure_logging

log = logging.getLogger("frostserver.supervisor")  # not __name__: run as __main__

SAMPLER_COMMAND = (sys.executable, "-m", "frostserver.sampler")
NOTIFIER_COMMAND = (sys.executable, "-m", "frostserver.alerts.notifier")
EXIT_CONFIG = 78  # the sampler's and the notifier's exit status for a bad configuration
WEB_NICENESS = 10  # the web server's CPU priority below the sampler's (nice 0)
STOP_WAIT = 8.0  # s to wait for both after SIGTERM, inside Docker's 10 s before its SIGKILL


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
        backoff: Backoff | None = None,
    ):
        self.web = _Child("web server", web, WEB_NICENESS)
        self.sampler = _Child("sampler", sampler, backoff=backoff or Backoff())
        # The notifier at the web server's priority: a sample on time matters more than a message.
        self.notifier = (
            None
            if notifier is None
            else _Child("notifier", notifier, WEB_NICENESS, backoff=Backoff(), done_when_ok=True)
        )
        self.tended = [child for child in (self.sampler, self.notifier) if child is not None]
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
            self._tend()
        return self._shut_down()

    # --- the loop's parts --------------------------------------------------------------------

    def _stop_requested(self, signum: int, _frame: object) -> None:
        if not self.stopping:  # a second signal (Ctrl-C reaches the whole group) says nothing new
            log.info("%s: stopping", signal.Signals(signum).name)
        self.stopping = True

    def _next_timeout(self) -> float | None:
        """Seconds until the next restart is due; None (no timeout) while nothing is due."""
        due = [child.restart_at for child in self.tended if child.restart_at is not None]
        return None if not due else max(0.0, min(due) - time.monotonic())

    def _wait(self, timeout: float | None) -> None:
        """Sleep until a signal arrives (SIGCHLD included) or the timeout passes."""
        readable, _, _ = select.select([self._wakeup_r], [], [], timeout)
        if readable:
            os.read(self._wakeup_r, 4096)

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
        try:
            child.process = subprocess.Popen(child.argv, preexec_fn=preexec)
        except OSError as error:
            log.critical("cannot start the %s (%s): %s", child.name, " ".join(child.argv), error)
            child.process, child.exit_status = None, 127
            if child.backoff is not None:
                child.started = time.monotonic()
                self._died(child)
            return
        child.started = time.monotonic()
        child.restart_at, child.exit_status = None, None
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
