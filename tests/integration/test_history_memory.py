"""Issue 19: the largest history answer, 40 at once through nginx, kills no worker.

A stack of its own, its history seeded at full retention (two years of hours, fourteen days of
minutes) so that the largest answer the API allows (10,000 points of every sensor) reads and
writes all it can. While 40 such requests run, /api/v1/sensors and an open event stream keep
being served; each answer is complete JSON or a JSON 503 with Retry-After (the worker's gate,
http/history_gate.py); no worker is killed (same pids, nothing in the log). It prints each
worker's peak RSS (VmHWM) and the container's memory, for README.md ("Memory per answer").
"""
from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from chips import coretemp_dual_socket, nct6798, nvme_two_drives
from conftest import COMPOSE_FILES, ComposeProject, compose_project
from fakesysfs import FakeSysfs
from waiting import eventually

LARGEST = "/api/v1/history?from=0&to=253402300799&step=25340231"
CONCURRENT = 40
SEEDED_SENSORS = 40  # with the fake chips' sensors, about the issue's 59
# Generous: a busy 2-core machine makes the largest answer in seconds, and 40 of them queue.
ANSWER_TIMEOUT = 300
# What the app container answers about its processes, read with its own Python.
PROCESSES = """
import json, os
found = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        command = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode().strip()
        status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines() if ":" in line)
    except OSError:
        continue
    kib = lambda key: int(status.get(key, "0 kB").split()[0])
    found.append({"pid": int(pid), "ppid": int(status["PPid"]), "command": command,
                  "hwm_kib": kib("VmHWM"), "rss_kib": kib("VmRSS")})
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def tree():
    work = Path(tempfile.mkdtemp(prefix="frost-history-memory-"))
    work.chmod(0o755)  # the app reads the tree as another user
    fake = FakeSysfs(work / "sys")
    for add in (coretemp_dual_socket, nvme_two_drives, nct6798):
        add(fake)
    yield work / "sys"
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(tree):
    with compose_project("frosthistorymemory", COMPOSE_FILES, {"FROST_TEST_SYSFS": str(tree)}) as project:
        wait_ready(project)
        project.cli("stop", "app")
        # Into the app's own database (the volume), as the app's user: full retention, ending now.
        project.cli("run", "--rm", "--no-deps", "-T", "app", "python", "-m", "frostserver.history.seed",
                    "--db", "/var/lib/frostserver/history.db", "--days", "730", "--sensors", str(SEEDED_SENSORS),
                    "--quiet", timeout=900)
        project.cli("start", "app")
        wait_ready(project)
        yield project


def wait_ready(project: ComposeProject) -> None:
    url = project.url("nginx", 8080, "/readyz")
    eventually(lambda: requests.get(url, timeout=5).status_code == 200, "/readyz 200")


def processes(project: ComposeProject) -> list[dict]:
    return json.loads(project.cli("exec", "-T", "app", "python", "-c", PROCESSES).stdout)


def workers(project: ComposeProject) -> dict[int, dict]:
    """Gunicorn's workers: the gunicorn processes whose parent is a gunicorn process (the master).

    Gunicorn's executable is bin/gunicorn in the image's venv; the supervisor only names it in its arguments.
    """
    found = processes(project)
    gunicorn = {p["pid"] for p in found if "bin/gunicorn" in p["command"]}
    return {p["pid"]: p for p in found if p["pid"] in gunicorn and p["ppid"] in gunicorn}


class Stream:
    """An open event stream, read in a thread: the time of every event it receives."""

    def __init__(self, url: str):
        self.response = requests.get(url, stream=True, timeout=60, headers={"Accept": "text/event-stream"})
        self.events: list[float] = []
        self.errors: list[str] = []
        self.closing = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    json.loads(line[5:])  # valid JSON, or the test says so
                    self.events.append(time.monotonic())
        except Exception as error:  # noqa: BLE001  (what ended the stream, unless the test closed it)
            if not self.closing:
                self.errors.append(repr(error))

    def close(self) -> None:
        self.closing = True
        self.response.close()
        self.thread.join(10)


def ask(url: str) -> dict:
    """One request for the largest answer: what came back, checked to be whole."""
    began = time.monotonic()
    try:
        response = requests.get(url, timeout=ANSWER_TIMEOUT)
    except requests.RequestException as error:  # a cut answer (a killed worker) lands here
        return {"outcome": f"failed: {error!r}"}
    seconds = time.monotonic() - began
    try:
        body = response.json()
    except ValueError:
        return {"outcome": f"{response.status_code} not JSON ({len(response.content)} bytes)", "seconds": seconds}
    if response.status_code == 200:
        points = len(body["timestamps"])
        whole = points == 10_000 and all(
            len(series[key]) == points for series in body["series"].values() for key in ("min", "max", "mean"))
        return {"outcome": "200 whole" if whole else "200 cut", "sensors": len(body["series"]),
                "bytes": len(response.content), "seconds": seconds}
    retry = response.headers.get("Retry-After", "")
    refused = response.status_code in (429, 503) and retry.isdigit() and body.get("status") == response.status_code
    return {"outcome": f"{response.status_code} with Retry-After" if refused else f"{response.status_code} {body}",
            "seconds": seconds}


def test_forty_largest_answers_at_once_kill_no_worker_and_the_rest_is_served(stack):
    base = stack.url("nginx", 8080)
    requests.get(base + "/api/v1/history?seconds=60", timeout=30).raise_for_status()  # every worker warm
    before = workers(stack)
    assert len(before) >= 2, before
    stream = Stream(base + "/api/v1/stream")
    sensors_answers: list[int] = []
    done = threading.Event()

    def poll_sensors() -> None:
        while not done.is_set():
            try:
                sensors_answers.append(requests.get(base + "/api/v1/sensors", timeout=30).status_code)
            except requests.RequestException:
                sensors_answers.append(0)
            time.sleep(0.5)

    poller = threading.Thread(target=poll_sensors, daemon=True)
    poller.start()
    began = time.monotonic()
    try:
        with ThreadPoolExecutor(CONCURRENT) as pool:
            answers = list(pool.map(ask, [base + LARGEST] * CONCURRENT))
        ended = time.monotonic()
        # The stream goes on after the load (an event a second), unless it broke (asserted below).
        eventually(lambda: (stream.events and stream.events[-1] > ended) or stream.errors, "a stream event after the load")
    finally:
        done.set()
        poller.join(60)
        stream.close()
    after = workers(stack)
    logs = stack.cli("logs", "--no-color", "app").stdout
    # The container's peak (cgroup v1, as Docker 20.10 here; page cache of the database included).
    peak = stack.cli("exec", "-T", "app", "cat", "/sys/fs/cgroup/memory/memory.max_usage_in_bytes", check=False)

    outcomes: dict[str, int] = {}
    for answer in answers:
        outcomes[answer["outcome"]] = outcomes.get(answer["outcome"], 0) + 1
    served = [a for a in answers if a["outcome"] == "200 whole"]
    print(f"\n{CONCURRENT} x {LARGEST} in {ended - began:.1f} s: {outcomes}")
    if served:
        print(f"  a whole answer: {served[0]['sensors']} sensors, {served[0]['bytes'] / 1e6:.1f} MB, "
              f"{min(a['seconds'] for a in served):.1f}-{max(a['seconds'] for a in served):.1f} s")
    for pid, worker in sorted(after.items()):
        print(f"  worker {pid}: peak RSS (VmHWM) {worker['hwm_kib'] / 1024:.1f} MiB, now {worker['rss_kib'] / 1024:.1f} MiB "
              f"(before the load: peak {before.get(pid, {}).get('hwm_kib', 0) / 1024:.1f} MiB)")
    if peak.returncode == 0:
        print(f"  the app container's peak (cgroup, page cache included): {int(peak.stdout) / 2**20:.0f} MiB")
    print(f"  /api/v1/sensors meanwhile: {len(sensors_answers)} answers, {sorted(set(sensors_answers))}; "
          f"stream events meanwhile: {sum(began <= t <= ended for t in stream.events)}, errors {stream.errors}")
    print(f"  killed or cut in the log: {[line for line in logs.splitlines() if 'SIGKILL' in line or 'memory' in line]}")

    assert set(outcomes) <= {"200 whole", "503 with Retry-After", "429 with Retry-After"}, outcomes
    assert served, "at least one answer was made"
    assert sorted(after) == sorted(before), "a worker was replaced (killed)"
    assert "SIGKILL" not in logs and "out of memory" not in logs.lower(), logs[-3000:]
    assert sensors_answers and set(sensors_answers) == {200}
    assert not stream.errors, stream.errors
    assert any(began <= t <= ended for t in stream.events)  # events kept coming while the answers were made
    assert stream.events[-1] > ended, "the stream stopped"
