"""One process per job in the app container: a supervisor, the sampler, Gunicorn; each can die alone.

The tests look at the container's processes from the host (root reads /proc of every process and
may signal them), and at their effect through nginx only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from waiting import PATIENCE, eventually


def app_init_pid(stack) -> int:
    """The host pid of the app container's PID 1."""
    container = stack.compose_cli("ps", "-q", "app").stdout.strip()
    out = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", container], capture_output=True, text=True,
                         check=True).stdout
    return int(out)


def stat_fields(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name: [state, ppid, ...]."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def children(pid: int) -> dict[int, list[str]]:
    """Host pid -> command line of every child of a process."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(stat_fields(int(entry))[1]) == pid:
                    found[int(entry)] = cmdline(int(entry))
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    return found


def sampler_host_pid(stack) -> int:
    (pid,) = [pid for pid, argv in children(app_init_pid(stack)).items() if "frostserver.sampler" in argv]
    return pid


def readyz(stack) -> requests.Response:
    return requests.get(stack.url("/readyz"), timeout=5)


def newest_sample(stack) -> int:
    response = eventually(lambda: (lambda r: r if r.status_code == 200 else None)(readyz(stack)), "the app to be ready")
    return response.json()["samples"]


def history(stack, seconds: int) -> list[float]:
    response = requests.get(stack.url("/api/v1/history"), params={"seconds": seconds,
                                                                  "sensor": "coretemp-isa-0000/temp1"}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["timestamps"]


def test_the_container_runs_a_supervisor_a_sampler_and_gunicorn_below_it(stack):
    init = app_init_pid(stack)
    assert cmdline(init)[1:3] == ["-m", "frostserver.supervisor"]
    jobs = children(init)
    (sampler,) = [pid for pid, argv in jobs.items() if argv[1:3] == ["-m", "frostserver.sampler"]]
    (web,) = [pid for pid, argv in jobs.items() if "gunicorn" in argv[0] or "gunicorn" in " ".join(argv[:2])]
    # The notifier and the MQTT publisher run without targets or a broker too, idle: either can be
    # set in the browser at any time.
    (notifier,) = [pid for pid, argv in jobs.items() if argv[1:3] == ["-m", "frostserver.alerts.notifier"]]
    (publisher,) = [pid for pid, argv in jobs.items() if argv[1:3] == ["-m", "frostserver.mqtt"]]
    assert len(jobs) == 4, jobs
    # Sampling on time matters more than answering a request a little sooner: the web server, the
    # notifier and the publisher run at a lower priority (nice 10), the sampler at the default (0).
    niceness = {pid: int(stat_fields(pid)[16]) for pid in (sampler, web, notifier, publisher)}
    assert niceness == {sampler: 0, web: 10, notifier: 10, publisher: 10}
    assert len(children(web)) >= 2  # Gunicorn's workers (FROST_WORKERS=2)


def gunicorn_workers(stack) -> set[int]:
    (web,) = [pid for pid, argv in children(app_init_pid(stack)).items()
              if not {"frostserver.sampler", "frostserver.alerts.notifier", "frostserver.mqtt"} & set(argv)]
    return {pid for pid in children(web) if stat_fields(pid)[0] != "Z"}


def test_a_killed_worker_leaves_no_gap_in_the_samples(stack):
    before = newest_sample(stack)
    sampler_before = readyz(stack).json()["sampler"]["pid"]
    exits_before = stack.compose_cli("logs", "--no-color", "app").stdout.count("the sampler exited")
    workers = gunicorn_workers(stack)
    (victim, *_) = sorted(workers)
    os.kill(victim, signal.SIGKILL)
    # Samples go on meanwhile; wait for a few more, taken after the kill.
    eventually(lambda: newest_sample(stack) >= before + 4, "four more samples")
    # The sampler never noticed: the same process sampled on, none exited and none was restarted
    # (how evenly it sampled meanwhile is a matter of the machine's load, not of this kill).
    assert readyz(stack).json()["sampler"]["pid"] == sampler_before
    assert stack.compose_cli("logs", "--no-color", "app").stdout.count("the sampler exited") == exits_before
    timestamps = history(stack, 30)
    assert len(timestamps) >= 4 and timestamps == sorted(set(timestamps)), timestamps
    # And Gunicorn replaced the worker.
    eventually(lambda: (lambda now: len(now) == len(workers) and victim not in now)(gunicorn_workers(stack)),
               "Gunicorn to replace the killed worker")


def test_a_dead_sampler_makes_readyz_503_until_the_supervisor_restarts_it(stack):
    supervisor, sampler = app_init_pid(stack), sampler_host_pid(stack)
    before = newest_sample(stack)
    old_pid = readyz(stack).json()["sampler"]["pid"]
    # Hold the supervisor still, so that nothing restarts the sampler while the test looks: no
    # race with the restart pause, however slow the machine.
    os.kill(supervisor, signal.SIGSTOP)
    try:
        os.kill(sampler, signal.SIGKILL)
        # A Response is falsy when its status is an error: wrap it for eventually.
        (down,) = eventually(lambda: (lambda r: [r] if r.status_code == 503 else None)(readyz(stack)),
                             "/readyz to say the sampler is down", interval=0.1)
        body = down.json()
        assert body["status"] == 503 and body["message"].startswith("the sampler is not running"), body
        # Serving goes on from the store meanwhile: the newest sample, the history.
        sensors = requests.get(stack.url("/api/v1/sensors"), timeout=5)
        assert sensors.status_code == 200 and sensors.json()["sensors"]
        assert history(stack, 10)
    finally:
        os.kill(supervisor, signal.SIGCONT)
    after = eventually(lambda: (lambda r: r.json() if r.status_code == 200 else None)(readyz(stack)),
                       "the restarted sampler to be ready")
    assert after["sampler"]["pid"] != old_pid
    assert after["samples"] > before  # it continued the same history: the stream's ids go on
    log = stack.compose_cli("logs", "--no-color", "app").stdout
    assert "the sampler exited (killed by SIGKILL)" in log and "restarting it in" in log


# A stopped sampler: /readyz says 503 once no sample came for three intervals (3 s here), and the
# supervisor kills it once its beat is 30 s late (STALL_GRACE) and starts another after its 1 s
# pause. A passing test waits about 3 s and 35 s; the bounds are PATIENCE, and STALL_GRACE more.
STALL_GRACE = 30


def test_a_stopped_sampler_makes_readyz_503_and_is_replaced(stack):
    before = newest_sample(stack)
    old_host_pid, old_pid = sampler_host_pid(stack), readyz(stack).json()["sampler"]["pid"]
    # SIGSTOP: alive, holding its lock, its own watchdog frozen with it. Only a watch from outside
    # can tell.
    os.kill(old_host_pid, signal.SIGSTOP)
    try:
        (stalled,) = eventually(lambda: (lambda r: [r] if r.status_code == 503 else None)(readyz(stack)),
                                "/readyz to say the sampler is stalled", interval=0.2)
        body = stalled.json()
        assert body["message"].startswith("no sample for") and "is stopped or hung" in body["message"], body
        assert body["age"] >= 3 and body["sampler"]["pid"] == old_pid, body
        assert stalled.headers["Retry-After"] == "1"
        eventually(lambda: sampler_host_pid_or_none(stack) not in (None, old_host_pid), "a new sampler",
                   patience=STALL_GRACE + PATIENCE, interval=0.5)
    finally:
        with contextlib.suppress(ProcessLookupError):  # gone when the supervisor did its job
            os.kill(old_host_pid, signal.SIGCONT)
    with pytest.raises(ProcessLookupError):
        os.kill(old_host_pid, 0)  # killed and reaped, not left stopped beside the new one
    after = eventually(lambda: (lambda r: r.json() if r.status_code == 200 else None)(readyz(stack)),
                       "the new sampler to be ready")
    assert after["sampler"]["pid"] != old_pid
    assert after["samples"] > before  # samples resume, in the same ring: the stream's ids go on
    log = stack.compose_cli("logs", "--no-color", "app").stdout
    assert "the sampler published no sample for" in log and "killing it (SIGKILL) to restart it" in log


def test_the_sampler_restarts_are_spaced_out(stack):
    # Killed three times in a row as soon as it is back: each restart waits longer than the last
    # (1 s, 2 s, 4 s), so a sampler that keeps dying is no restart storm. The pauses are checked
    # from below only: a slow machine lengthens them, never shortens them.
    started = []
    for _ in range(3):
        pid = eventually(lambda: sampler_host_pid_or_none(stack), "a sampler", interval=0.05)
        started.append(time.monotonic())
        os.kill(pid, signal.SIGKILL)
        eventually(lambda: sampler_host_pid_or_none(stack) != pid, "the kill to land", interval=0.05)
    eventually(lambda: sampler_host_pid_or_none(stack), "the last restart", interval=0.05)
    started.append(time.monotonic())
    pauses = [b - a for a, b in zip(started, started[1:])]
    assert pauses[0] >= 1.0 and pauses[1] >= 2.0 and pauses[2] >= 4.0, pauses
    newest_sample(stack)  # ready again
    assert "restarting it in 4 s" in stack.compose_cli("logs", "--no-color", "app").stdout


def sampler_host_pid_or_none(stack) -> int | None:
    found = [pid for pid, argv in children(app_init_pid(stack)).items() if "frostserver.sampler" in argv
             and stat_fields(pid)[0] != "Z"]
    return found[0] if found else None
