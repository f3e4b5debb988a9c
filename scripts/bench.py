#!/usr/bin/env python3
"""Measure FrostServer side by side with node_exporter on fake trees of 16 to 1024 sensors.

Run by `make bench` (after `make build`): for each tree size it starts the real stack
(compose.yaml + compose.test.yaml + compose.bench.yaml) and Debian's node_exporter (hwmon
collector only, same tree), loads both with wrk, counts sensor-attribute reads from outside the
app with inotify, and records sample time, CPU and memory. Beside the API it loads two
references through the same nginx: a static copy of the /api/v1/sensors answer (the ceiling) and
the uncached /api/v1/history (the app itself). Then, in-process, a long history query over a
seeded history on disk (`--history-only`: that alone). Writes BENCHMARKS.md and benchmarks.json.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import importlib
import itertools
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import docker
import requests
from docker.models.containers import Container

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILES = ["-f", "compose.yaml", "-f", "compose.test.yaml", "-f", "compose.bench.yaml"]
# One Compose project per run, so two runs on one engine (two checkouts, two engineers) never collide.
PROJECT = f"frostbench{os.getpid()}"
SIZES = (16, 64, 256, 1024)
IDLE_CPU_SIZES = (SIZES[0], 256)
CONNECTIONS = 32
NODE_EXPORTER = "prometheus-node-exporter"
API = "/api/v1/sensors"
# A copy of the API's answer in nginx's web root (compose.bench.yaml): what nginx alone can serve.
STATIC = "/bench/sensors.json"
HISTORY_SECONDS = 60
HISTORY = f"/api/v1/history?seconds={HISTORY_SECONDS}"  # never cached by nginx: every request reaches Gunicorn
LOADED_PATHS = (API, STATIC, "/metrics", "/")  # with reads counted; HISTORY before, without
# Sample times compared idle and under the history load: windows of this length, with no inotify
# watch (the kernel charges its event queueing to the reader, the sampler).
SAMPLE_WINDOW_SECONDS = 20
# The sample time under the history load against idle, in rounds: an idle window, then a loaded one
# right after it, HISTORY_ROUNDS times; the figure is the median of the rounds' ratios. On a machine
# whose other work comes and goes, one idle window and one loaded window 20 s apart measured that
# other work as much as the load (0.46x to 2.66x at 256 sensors in six runs of one day); each
# round's two windows see about the same background, and the median drops a disturbed round.
HISTORY_ROUNDS = 3
ROUND_SECONDS = 8
# What wrk gets: it sends no Accept-Encoding (requests would ask for gzip by default).
UNCOMPRESSED = {"Accept-Encoding": "identity"}
SETTLE_SECONDS = 2  # after a load, before reading steady memory: in-flight requests finish
# The history on disk: a day of 64 sensors, asked at the default step (about 1000 points), in
# the app's own process (Flask's test client: no nginx, no Gunicorn), timed over several requests.
HISTORY_QUERY_SENSORS = 64
HISTORY_QUERY_DAYS = 1
HISTORY_QUERY_REQUESTS = 20
HISTORY_QUERY_COLD_APPS = 5
HISTORY_QUERY_TARGET_MS = 100.0
STARTED = time.monotonic()

T = TypeVar("T")


def progress(message: str) -> None:
    """Print one progress line with the elapsed time."""
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


# --- where each side runs -------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuLayout:
    """Which CPUs the stack has and which the load generator runs on (taskset/cpuset lists)."""

    stack: str
    client: str

    @property
    def separate(self) -> bool:
        """Whether the two sides have CPUs of their own (not on a one-CPU machine)."""
        return self.stack != self.client


def cpu_layout() -> CpuLayout:
    """Give the load generator the last CPU this process may use and the stack all the others.

    A device's clients are other machines: wrk and this script on the stack's own CPUs would take
    CPU from it (and, at nice 0, from the sampler), which a device never sees. With one CPU there
    is nothing to split, and both share it (said in BENCHMARKS.md).
    """
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return CpuLayout(str(cpus[0]), str(cpus[0]))
    return CpuLayout(",".join(str(cpu) for cpu in cpus[:-1]), str(cpus[-1]))


LAYOUT = cpu_layout()


# --- wrk ------------------------------------------------------------------------------------------


@dataclass
class Load:
    """What wrk measured on one URL."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


_MS_PER_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    """Convert one of wrk's durations (`812.00us`, `2.41ms`, `1.02s`) to milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"wrk: unexpected duration {text!r}")
    return float(match.group(1)) * _MS_PER_UNIT[match.group(2)]


def _wrk_errors(report: str) -> int:
    """Non-2xx/3xx answers plus socket errors (connect, read, write, timeout) in a wrk report."""
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", report))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    return errors + (sum(int(n) for n in sockets.groups()) if sockets else 0)


def parse_wrk(report: str) -> Load:
    """Read req/s, p50, p99 and errors from wrk's `--latency` report."""
    # wrk pads durations in seconds or minutes (`1.02s `) with a trailing space, ms and us not.
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", report, re.MULTILINE))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", report)
    if len(percentiles) < 2 or rate is None:  # not one request completed
        return Load(0.0, float("nan"), float("nan"), 0)
    return Load(float(rate.group(1)), _ms(percentiles["50"]), _ms(percentiles["99"]), _wrk_errors(report))


def wrk(url: str, seconds: int, connections: int = CONNECTIONS) -> Load:
    """Load `url` with wrk (2 threads, fixed connections) and parse its latency report."""
    # A generous timeout: node_exporter reads the whole tree per scrape, which takes seconds on
    # a large tree under 32 connections; wrk's default (2 s) would count those as errors.
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", url]
    return parse_wrk(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


# --- reads counted from outside the app: inotify IN_ACCESS on every attribute directory ----------

IN_ACCESS = 0x00000001
_EVENT = struct.Struct("iIII")


class ReadCounter:
    """Count read() calls on files of a tree with inotify, from outside the reading process.

    The kernel merges an event into the previous one only when both are identical and the
    previous is still unread; the sampler reads different files in turn, so its reads are not
    merged while this thread keeps draining the queue.
    """

    def __init__(self, root: Path) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd: int = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        for directory, _, files in os.walk(root / "devices"):
            if files:
                libc.inotify_add_watch(self.fd, directory.encode(), IN_ACCESS)
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                time.sleep(0.02)
                continue
            offset = 0
            while offset < len(data):
                _, _, _, name_len = _EVENT.unpack_from(data, offset)
                self.count += 1
                offset += _EVENT.size + name_len

    def reads_per_second_during(self, action: Callable[[], T]) -> tuple[float, T]:
        """Run `action()` and return (reads per second while it ran, its result)."""
        start_count, start = self.count, time.monotonic()
        result = action()
        time.sleep(0.1)  # let the drain thread catch up
        return (self.count - start_count) / (time.monotonic() - start), result

    def close(self) -> None:
        """Stop counting and release the inotify descriptor."""
        self._stop.set()
        self._thread.join()
        os.close(self.fd)


# --- the stack ------------------------------------------------------------------------------------


@dataclass
class Stack:
    """A running stack: nginx's base URL, how long `up` took, and its containers by service."""

    base: str
    cold_up_s: float
    containers: dict[str, Container]


def compose(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `docker compose` on this run's project with the bench's compose files."""
    done = subprocess.run(
        ["docker", "compose", "-p", PROJECT, *COMPOSE_FILES, *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,  # checked below, with compose's own message
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"docker compose {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done


@contextmanager
def running_stack(tree: Path, static_dir: Path) -> Iterator[Stack]:
    """Start the stack on `tree` with `static_dir` in nginx's web root; bring it down afterwards."""
    # No rate limit: this measures capacity (a device keeps the default per-client limit).
    # A notification target, so that the notifier runs with Apprise loaded, as on a device that
    # notifies: its memory is part of the stack's. Nothing answers at that address.
    with tempfile.NamedTemporaryFile("w", prefix="frost-bench-", suffix=".toml", delete=False) as file:
        file.write('[alerts]\nnotify = ["json://127.0.0.1:9/bench"]\n')
    config = Path(file.name)
    config.chmod(0o644)
    env = {
        "FROST_TEST_SYSFS": str(tree),
        "FROST_TEST_CONFIG": str(config),
        "FROST_BENCH_STATIC_DIR": str(static_dir),
        "FROST_BENCH_STACK_CPUS": LAYOUT.stack,  # compose.bench.yaml: the containers' cpuset
        "FROST_LOG_LEVEL": "info",
        "FROST_API_RATE_LIMIT": "0",
    }
    try:
        # From `up` until /readyz answers 200 through nginx: when a user's dashboard has samples.
        # Not `up --wait`, which waits for Docker's first healthcheck (10 s after the start).
        started = time.monotonic()
        compose("up", "-d", env=env)
        port = compose("port", "nginx", "8080", env=env).stdout.strip().rsplit(":", 1)[1]
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base)
        cold_up = time.monotonic() - started
        wait_for_sensors(base)
        yield Stack(base, round(cold_up, 2), containers())
    finally:
        compose("down", "--volumes", env=env, check=False)
        config.unlink(missing_ok=True)


def wait_until_ready(base: str, timeout: float = 60) -> None:
    """Wait until /readyz answers 200 through nginx (nginx is up and the sampler has sampled)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(base + "/readyz", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass  # nginx is not listening yet
        if time.monotonic() > deadline:
            raise RuntimeError(f"/readyz not 200 through nginx after {timeout:.0f} s")
        time.sleep(0.05)


def wait_for_sensors(base: str, timeout: float = 30) -> None:
    """Wait until /api/v1/sensors lists sensors through nginx (the first sample has landed)."""
    deadline = time.monotonic() + timeout
    while not requests.get(base + API, timeout=5).json()["sensors"]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no sensors through nginx after {timeout:.0f} s")
        time.sleep(0.2)


def publish_static_copy(base: str, static_dir: Path) -> int:
    """Copy the API's current answer, as wrk gets it, to the static file; return its size in bytes."""
    answer = requests.get(base + API, headers=UNCOMPRESSED, timeout=5)
    copy = static_dir / Path(STATIC).name
    copy.write_bytes(answer.content)
    copy.chmod(0o644)  # nginx runs as its own unprivileged user
    served = requests.get(base + STATIC, headers=UNCOMPRESSED, timeout=5)
    # Like for like: the same bytes with the same type, so nginx treats both alike (gzip_types).
    if served.content != answer.content or served.headers.get("Content-Type") != answer.headers.get("Content-Type"):
        raise RuntimeError(
            f"nginx serves {STATIC} as HTTP {served.status_code} {served.headers.get('Content-Type')}, "
            f"not as a copy of {API}; see compose.bench.yaml"
        )
    return len(answer.content)


def history_answer(base: str) -> tuple[int, float]:
    """The history answer's size in bytes, and the seconds its samples are short of HISTORY_SECONDS."""
    answer = requests.get(base + HISTORY, headers=UNCOMPRESSED, timeout=5)
    document = answer.json()
    interval = float(document["interval"])
    return len(answer.content), HISTORY_SECONDS - interval * len(document["timestamps"])


def wait_for_full_history(base: str, sensors: int, timeout: float = 90) -> int:
    """Wait until the history spans HISTORY_SECONDS; return the size of its answer in bytes.

    A young stack's answer is shorter, and how young it is when this load starts depends on the
    steps before it (the CPU measurement runs at some sizes only): without the wait, the figure
    would not compare from size to size.
    """
    size, short = history_answer(base)
    if short > 0:
        progress(f"{sensors} sensors: waiting about {short:.0f} s for a full {HISTORY_SECONDS} s history")
    deadline = time.monotonic() + timeout
    while short > 0 and time.monotonic() < deadline:
        time.sleep(1)
        size, short = history_answer(base)
    if short > 0:
        progress(f"{sensors} sensors: the history is still {short:.0f} s short; loading it anyway")
    return size


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def node_exporter(tree: Path) -> Iterator[str]:
    """Run Debian's node_exporter (hwmon collector only) on `tree`; yield its /metrics URL."""
    address = f"127.0.0.1:{free_port()}"  # not a fixed port: another run may have one open
    # On the stack's CPUs, like the stack it is compared with (taskset: every thread it starts, too).
    command = [
        "taskset",
        "--cpu-list",
        LAYOUT.stack,
        NODE_EXPORTER,
        "--collector.disable-defaults",
        "--collector.hwmon",
        f"--path.sysfs={tree}",
        f"--web.listen-address={address}",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://{address}/metrics"
    try:
        for _ in range(50):
            try:
                if requests.get(url, timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def containers() -> dict[str, Container]:
    """This run's running containers, by Compose service."""
    found = docker.from_env().containers.list(filters={"label": f"com.docker.compose.project={PROJECT}"})
    return {c.labels["com.docker.compose.service"]: c for c in found}


def _stats(container: Container) -> dict[str, Any]:
    stats = container.stats(stream=False)
    if not isinstance(stats, dict):  # one snapshot without stream=True, but typed as either
        raise TypeError(f"docker stats of {container.name}: {type(stats).__name__}, not one snapshot")
    return stats


def cpu_seconds(container: Container) -> float:
    """CPU time the container has used so far, in seconds."""
    return float(_stats(container)["cpu_stats"]["cpu_usage"]["total_usage"]) / 1e9


# --- memory: each process's share (PSS), and each container's as its cgroup counts it -------------


@dataclass
class ProcessMemory:
    """One process of the stack: what it is, and its memory in MiB (/proc/<pid>/smaps_rollup)."""

    container: str  # its Compose service
    role: str  # "sampler", "Gunicorn worker", "nginx worker"...
    pss_mb: float  # its share of what it maps: a page shared by n processes counts 1/n in each
    rss_mb: float  # what it maps: pages shared with others count in full in each of them
    uss_mb: float  # what it alone maps: what its end would give back


def cgroup_dir(pid: int, controller: str) -> Path:
    """The directory of the cgroup that holds `pid` for `controller` (cgroup v1), or its unified one (v2)."""
    unified = None
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path("/sys/fs/cgroup", controllers, path.lstrip("/"))
        if not controllers:
            unified = Path("/sys/fs/cgroup", path.lstrip("/"))
    if unified is None:
        raise RuntimeError(f"no {controller} cgroup for pid {pid} in /proc/{pid}/cgroup")
    return unified


def _kib(text: str, key: str) -> int:
    found = re.search(rf"^{key}:\s+(\d+) kB$", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


def _role(pid: int, init: int, argv: list[str], parent: int, gunicorn_master: int | None) -> str:
    """Name a process of the stack by its command line and its parent."""
    command = " ".join(argv)
    for needle, role in (
        ("frostserver.sampler", "sampler"),
        ("frostserver.alerts.notifier", "notifier"),
        ("frostserver.alerts.send", "notifier's sending child"),
        ("nginx: master", "nginx master"),
        ("nginx: worker", "nginx worker"),
        ("nginx: cache manager", "nginx cache manager"),
        ("nginx: cache loader", "nginx cache loader"),
    ):
        if needle in command:
            return role
    if pid == init:
        return "supervisor (PID 1)" if "frostserver.supervisor" in command else "PID 1"
    if "gunicorn" in command:
        return "Gunicorn worker" if parent == gunicorn_master else "Gunicorn master"
    return Path(argv[0]).name if argv else "?"  # a healthcheck's bash, an exec


def process_memory(name: str, container: Container) -> list[ProcessMemory]:
    """Every process of a container, with its PSS, RSS and USS (root reads any process's smaps_rollup)."""
    container.reload()
    init = int(container.attrs["State"]["Pid"])
    pids = [int(p) for p in (cgroup_dir(init, "memory") / "cgroup.procs").read_text().split()]
    found: dict[int, tuple[list[str], int, str]] = {}
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
            stat = Path(f"/proc/{pid}/stat").read_text()
            found[pid] = (
                argv,
                int(stat[stat.rindex(")") + 2 :].split()[1]),
                Path(f"/proc/{pid}/smaps_rollup").read_text(),
            )
        except (OSError, ValueError):
            continue  # ended meanwhile (a healthcheck's exec)
    master = next(
        (pid for pid, (argv, parent, _) in found.items() if parent == init and "gunicorn" in " ".join(argv)), None
    )
    processes = []
    for pid, (argv, parent, rollup) in sorted(found.items()):
        private = _kib(rollup, "Private_Clean") + _kib(rollup, "Private_Dirty")
        processes.append(
            ProcessMemory(
                name,
                _role(pid, init, argv, parent, master),
                round(_kib(rollup, "Pss") / 1024, 1),
                round(_kib(rollup, "Rss") / 1024, 1),
                round(private / 1024, 1),
            )
        )
    return processes


def unreclaimable_mb(container: Container) -> float:
    """The container's memory the kernel cannot reclaim: anonymous pages and tmpfs files, each counted once.

    Its cgroup's own count (memory.stat), page cache left out, tmpfs kept: without swap, a tmpfs
    file (the ring of recent samples) stays in RAM as long as it exists, mapped or not.
    """
    container.reload()
    lines = (cgroup_dir(int(container.attrs["State"]["Pid"]), "memory") / "memory.stat").read_text().splitlines()
    stat = {key: int(value) for key, value in (line.split() for line in lines)}
    if "total_rss" in stat:  # cgroup v1 (hierarchical totals)
        return (stat["total_rss"] + stat["total_shmem"]) / 2**20
    return (stat["anon"] + stat["shmem"]) / 2**20


def sample_totals(base: str) -> tuple[float, float]:
    """(sum, count) of the app's own sample-duration histogram (frost_sample_duration_seconds)."""
    text = requests.get(base + "/metrics", timeout=5).text
    total = re.search(r"^frost_sample_duration_seconds_sum(?:\{[^}]*\})? ([\d.e+-]+)$", text, re.MULTILINE)
    count = re.search(r"^frost_sample_duration_seconds_count(?:\{[^}]*\})? ([\d.e+-]+)$", text, re.MULTILINE)
    return (float(total.group(1)), float(count.group(1))) if total and count else (0.0, 0.0)


def mean_sample_ms(base: str, action: Callable[[], T]) -> tuple[float | None, T]:
    """Run `action()`; return the mean duration (ms) of the samples taken meanwhile, and its result."""
    before = sample_totals(base)
    result = action()
    after = sample_totals(base)
    samples = after[1] - before[1]
    return (round(1000 * (after[0] - before[0]) / samples, 3) if samples else None), result


def idle_cpu_percent(base: str, app: Container, seconds: float) -> float:
    """CPU of the app container, in % of one core, with one dashboard's event stream open."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as stream:
        stream.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
        stream.settimeout(2)
        stream.recv(4096)
        time.sleep(2)
        before, start = cpu_seconds(app), time.monotonic()
        end = start + seconds
        while time.monotonic() < end:  # keep reading so the stream really flows
            with suppress(TimeoutError):
                stream.recv(65536)
        return 100 * (cpu_seconds(app) - before) / (time.monotonic() - start)


# --- one tree size --------------------------------------------------------------------------------


@dataclass
class Row:
    """Everything measured on one tree size."""

    sensors: int
    attribute_files: int
    frost: dict[str, Load] = field(default_factory=dict)  # wrk through nginx, by path
    node_exporter: Load | None = None
    answer_bytes: dict[str, int] = field(default_factory=dict)  # uncompressed, by path
    reads_per_second_idle: float = 0.0
    reads_per_second_under: dict[str, float] = field(default_factory=dict)  # while wrk loads a path
    reads_per_second_node_exporter: float = 0.0
    sample_ms_idle: float | None = None
    sample_ms_under: dict[str, float | None] = field(default_factory=dict)  # while wrk loads a path
    cold_up_s: float = 0.0
    idle_cpu_percent: float | None = None
    processes: list[ProcessMemory] = field(default_factory=list)  # read after the loads
    unreclaimable_mb: dict[str, float] = field(default_factory=dict)  # by container, read after the loads
    # (idle, under the history load) mean sample ms of each round (HISTORY_ROUNDS)
    history_rounds: list[tuple[float | None, float | None]] = field(default_factory=list)

    @property
    def history_ratio(self) -> float | None:
        """The sample time under the history load over idle: the median of the rounds' ratios."""
        ratios = [loaded / idle for idle, loaded in self.history_rounds if idle and loaded is not None]
        return statistics.median(ratios) if ratios else None

    @property
    def stack_pss_mb(self) -> float | None:
        """The whole stack's memory: the sum of its processes' PSS (each page counted once in all)."""
        return round(sum(p.pss_mb for p in self.processes), 1) if self.processes else None


@contextmanager
def temporary_directory(prefix: str) -> Iterator[Path]:
    """A fresh directory the containers' unprivileged users can read, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def build_tree(root: Path, sensors: int) -> None:
    """Build a synthetic sysfs tree of `sensors` sensors with the tests' own builder."""
    # tests/ is a directory of modules, not a package: put it on the path, as tests/conftest.py does.
    if str(REPO / "tests") not in sys.path:
        sys.path.insert(0, str(REPO / "tests"))
    importlib.import_module("fakesysfs").build_synthetic_tree(root, sensors)


def measure_idle(stack: Stack, row: Row, idle_seconds: int) -> None:
    """Sample time, and app CPU with one dashboard open, while no load runs."""
    progress(f"{row.sensors} sensors: sample time at idle ({SAMPLE_WINDOW_SECONDS} s)")
    time.sleep(2)  # past the first samples, which also read every chip's metadata
    row.sample_ms_idle, _ = mean_sample_ms(stack.base, lambda: time.sleep(SAMPLE_WINDOW_SECONDS))
    if idle_seconds and row.sensors in IDLE_CPU_SIZES:
        progress(f"{row.sensors} sensors: app CPU with one dashboard stream ({idle_seconds} s)")
        row.idle_cpu_percent = round(idle_cpu_percent(stack.base, stack.containers["app"], idle_seconds), 2)


def load_path(base: str, path: str, counter: ReadCounter, seconds: int) -> tuple[Load, float, float | None]:
    """wrk on one path; also the sensor reads per second and the mean sample time (ms) meanwhile."""

    def run() -> Load:
        return wrk(base + path, seconds)

    sample_ms, (reads, load) = mean_sample_ms(base, lambda: counter.reads_per_second_during(run))
    return load, reads, sample_ms


def measure_history(stack: Stack, row: Row) -> None:
    """The app itself, uncached, and the sample time meanwhile, as idle: no inotify watch, same window."""
    row.answer_bytes[HISTORY] = wait_for_full_history(stack.base, row.sensors)
    progress(f"{row.sensors} sensors: wrk {HISTORY} ({SAMPLE_WINDOW_SECONDS} s, {CONNECTIONS} connections)")
    sample_ms, load = mean_sample_ms(stack.base, lambda: wrk(stack.base + HISTORY, SAMPLE_WINDOW_SECONDS))
    row.frost[HISTORY], row.sample_ms_under[HISTORY] = load, sample_ms
    progress(f"{row.sensors} sensors: {HISTORY_ROUNDS} rounds of {ROUND_SECONDS} s idle, {ROUND_SECONDS} s under it")
    for _ in range(HISTORY_ROUNDS):
        time.sleep(SETTLE_SECONDS)  # the previous load's requests in flight finish outside the idle window
        idle, _ = mean_sample_ms(stack.base, lambda: time.sleep(ROUND_SECONDS))
        loaded, _ = mean_sample_ms(stack.base, lambda: wrk(stack.base + HISTORY, ROUND_SECONDS))
        row.history_rounds.append((idle, loaded))


def measure_loads(stack: Stack, row: Row, counter: ReadCounter, seconds: int) -> None:
    """Load each path through nginx in turn, one at a time."""
    for path in LOADED_PATHS:
        progress(f"{row.sensors} sensors: wrk {path} ({seconds} s, {CONNECTIONS} connections)")
        load, reads, sample_ms = load_path(stack.base, path, counter, seconds)
        row.frost[path], row.reads_per_second_under[path], row.sample_ms_under[path] = load, reads, sample_ms


def measure_node_exporter(tree: Path, row: Row, counter: ReadCounter, seconds: int) -> None:
    """Load node_exporter's /metrics on the same tree, the stack being down."""
    progress(f"{row.sensors} sensors: node_exporter /metrics ({seconds} s)")
    with node_exporter(tree) as url:
        row.reads_per_second_node_exporter, row.node_exporter = counter.reads_per_second_during(
            lambda: wrk(url, seconds)
        )


def measure(size: int, seconds: int, idle_seconds: int) -> Row:
    """Measure one tree size: the stack idle, then under each load, then node_exporter alone."""
    with ExitStack() as cleanup:
        tree = cleanup.enter_context(temporary_directory(f"frost-bench-{size}-"))
        static_dir = cleanup.enter_context(temporary_directory(f"frost-bench-static-{size}-"))
        build_tree(tree, size)
        row = Row(size, sum(len(files) for _, _, files in os.walk(tree / "devices")))
        progress(f"{size} sensors: tree built ({row.attribute_files} files); starting the stack")
        with running_stack(tree, static_dir) as stack:
            row.cold_up_s = stack.cold_up_s
            row.answer_bytes[API] = publish_static_copy(stack.base, static_dir)
            progress(
                f"{size} sensors: ready in {stack.cold_up_s:.1f} s; {API} answer ({row.answer_bytes[API]:,} B) "
                f"copied to {STATIC}"
            )
            measure_idle(stack, row, idle_seconds)
            measure_history(stack, row)
            # Only now: the kernel charges inotify's event queueing to the reader, here the sampler.
            counter = cleanup.enter_context(ReadCounter(tree))
            progress(f"{size} sensors: counting reads at idle")
            row.reads_per_second_idle, _ = counter.reads_per_second_during(lambda: time.sleep(5))
            measure_loads(stack, row, counter, seconds)
            progress(f"{size} sensors: steady memory, {SETTLE_SECONDS} s after the last load")
            time.sleep(SETTLE_SECONDS)
            running = {name: c for name, c in stack.containers.items() if name != "web"}  # web has exited
            row.processes = [p for name, c in running.items() for p in process_memory(name, c)]
            row.unreclaimable_mb = {name: round(unreclaimable_mb(c), 1) for name, c in running.items()}
        measure_node_exporter(tree, row, counter, seconds)
    summarize(row)
    return row


def summarize(row: Row) -> None:
    """Print the size's headline figures as progress lines."""
    api, static, history = row.frost[API], row.frost[STATIC], row.frost[HISTORY]
    progress(
        f"{row.sensors} sensors: {API} {api.requests_per_second:,.0f} req/s (p99 {api.p99_ms:.1f} ms), "
        f"static copy {static.requests_per_second:,.0f} req/s (p99 {static.p99_ms:.1f} ms): "
        f"{_times(api.requests_per_second, static.requests_per_second)} req/s, {_times(api.p99_ms, static.p99_ms)} p99"
    )
    progress(
        f"{row.sensors} sensors: {HISTORY} {history.requests_per_second:,.0f} req/s "
        f"(p50 {history.p50_ms:.1f}, p99 {history.p99_ms:.1f} ms, {history.errors} errors); one sample "
        f"{_ms_text(row.sample_ms_idle)} ms idle, {_ms_text(row.sample_ms_under[HISTORY])} ms under it"
    )
    if row.node_exporter is not None:
        progress(f"{row.sensors} sensors: node_exporter {row.node_exporter.requests_per_second:,.0f} req/s")


# --- report ---------------------------------------------------------------------------------------


def measure_history_query() -> dict[str, Any]:
    """Time GET /api/v1/history?seconds=<a day> over a seeded history on disk, in-process, cold and warm.

    Cold: the first such request of a freshly made app (a worker just started: no folded points
    cached), HISTORY_QUERY_COLD_APPS apps in turn. Warm: HISTORY_QUERY_REQUESTS more to the last app.
    """
    if str(REPO / "services" / "app") not in sys.path:
        sys.path.insert(0, str(REPO / "services" / "app"))
    seed = importlib.import_module("frostserver.history.seed")
    create_app = importlib.import_module("frostserver.http").create_app
    seconds = HISTORY_QUERY_DAYS * 86400
    path = f"/api/v1/history?seconds={seconds}"
    with temporary_directory("frost-history-bench-") as work:
        progress(f"history query: seeding {HISTORY_QUERY_DAYS} day(s) of {HISTORY_QUERY_SENSORS} sensors")
        seed.seed(work / "history.db", HISTORY_QUERY_DAYS + 1, HISTORY_QUERY_SENSORS)
        cold = []
        for _ in range(HISTORY_QUERY_COLD_APPS):
            app = create_app({"run_dir": work / "run", "history_dir": work})  # no sampler: no ring, the tiers alone
            client = app.test_client()
            started = time.perf_counter()
            first = client.get(path)
            data = first.get_data()  # the whole answer, rendered
            cold.append((time.perf_counter() - started) * 1000)
            if first.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {first.status_code}: {data[:200]!r}")
        body = json.loads(data)
        warm = []
        for _ in range(HISTORY_QUERY_REQUESTS):
            started = time.perf_counter()
            size = len(client.get(path).get_data())
            warm.append((time.perf_counter() - started) * 1000)
    cold.sort()
    warm.sort()
    result = {
        "sensors": HISTORY_QUERY_SENSORS,
        "seconds": seconds,
        "step": body["step"],
        "points": len(body["timestamps"]),
        "sources": [part["source"] for part in body["parts"]],
        "answer_bytes": size,
        "requests": len(warm),
        "min_ms": round(warm[0], 1),
        "p50_ms": round(warm[len(warm) // 2], 1),
        "max_ms": round(warm[-1], 1),
        "cold_requests": len(cold),
        "cold_min_ms": round(cold[0], 1),
        "cold_p50_ms": round(cold[len(cold) // 2], 1),
        "cold_max_ms": round(cold[-1], 1),
    }
    progress(
        f"history query: {path} warm p50 {result['p50_ms']} ms (min {result['min_ms']}, max {result['max_ms']}); "
        f"cold p50 {result['cold_p50_ms']} ms (min {result['cold_min_ms']}, max {result['cold_max_ms']})"
    )
    return result


def image_sizes() -> dict[str, float]:
    """Sizes (MB) of this checkout's images and of their base image."""
    images = docker.from_env().images
    tag = os.environ.get("FROST_IMAGE_TAG", "latest")
    sizes = {name: images.get(f"frostserver/{name}:{tag}").attrs["Size"] / 1e6 for name in ("app", "nginx", "web")}
    sizes["base (debian:trixie-slim)"] = images.get("debian:trixie-slim").attrs["Size"] / 1e6
    return {k: round(v, 1) for k, v in sizes.items()}


def _times(numerator: float | None, denominator: float | None) -> str:
    """`numerator / denominator` as `0.97x`, or n/a when either is missing."""
    if numerator is None or denominator is None or not denominator or math.isnan(numerator / denominator):
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def _ms_text(ms: float | None) -> str:
    return "n/a" if ms is None else f"{ms:.2f}"


def _rps(load: Load | None) -> str:
    return "n/a" if load is None else f"{load.requests_per_second:,.0f}"


def _latency(load: Load | None) -> str:
    return "n/a" if load is None else f"{load.p50_ms:.2f} / {load.p99_ms:.2f}"


def _vs_node_exporter(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}x" if theirs else "n/a (node_exporter completed no request)"


def _node_exporter_rps(row: Row) -> float:
    return 0.0 if row.node_exporter is None else row.node_exporter.requests_per_second


Target = tuple[str, str, bool]


def _target_vs_node_exporter(rows: list[Row]) -> Target | None:
    ratios = [(r.sensors, r.frost[API].requests_per_second, _node_exporter_rps(r)) for r in rows]
    return (
        f"`{API}` >= 20x node_exporter's `/metrics` req/s",
        ", ".join(f"{n}: {_vs_node_exporter(ours, theirs)}" for n, ours, theirs in ratios),
        all(theirs == 0 or ours >= 20 * theirs for _, ours, theirs in ratios),
    )


def _target_api_p99(rows: list[Row]) -> Target | None:
    p99 = [(r.sensors, r.frost[API].p99_ms) for r in rows]
    return (
        f"`{API}` p99 < 10 ms at {CONNECTIONS} connections",
        ", ".join(f"{n}: {ms:.1f} ms" for n, ms in p99),
        all(ms < 10 for _, ms in p99),
    )


def _row_256(rows: list[Row]) -> Row | None:
    return next((r for r in rows if r.sensors == 256 and r.sample_ms_idle is not None), None)


def _target_sample_256(rows: list[Row]) -> Target | None:
    row = _row_256(rows)
    if row is None or row.sample_ms_idle is None:
        return None
    return ("one sample of 256 sensors < 5 ms", f"{row.sample_ms_idle:.2f} ms (idle)", row.sample_ms_idle < 5)


def _target_sample_under_history(rows: list[Row]) -> Target | None:
    row = _row_256(rows)
    if row is not None and row.history_ratio is not None:
        rounds = "; ".join(f"{_ms_text(loaded)} / {_ms_text(idle)} ms" for idle, loaded in row.history_rounds)
        return (
            f"one sample of 256 sensors while `{HISTORY}` is loaded <= 1.5x its idle time",
            f"{row.history_ratio:.2f}x, the median of {len(row.history_rounds)} rounds (loaded / idle: {rounds})",
            row.history_ratio <= 1.5,
        )
    loaded = None if row is None else row.sample_ms_under.get(HISTORY)
    if row is None or row.sample_ms_idle is None or loaded is None:
        return None
    return (
        f"one sample of 256 sensors while `{HISTORY}` is loaded <= 1.5x its idle time",
        f"{loaded:.2f} ms loaded, {row.sample_ms_idle:.2f} ms idle: {_times(loaded, row.sample_ms_idle)}",
        loaded <= 1.5 * row.sample_ms_idle,
    )


def _target_linear(rows: list[Row]) -> Target | None:
    samples = [(r.sensors, r.sample_ms_idle) for r in rows if r.sample_ms_idle]
    if len(samples) < 2:
        return None
    per_sensor = [ms / n * 1000 for n, ms in samples if ms is not None]
    # Linear or better: the cost per sensor must not rise with size (a fixed per-sample
    # overhead makes small trees dearer per sensor); 25 % allows for noise.
    linear = all(later <= 1.25 * earlier for earlier, later in itertools.pairwise(per_sensor))
    measured = ", ".join(f"{n}: {us:.0f} us/sensor" for (n, _), us in zip(samples, per_sensor, strict=True))
    return ("sample time grows at most linearly with sensors", measured, linear)


def _target_memory(rows: list[Row]) -> Target | None:
    memory = [(r.sensors, r.stack_pss_mb) for r in rows if r.stack_pss_mb is not None]
    if not memory:
        return None
    return (
        "whole stack steady memory < 100 MB, a notification target configured (the sum of its processes' PSS)",
        ", ".join(f"{n}: {mb:.0f} MB" for n, mb in memory),
        all(mb < 100 for _, mb in memory),
    )


def _target_idle_cpu(rows: list[Row]) -> Target | None:
    cpu = [(r.sensors, r.idle_cpu_percent) for r in rows if r.idle_cpu_percent is not None]
    return (
        "idle app CPU < 1 % of a core with one dashboard open",
        ", ".join(f"{n}: {c:.2f} %" for n, c in cpu),
        all(c < 1 for _, c in cpu),
    )


def _target_cold_up(rows: list[Row]) -> Target | None:
    ups = [r.cold_up_s for r in rows]
    return (
        "ready (`/readyz` 200 through nginx) within 5 s of `docker compose up`",
        f"{min(ups):.2f}-{max(ups):.2f} s",
        all(u <= 5 for u in ups),
    )


TARGETS: tuple[Callable[[list[Row]], Target | None], ...] = (
    _target_vs_node_exporter,
    _target_api_p99,
    _target_sample_256,
    _target_sample_under_history,
    _target_linear,
    _target_memory,
    _target_idle_cpu,
    _target_cold_up,
)


def targets(rows: list[Row]) -> list[Target]:
    """The issue's targets, each with what this run measured and whether it was met."""
    return [target for check in TARGETS if (target := check(rows)) is not None]


def row_from_json(raw: dict[str, Any]) -> Row:
    """One row of benchmarks.json, also as written before the ceiling and history loads existed."""
    fields = dict(raw)
    frost = {path: Load(**load) for path, load in fields.pop("frost").items()}
    theirs = fields.pop("node_exporter")
    # Older files have one figure under load, the API's.
    if "sample_ms_loaded" in fields:
        fields["sample_ms_under"] = {API: fields.pop("sample_ms_loaded")}
    if "reads_per_second_loaded" in fields:
        fields["reads_per_second_under"] = {API: fields.pop("reads_per_second_loaded")}
    # Older files have each container's cgroup RSS, not comparable with PSS: shown as not measured.
    fields.pop("rss_mb", None)
    processes = [ProcessMemory(**p) for p in fields.pop("processes", [])]
    return Row(**fields, frost=frost, node_exporter=None if theirs is None else Load(**theirs), processes=processes)


def rows_from_json(path: Path) -> tuple[list[Row], dict[str, float], dict[str, Any]]:
    """Read a run back from benchmarks.json (to re-render BENCHMARKS.md without measuring)."""
    data = json.loads(path.read_text())
    return [row_from_json(raw) for raw in data["rows"]], data["images_mb"], data["meta"]


def _intro(meta: dict[str, Any]) -> list[str]:
    return [
        "# Benchmarks",
        "",
        (
            f"Measured by `make bench` on {meta['date']} ({meta['machine']}, {meta['cpus']} cores), "
            f"wrk with {CONNECTIONS} connections for {meta['seconds']} s per endpoint, one endpoint at a time, "
            f"node_exporter {meta['node_exporter']} (hwmon collector only) on the same tree. Figures are from one run."
        ),
        "",
        (
            f"The ceiling is what the same nginx serves from a static file in the same run: a copy of each size's "
            f"`{API}` answer, saved as `.json` in the web root (`compose.bench.yaml`). Same bytes and same "
            "`Content-Type: application/json`, so both take the same path through nginx, gzip included (`gzip_types` "
            "lists JSON); wrk sends no `Accept-Encoding`, so neither is compressed here. "
            f"`{HISTORY}` is never cached by nginx, so every request reaches Gunicorn; it is loaded for "
            f"{SAMPLE_WINDOW_SECONDS} s once the history holds the full {HISTORY_SECONDS} s. Sample times are the "
            "app's own `frost_sample_duration_seconds` (the mean of the samples taken during each step); idle and "
            f"under the history load they are compared over {SAMPLE_WINDOW_SECONDS} s windows with no inotify watch "
            "(the kernel charges the watch's events to the sampler's reads), the other loads count reads with one; "
            f"then in {HISTORY_ROUNDS} rounds of {ROUND_SECONDS} s idle and {ROUND_SECONDS} s under the history load, "
            "and the target takes the median of the rounds' ratios: each round's two windows see about the same "
            "background work of the machine, which one pair of windows 20 s apart did not. "
            f"Idle CPU is measured before any load ({meta.get('idle_seconds', 20)} s), memory after them all."
        ),
        "",
        _layout_text(meta),
    ]


def _layout_text(meta: dict[str, Any]) -> str:
    """Say where the stack and the load generator ran, and what that layout measures."""
    stack, client = meta.get("stack_cpus"), meta.get("client_cpus")
    if stack is None or client is None:
        return (
            "wrk ran on the same cores as the stack (this run predates the split): its CPU is CPU the stack "
            "did not get, which a device's remote clients never take."
        )
    if stack == client:
        return (
            f"One CPU ({stack}): wrk, this script and node_exporter share it with the stack, so the figures under "
            "load are lower than a device with remote clients would give."
        )
    return (
        f"**Where each side runs.** The stack's containers have CPU {stack} (`cpuset` in `compose.bench.yaml`), "
        f"and so has node_exporter (`taskset`); wrk and this script run on CPU {client} (the script pins itself, "
        "wrk inherits it). So every figure is the stack's alone, as on a device whose clients are other machines: "
        "wrk's own CPU, at nice 0, no longer competes with the sampler. On this 2-core machine that leaves the stack "
        "one core: the figures are a one-core device's, the sampler sharing its core with Gunicorn's two workers "
        "(nice 10) and nginx. A device gives the stack all its cores; it would serve more requests a second than "
        "this, not fewer. The runs before this split (wrk beside the stack on both cores) measured the stack "
        "with about one core and a half and a client taking from the sampler's core: their throughput figures "
        "are not comparable with these, and they are not repeated here."
    )


def _throughput(rows: list[Row]) -> list[str]:
    lines = [
        "## Throughput and latency through nginx",
        "",
        (
            f"| sensors | `{API}` req/s | p50 / p99 ms | `/metrics` req/s | p50 / p99 ms | `/` req/s "
            "| p50 / p99 ms | node_exporter req/s | p50 / p99 ms | sensors API / node_exporter |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        api, metrics, index = r.frost[API], r.frost.get("/metrics"), r.frost.get("/")
        lines.append(
            f"| {r.sensors} | {_rps(api)} | {_latency(api)} | {_rps(metrics)} | {_latency(metrics)} "
            f"| {_rps(index)} | {_latency(index)} | {_rps(r.node_exporter)} | {_latency(r.node_exporter)} "
            f"| {_vs_node_exporter(api.requests_per_second, _node_exporter_rps(r))} |"
        )
    return lines


def _ceiling(rows: list[Row]) -> list[str]:
    lines = [
        f"## `{API}` against its ceiling: the same answer as a static file, same nginx",
        "",
        (
            f"| sensors | answer bytes | static copy req/s | p50 / p99 ms | `{API}` req/s | p50 / p99 ms "
            "| API / static req/s | API / static p99 |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        api, static = r.frost[API], r.frost.get(STATIC)
        size = r.answer_bytes.get(API)
        lines.append(
            f"| {r.sensors} | {'n/a' if size is None else f'{size:,}'} | {_rps(static)} | {_latency(static)} "
            f"| {_rps(api)} | {_latency(api)} "
            f"| {_times(api.requests_per_second, None if static is None else static.requests_per_second)} "
            f"| {_times(api.p99_ms, None if static is None else static.p99_ms)} |"
        )
    return lines


def _history(rows: list[Row]) -> list[str]:
    lines = [
        f"## The app itself, uncached: `{HISTORY}`, and sampling under its load",
        "",
        (
            "| sensors | answer bytes | req/s | p50 / p99 ms | errors | one sample, idle (ms) "
            "| one sample, under history load (ms) | under load / idle "
            f"| in {HISTORY_ROUNDS} rounds of {ROUND_SECONDS} s idle, then {ROUND_SECONDS} s loaded: "
            "the median of their ratios |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        history, loaded = r.frost.get(HISTORY), r.sample_ms_under.get(HISTORY)
        size = r.answer_bytes.get(HISTORY)
        lines.append(
            f"| {r.sensors} | {'n/a' if size is None else f'{size:,}'} | {_rps(history)} | {_latency(history)} "
            f"| {'n/a' if history is None else history.errors} | {_ms_text(r.sample_ms_idle)} | {_ms_text(loaded)} "
            f"| {_times(loaded, r.sample_ms_idle)} "
            f"| {'n/a' if r.history_ratio is None else f'{r.history_ratio:.2f}x'} |"
        )
    return lines


def _history_query(query: dict[str, Any] | None) -> list[str]:
    lines = [
        "## The history on disk: a long range at the default step, in-process",
        "",
        (
            "`python -m frostserver.history.seed` fills the minute and hour tiers; Flask's test client asks "
            "`/api/v1/history?seconds=<range>` with no sampler running (no RAM ring: every point from the tiers); "
            "the time includes rendering the whole JSON. Cold: the first request of a freshly made app (a worker "
            f"just started, no folded points cached), {HISTORY_QUERY_COLD_APPS} apps; warm: {HISTORY_QUERY_REQUESTS} "
            "more requests to the last one (the same range: its whole blocks of points come from the worker's cache, "
            "the newest block is folded again)."
        ),
        "",
        "| sensors | range | step | points per sensor | sources | answer bytes | cold min / p50 / max ms "
        "| warm min / p50 / max ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    if query is None:
        return [*lines, "| not measured in this run | | | | | | | |"]
    cold = (
        f"{query['cold_min_ms']} / {query['cold_p50_ms']} / {query['cold_max_ms']}"
        if "cold_p50_ms" in query
        else "not measured"
    )
    return [
        *lines,
        f"| {query['sensors']} | {query['seconds'] / 3600:g} h | {query['step']} s | {query['points']} "
        f"| {', '.join(query['sources'])} | {query['answer_bytes']:,} | {cold} "
        f"| {query['min_ms']} / {query['p50_ms']} / {query['max_ms']} |",
    ]


def _reads(rows: list[Row]) -> list[str]:
    lines = [
        "## Sensor reads (counted from outside the app with inotify) and sampling",
        "",
        (
            f"| sensors | attribute files | reads/s idle | reads/s under `{API}` load | reads/s node_exporter "
            "under load | one sample, idle (ms) | one sample, under API load (ms) | cold `up` to ready (s) |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.sensors} | {r.attribute_files} | {r.reads_per_second_idle:,.0f} "
            f"| {r.reads_per_second_under.get(API, 0):,.0f} | {r.reads_per_second_node_exporter:,.0f} "
            f"| {_ms_text(r.sample_ms_idle)} | {_ms_text(r.sample_ms_under.get(API))} | {r.cold_up_s:.1f} |"
        )
    return lines


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _memory(rows: list[Row]) -> list[str]:
    lines = [
        "## Memory (after the loads) and CPU (before them)",
        "",
        (
            "The stack's memory is the sum of its processes' PSS (`/proc/<pid>/smaps_rollup`): a page that n "
            "processes share counts 1/n in each, so Gunicorn's workers, which share most of their master's pages "
            "since the fork, are not counted three times over (the sum of their RSS would be), and each "
            "process's code and the ring of recent samples it maps count too. Beside it, what the two "
            "containers' cgroups hold that the kernel cannot reclaim: anonymous memory and tmpfs files, each page "
            "once, mapped or not (`memory.stat`; page cache left out). CPU: the app container's, from its cgroup, "
            "with one dashboard's event stream open, the healthcheck's execs included."
        ),
        "",
        (
            "| sensors | stack MB (sum of PSS) | app MB | nginx MB | cgroups' anonymous + tmpfs MB "
            "| app CPU with one dashboard open |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        cpu = "" if r.idle_cpu_percent is None else f"{r.idle_cpu_percent:.2f} % of a core"
        by_container = {
            name: round(sum(p.pss_mb for p in r.processes if p.container == name), 1) for name in ("app", "nginx")
        }
        held = round(sum(r.unreclaimable_mb.values()), 1) if r.unreclaimable_mb else None
        lines.append(
            f"| {r.sensors} | {_mb(r.stack_pss_mb)} | {_mb(by_container['app'] if r.processes else None)} "
            f"| {_mb(by_container['nginx'] if r.processes else None)} | {_mb(held)} | {cpu} |"
        )
    return lines


def _processes(rows: list[Row]) -> list[str]:
    """Where the memory goes: each process of the largest tree's stack, after the loads."""
    measured = [r for r in rows if r.processes]
    if not measured:
        return []
    row = max(measured, key=lambda r: r.sensors)
    lines = [
        f"### Where the memory goes: each process at {row.sensors} sensors, after the loads",
        "",
        (
            "PSS is the process's share (the table's sum is the stack's figure); RSS counts shared pages in "
            "full in each process that maps them; USS is what the process alone holds, what its end would give "
            "back."
        ),
        "",
        "| container | process | PSS MB | RSS MB | USS MB |",
        "|---|---|---|---|---|",
    ]
    for p in row.processes:
        lines.append(f"| {p.container} | {p.role} | {p.pss_mb:.1f} | {p.rss_mb:.1f} | {p.uss_mb:.1f} |")
    total = row.stack_pss_mb
    lines.append(f"| | **the stack** | **{_mb(total)}** | | |")
    return [*lines, "", *MEMORY_FINDINGS]


# What the table does not say by itself: how its figures were taken apart (2026-12-08, 1024 sensors,
# the stack's PSS read before the loads and after them in single runs): written by the generator, not
# by hand into BENCHMARKS.md, so that --report-only keeps them.
MEMORY_FINDINGS = (
    (
        "What the memory is, measured apart (2026-12-08, 1024 sensors, one run each): most of it is the "
        "Python processes themselves. Importing what each one runs costs, in a fresh process of the app image, "
        "3.9 MB (bare interpreter), 7.2 (supervisor), 12.7 (notifier, which leaves Apprise to its sending "
        "child), 13.4 MB (sampler) of its own; Gunicorn's master holds the app it preloads, and the workers "
        "share it until they touch it. The stack holds 98 MB before any load and about 132 after them; what "
        "grows is the two workers (13-19 MB each to 30-32) and their master's own pages (3.5 MB to 11: pages "
        "the workers copied on write, a reference count at a time, are no longer shared). Objects alive in a "
        "worker after the loads (tracemalloc over the same requests in-process) add 1.3 MB only: the rest is "
        "pages copied from the master and the allocators' free space. Calling glibc's `malloc_trim(0)` in "
        "every process after the loads gave back 2.5-2.8 MB; MALLOC_ARENA_MAX=1 instead of 2: 128 MB after the "
        "loads instead of 132 (within one run's noise); one Gunicorn worker instead of two "
        "(`FROST_WORKERS=1`): 93 MB before the loads, 109 after them."
    ),
)


def _targets(rows: list[Row], query: dict[str, Any] | None, disk: dict[str, Any] | None = None) -> list[str]:
    lines = ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    found = targets(rows) + _disk_targets(disk)
    if query is not None:
        found.append(
            (
                f"{query['seconds'] / 3600:g} h of {query['sensors']} sensors at the default step "
                f"< {HISTORY_QUERY_TARGET_MS:g} ms",
                f"warm: {query['p50_ms']} ms p50 (in-process); cold, the first request of a worker: "
                + (
                    f"{query['cold_p50_ms']} ms p50"
                    + (" (over the target)" if query["cold_p50_ms"] >= HISTORY_QUERY_TARGET_MS else "")
                    if "cold_p50_ms" in query
                    else "not measured"
                ),
                # Met when both are: a user's first long range after a restart is a cold one.
                query["p50_ms"] < HISTORY_QUERY_TARGET_MS
                and query.get("cold_p50_ms", HISTORY_QUERY_TARGET_MS) < HISTORY_QUERY_TARGET_MS,
            )
        )
    return lines + [f"| {target} | {measured} | {'yes' if met else 'no'} |" for target, measured, met in found]


def _images(images: dict[str, float]) -> list[str]:
    base = images["base (debian:trixie-slim)"]
    lines = ["## Images", "", "| image | size MB | over the base MB |", "|---|---|---|"]
    for name, size in images.items():
        over = "" if name.startswith("base") else f"{size - base:.1f}"
        lines.append(f"| {name} | {size:.1f} | {over} |")
    return lines


def _history_disk(disk: dict[str, Any] | None) -> list[str]:
    lines = [
        "## The history on disk: bytes written and size at full retention (`make bench-history`)",
        "",
        (
            "`scripts/bench_history.py` seeds a database at full retention, runs the real writer on a simulated clock "
            "(days in seconds) through its roll-ups, checkpoints and pruning, and counts `write_bytes` of "
            "`/proc/self/io` (its docstring says how it never under-counts). Then the API's answer for 24 h of 64 of "
            "those sensors at the default step, in-process: cold (the first request of a fresh app) and warm."
        ),
        "",
        "| sensors | simulated days | write transactions | written per day MiB | size at full retention MiB "
        "| 24 h of 64 of them: cold min / p50 / max ms | warm min / p50 / max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    if disk is None:
        return [*lines, "| not measured: `benchmarks-history.json` is missing | | | | | | |"]
    query = disk.get("query_24h_64_sensors_ms") or {}
    cold = f"{query['cold_min_ms']} / {query['cold_p50_ms']} / {query['cold_max_ms']}" if query else "not measured"
    warm = f"{query['warm_min_ms']} / {query['warm_p50_ms']} / {query['warm_max_ms']}" if query else "not measured"
    return [
        *lines,
        f"| {disk['sensors']} | {disk['simulated_days']:g} | {disk['write_transactions']:,} "
        f"| {disk['bytes_written_per_day'] / 2**20:.1f} | {disk['size_at_full_retention_bytes'] / 2**20:.1f} "
        f"| {cold} | {warm} |",
    ]


def _disk_targets(disk: dict[str, Any] | None) -> list[Target]:
    if disk is None:
        return []
    per_day, size, targets = disk["bytes_written_per_day"], disk["size_at_full_retention_bytes"], disk["targets"]
    sensors = disk["sensors"]
    return [
        (
            f"history written per day at {sensors} sensors <= {targets['bytes_per_day'] / 2**20:.0f} MiB",
            f"{per_day / 2**20:.1f} MiB",
            per_day <= targets["bytes_per_day"],
        ),
        (
            f"history at full retention at {sensors} sensors <= {targets['size_at_full_retention'] / 2**20:.0f} MiB",
            f"{size / 2**20:.1f} MiB",
            size <= targets["size_at_full_retention"],
        ),
    ]


def markdown(
    rows: list[Row], images: dict[str, float], meta: dict[str, Any], disk: dict[str, Any] | None = None
) -> str:
    """Render BENCHMARKS.md (disk: benchmarks-history.json, from `make bench-history`)."""
    query = meta.get("history_query")
    sections = [
        _intro(meta),
        _throughput(rows),
        _ceiling(rows),
        _history(rows),
        _history_query(query),
        _history_disk(disk),
        _reads(rows),
        _memory(rows),
        _processes(rows),
        _targets(rows, query, disk),
        _images(images),
        ["Raw figures: `benchmarks.json`."],
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def history_disk(output: Path) -> dict[str, Any] | None:
    """Return the figures of `make bench-history` (benchmarks-history.json beside BENCHMARKS.md), if any."""
    path = output.with_name("benchmarks-history.json")
    return json.loads(path.read_text()) if path.exists() else None


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per endpoint")
    # 60 s: the healthcheck's exec every 10 s costs about as much as the rest of the minute; a window of
    # a few checks keeps the figure from jumping with one check more or less.
    parser.add_argument("--idle-seconds", type=int, default=60, help="CPU measurement with one stream open")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="re-render BENCHMARKS.md from benchmarks.json beside it, measuring nothing",
    )
    parser.add_argument(
        "--history-only",
        action="store_true",
        help="measure only the history query on disk; keep the other figures of benchmarks.json",
    )
    args = parser.parse_args()
    json_path = args.output.with_name("benchmarks.json")
    if args.history_only:
        data = json.loads(json_path.read_text())
        data["meta"]["history_query"] = measure_history_query()
        json_path.write_text(json.dumps(data, indent=2) + "\n")
        rows, images, meta = rows_from_json(json_path)
        args.output.write_text(markdown(rows, images, meta, history_disk(args.output)))
        print(args.output.read_text())
        return 0
    if args.report_only:
        rows, images, meta = rows_from_json(json_path)
        args.output.write_text(markdown(rows, images, meta, history_disk(args.output)))
        print(args.output.read_text())
        return 0
    for tool in ("wrk", NODE_EXPORTER):
        if shutil.which(tool) is None:
            print(
                f"bench: {tool} is missing; run scripts/provision.sh --bench (Debian: apt-get install wrk "
                f"prometheus-node-exporter)",
                file=sys.stderr,
            )
            return 1
    version = subprocess.run([NODE_EXPORTER, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"version (\S+)", version.stdout + version.stderr)
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "seconds": args.seconds,
        "node_exporter": found.group(1) if found else "unknown",
    }
    # This script and what it starts (wrk, docker's CLI) on the load generator's CPU; the stack on the others.
    os.sched_setaffinity(0, {int(cpu) for cpu in LAYOUT.client.split(",")})
    meta.update(stack_cpus=LAYOUT.stack, client_cpus=LAYOUT.client, idle_seconds=args.idle_seconds)
    progress(f"Compose project {PROJECT}, images frostserver/*:{os.environ.get('FROST_IMAGE_TAG', 'latest')}")
    progress(f"the stack on CPU {LAYOUT.stack}, wrk and this script on CPU {LAYOUT.client}")
    rows = [measure(size, args.seconds, args.idle_seconds) for size in args.sizes]
    meta["history_query"] = measure_history_query()
    images = image_sizes()
    args.output.write_text(markdown(rows, images, meta, history_disk(args.output)))
    json_path.write_text(
        json.dumps({"meta": meta, "images_mb": images, "rows": [asdict(r) for r in rows]}, indent=2) + "\n"
    )
    progress(f"wrote {args.output.name} and {json_path.name}")
    print(args.output.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
