"""The supervisor (the app container's PID 1): restarts with back-off, stops cleanly, never storms.

Each test runs a real supervisor process over small stand-in commands. Where time is the behaviour
(the back-off), the tests bound it from below only: a slower machine makes pauses longer, never
shorter, so no verdict depends on the machine's speed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from waiting import PATIENCE, eventually

from frostserver.supervisor import Backoff, StallWatch

APP = Path(__file__).resolve().parents[2] / "services" / "app"


def test_the_backoff_doubles_up_to_its_longest_and_starts_over_after_a_healthy_run():
    backoff = Backoff(first=1.0, longest=30.0, healthy_after=60.0)
    assert [backoff.delay(ran_for=0.1) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(ran_for=600) == 1  # it ran for a while: a new problem, not the same storm
    assert backoff.delay(ran_for=5) == 2


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def recorder(log: Path, then: str, first: str = "pass") -> list[str]:
    """A command that runs `first`, appends when it started to `log`, then runs `then`."""
    return python(f"""
        import os, signal, sys, time
        {first}
        with open({str(log)!r}, "a") as f:
            f.write(f"{{time.monotonic()}} {{os.getpid()}}\\n")
        {then}
    """)


def starts(log: Path) -> list[float]:
    return [float(line.split()[0]) for line in log.read_text().splitlines()] if log.exists() else []


class Running:
    """A supervisor process over the given web server, sampler, notifier and publisher commands."""

    def __init__(self, tmp_path: Path, web: list[str], sampler: list[str], notifier: list[str] | None = None,
                 watch: str = "StallWatch()", publisher: list[str] | None = None):
        script = textwrap.dedent(f"""
            import sys
            from frostserver.supervisor import Backoff, StallWatch, Supervisor
            supervisor = Supervisor({web!r}, {sampler!r}, {notifier!r}, backoff=Backoff(first=0.2, longest=0.8),
                                    watch={watch}, publisher={publisher!r})
            if supervisor.publisher is not None:
                supervisor.publisher.backoff = Backoff(first=0.2, longest=0.8)
            if supervisor.notifier is not None:
                supervisor.notifier.backoff = Backoff(first=0.2, longest=0.8)
            sys.exit(supervisor.run())
        """)
        env = {**os.environ, "PYTHONPATH": str(APP)}
        self.stderr = tmp_path / "supervisor.log"
        with open(self.stderr, "w") as err:
            self.process = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=err)

    def wait_until(self, predicate, what: str) -> None:
        """Wait for predicate while the supervisor runs; print its log if it never holds."""

        def running_and_holds():
            assert self.process.poll() is None, f"the supervisor exited: {self.stderr.read_text()}"
            return predicate()

        try:
            eventually(running_and_holds, what)
        except BaseException:
            print(f"---- the supervisor's log ----\n{self.stderr.read_text()}")
            raise

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(PATIENCE)


@pytest.fixture
def forever():
    return python("import time; time.sleep(3600)")


def test_a_dying_sampler_is_restarted_with_growing_pauses(tmp_path, forever):
    log = tmp_path / "sampler.starts"
    supervisor = Running(tmp_path, forever, recorder(log, "sys.exit(3)"))
    try:
        supervisor.wait_until(lambda: len(starts(log)) >= 5, "five sampler starts")
    finally:
        assert supervisor.stop() == 0
    times = starts(log)
    pauses = [b - a for a, b in zip(times, times[1:])]
    # 0.2, 0.4, 0.8, 0.8 s: never less, however fast the machine (without a back-off, a sampler
    # that dies at once is restarted hundreds of times a second).
    assert all(pause >= expected for pause, expected in zip(pauses, [0.2, 0.4, 0.8, 0.8])), pauses
    assert "the sampler exited (status 3)" in supervisor.stderr.read_text()


def test_a_sampler_refusing_its_configuration_is_not_restarted(tmp_path):
    log = tmp_path / "sampler.starts"
    web_log = tmp_path / "web.starts"
    supervisor = Running(tmp_path, recorder(web_log, "time.sleep(3600)"), recorder(log, "sys.exit(78)"))
    try:
        supervisor.wait_until(lambda: "not restarting it" in supervisor.stderr.read_text(), "the refusal")
        # The web server's mark, written once its Python is up (slow on a busy machine), before the stop.
        supervisor.wait_until(lambda: starts(web_log), "the web server to start")
        assert supervisor.process.poll() is None  # the web server goes on explaining the error
    finally:
        assert supervisor.stop() == 0
    assert len(starts(log)) == 1 and len(starts(web_log)) == 1


def test_when_the_web_server_exits_the_sampler_is_stopped_and_its_status_returned(tmp_path):
    sampler_log = tmp_path / "sampler.starts"
    web = recorder(tmp_path / "web.starts", "time.sleep(0.5); sys.exit(5)")
    supervisor = Running(tmp_path, web, recorder(sampler_log, "time.sleep(3600)"))
    assert supervisor.process.wait(PATIENCE) == 5
    (sampler_pid,) = [int(line.split()[1]) for line in sampler_log.read_text().splitlines()]
    with pytest.raises(ProcessLookupError):
        os.kill(sampler_pid, 0)  # stopped and reaped, not left behind


def test_sigterm_stops_both_and_exits_zero(tmp_path):
    sampler_log, web_log = tmp_path / "sampler.starts", tmp_path / "web.starts"
    # Both leave a mark when SIGTERM reaches them, as Gunicorn and the sampler stop on it.
    terms = str(tmp_path / "terms")
    on_term = f"signal.signal(signal.SIGTERM, lambda *_: (open({terms!r}, 'a').write('x'), os._exit(0)))"
    sleep = "time.sleep(3600)"
    supervisor = Running(tmp_path, recorder(web_log, sleep, on_term), recorder(sampler_log, sleep, on_term))
    supervisor.wait_until(lambda: starts(sampler_log) and starts(web_log), "both to start")
    assert supervisor.stop() == 0
    assert (tmp_path / "terms").read_text() == "xx"
    assert len(starts(sampler_log)) == 1  # stopping is no reason to restart it


def test_a_notifier_with_nothing_to_do_is_not_restarted_and_a_dying_one_is(tmp_path, forever):
    idle_log, dying_log = tmp_path / "idle.starts", tmp_path / "dying.starts"
    idle = Running(tmp_path, forever, forever, recorder(idle_log, "sys.exit(0)"))
    try:
        idle.wait_until(lambda: starts(idle_log), "the notifier to start")
        time.sleep(1.0)  # five back-offs' worth: a restart would have come by now
        assert idle.process.poll() is None
    finally:
        assert idle.stop() == 0
    assert len(starts(idle_log)) == 1  # status 0: no targets, nothing to send

    dying = Running(tmp_path, forever, forever, recorder(dying_log, "sys.exit(1)"))
    try:
        dying.wait_until(lambda: len(starts(dying_log)) >= 3, "three notifier starts")
    finally:
        assert dying.stop() == 0
    assert "the notifier exited (status 1)" in dying.stderr.read_text()


def test_the_mqtt_publisher_is_tended_like_the_notifier(tmp_path, forever):
    # Without a broker it exits 0 and stays down; one that dies is restarted with back-off.
    idle_log, dying_log = tmp_path / "idle.starts", tmp_path / "dying.starts"
    idle = Running(tmp_path, forever, forever, publisher=recorder(idle_log, "sys.exit(0)"))
    try:
        idle.wait_until(lambda: starts(idle_log), "the publisher to start")
        time.sleep(1.0)  # five back-offs' worth: a restart would have come by now
        assert idle.process.poll() is None
    finally:
        assert idle.stop() == 0
    assert len(starts(idle_log)) == 1

    dying = Running(tmp_path, forever, forever, publisher=recorder(dying_log, "sys.exit(1)"))
    try:
        dying.wait_until(lambda: len(starts(dying_log)) >= 3, "three publisher starts")
    finally:
        assert dying.stop() == 0
    assert "the publisher exited (status 1)" in dying.stderr.read_text()


# --- the watch from outside: a sampler that stops beating is replaced --------------------------------


def test_a_beat_gives_the_sampler_until_its_next_beat_is_due_plus_the_grace():
    watch = StallWatch(grace=30.0, startup=120.0)
    assert watch.deadline is None and not watch.overdue(10**9)  # not watching anything yet
    watch.start(now=100.0)
    assert not watch.overdue(220.0) and watch.overdue(220.1)  # its first sample within its start-up
    watch.beat(1.5, now=150.0)
    assert watch.deadline == 181.5
    assert not watch.overdue(181.5) and watch.overdue(181.6)
    watch.beat(600.0, now=160.0)  # a sampler of a 10-minute interval: no setting needed to wait for it
    assert not watch.overdue(789.0) and watch.overdue(790.1)
    assert watch.describe(800.0) == "published no sample for 640 s (the next was due 600 s after the last)"
    watch.stop()  # it died: nothing to watch until the next start
    assert watch.deadline is None


def beating(log: Path, then: str = "pass", beats: int = 40) -> list[str]:
    """A stand-in sampler: records its start, beats every 0.05 s down FROST_HEARTBEAT_FD, then `then`."""
    return recorder(log, f"""
        fd = int(os.environ["FROST_HEARTBEAT_FD"])
        for _ in range({beats}):
            os.write(fd, b"1 0.05\\n")
            time.sleep(0.05)
        {then}
        time.sleep(3600)
    """)


def pids(log: Path) -> list[int]:
    return [int(line.split()[1]) for line in log.read_text().splitlines()] if log.exists() else []


def test_a_stopped_sampler_is_killed_and_replaced(tmp_path, forever):
    log = tmp_path / "sampler.starts"
    supervisor = Running(tmp_path, forever, beating(log), watch=f"StallWatch(grace=0.5, startup={PATIENCE})")
    try:
        supervisor.wait_until(lambda: pids(log), "the sampler to start")
        first = pids(log)[0]
        os.kill(first, signal.SIGSTOP)  # frozen: its threads, its own watchdog and its beats with it
        supervisor.wait_until(lambda: len(pids(log)) >= 2, "a new sampler")
        with pytest.raises(ProcessLookupError):
            os.kill(first, 0)  # killed and reaped, not left stopped beside the new one
    finally:
        assert supervisor.stop() == 0
    text = supervisor.stderr.read_text()
    assert "the sampler published no sample for" in text and "killing it (SIGKILL) to restart it" in text
    assert "the sampler exited (killed by SIGKILL)" in text


def test_a_sampler_that_stops_beating_while_alive_is_replaced(tmp_path, forever):
    # Deadlocked or stuck in a read: alive, asleep, silent.
    log = tmp_path / "sampler.starts"
    supervisor = Running(tmp_path, forever, beating(log), watch=f"StallWatch(grace=0.5, startup={PATIENCE})")
    try:
        supervisor.wait_until(lambda: len(pids(log)) >= 2, "a new sampler")
    finally:
        assert supervisor.stop() == 0
    assert "the sampler published no sample for" in supervisor.stderr.read_text()


def test_a_sampler_that_never_publishes_a_first_sample_is_replaced(tmp_path, forever):
    log = tmp_path / "sampler.starts"
    supervisor = Running(tmp_path, forever, recorder(log, "time.sleep(3600)"), watch="StallWatch(startup=0.5)")
    try:
        supervisor.wait_until(lambda: len(pids(log)) >= 2, "a new sampler")
    finally:
        assert supervisor.stop() == 0
    assert "the sampler published no first sample in" in supervisor.stderr.read_text()


def test_a_beating_sampler_is_left_alone_and_the_pipe_is_its_alone(tmp_path):
    sampler_log, web_log = tmp_path / "sampler.starts", tmp_path / "web.starts"
    # The web server checks that it was given no heartbeat; the sampler beats for 3 s, then exits 0
    # (a sampler that exits is restarted: its second start shows the first ran to its end). Its
    # beats, not its start-up allowance (2 s: a Python start takes a fraction of that on a busy
    # machine), keep it alive past 2 s.
    web = recorder(web_log, "time.sleep(3600)", first='assert "FROST_HEARTBEAT_FD" not in os.environ')
    supervisor = Running(tmp_path, web, beating(sampler_log, "sys.exit(0)", beats=60),
                         watch="StallWatch(grace=1.5, startup=2.0)")
    try:
        supervisor.wait_until(lambda: len(pids(sampler_log)) >= 2 and starts(web_log), "the sampler's end")
    finally:
        assert supervisor.stop() == 0
    text = supervisor.stderr.read_text()
    assert "killing it" not in text and "the sampler exited (status 0)" in text
