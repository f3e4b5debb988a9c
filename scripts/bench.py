#!/usr/bin/env python3
"""Measure FrostServer side by side with node_exporter on fake trees of 16 to 1024 sensors.

Run by `make bench` (after `make build`): for each tree size it starts the real stack
(compose.yaml + compose.test.yaml) and Debian's node_exporter (hwmon collector only, same
tree), loads both with wrk, counts sensor-attribute reads from outside the app with inotify,
and records sample time, CPU and memory. Writes BENCHMARKS.md and benchmarks.json.
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import platform
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import docker
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from fakesysfs import build_synthetic_tree  # noqa: E402

COMPOSE_FILES = ["-f", "compose.yaml", "-f", "compose.test.yaml"]
PROJECT = "frostbench"
SIZES = (16, 64, 256, 1024)
CONNECTIONS = 32
NODE_EXPORTER = "prometheus-node-exporter"
NODE_EXPORTER_PORT = 9109
STARTED = time.monotonic()


def progress(message: str) -> None:
    """Print one progress line with the elapsed time."""
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


# --- wrk ------------------------------------------------------------------------------------------

@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, seconds: int, connections: int = CONNECTIONS) -> Load:
    """Load `url` with wrk (2 threads, fixed connections) and parse its latency report."""
    # A generous timeout: node_exporter reads the whole tree per scrape, which takes seconds on
    # a large tree under 32 connections; wrk's default (2 s) would count those as errors.
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    if not percentiles:  # not one request completed
        return Load(0.0, float("nan"), float("nan"), 0)
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                                             out)[0]) if "Socket errors" in out else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return Load(rps, _ms(percentiles["50"]), _ms(percentiles["99"]), errors)


# --- reads counted from outside the app: inotify IN_ACCESS on every attribute directory ----------

IN_ACCESS = 0x00000001
_EVENT = struct.Struct("iIII")


class ReadCounter:
    """Count read() calls on files of a tree with inotify, from outside the reading process.

    The kernel merges an event into the previous one only when both are identical and the
    previous is still unread; the sampler reads different files in turn, so its reads are not
    merged while this thread keeps draining the queue.
    """

    def __init__(self, root: Path):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        for directory, _, files in os.walk(root / "devices"):
            if files:
                libc.inotify_add_watch(self.fd, directory.encode(), IN_ACCESS)
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

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

    def reads_per_second_during(self, action) -> tuple[float, object]:
        """Run `action()` and return (reads per second while it ran, its result)."""
        start_count, start = self.count, time.monotonic()
        result = action()
        time.sleep(0.1)  # let the drain thread catch up
        return (self.count - start_count) / (time.monotonic() - start), result

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self.fd)


# --- the stack ------------------------------------------------------------------------------------

def compose(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "compose", "-p", PROJECT, *COMPOSE_FILES, *args], cwd=REPO,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, check=check)


@contextmanager
def running_stack(tree: Path):
    # No rate limit: this measures capacity (a device keeps the default per-client limit).
    env = {"FROST_TEST_SYSFS": str(tree), "FROST_LOG_LEVEL": "info", "FROST_API_RATE_LIMIT": "0"}
    started = time.monotonic()
    compose("up", "-d", "--wait", env=env)
    cold_up = time.monotonic() - started
    port = compose("port", "nginx", "8080", env=env).stdout.strip().rsplit(":", 1)[1]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not requests.get(base + "/api/v1/sensors", timeout=5).json()["sensors"]:
        if time.monotonic() > deadline:
            raise RuntimeError("no sensors through nginx after 30 s")
        time.sleep(0.2)
    try:
        yield base, cold_up
    finally:
        compose("down", "--volumes", env=env, check=False)


@contextmanager
def node_exporter(tree: Path):
    process = subprocess.Popen([NODE_EXPORTER, "--collector.disable-defaults", "--collector.hwmon",
                                f"--path.sysfs={tree}", f"--web.listen-address=127.0.0.1:{NODE_EXPORTER_PORT}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{NODE_EXPORTER_PORT}/metrics"
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


def containers() -> dict[str, docker.models.containers.Container]:
    client = docker.from_env()
    found = client.containers.list(filters={"label": f"com.docker.compose.project={PROJECT}"})
    return {c.labels["com.docker.compose.service"]: c for c in found}


def cpu_seconds(container) -> float:
    return container.stats(stream=False)["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9


def rss_mb(container) -> float:
    stats = container.stats(stream=False)["memory_stats"]
    inner = stats.get("stats", {})
    rss = inner.get("rss", inner.get("anon"))  # cgroup v1 / v2
    if rss is None:
        rss = stats.get("usage", 0) - inner.get("cache", inner.get("file", 0))
    return rss / 2**20


def sample_totals(base: str) -> tuple[float, float]:
    """(sum, count) of the app's own sample-duration histogram (frost_sample_duration_seconds)."""
    text = requests.get(base + "/metrics", timeout=5).text
    total = re.search(r"^frost_sample_duration_seconds_sum(?:\{[^}]*\})? ([\d.e+-]+)$", text, re.M)
    count = re.search(r"^frost_sample_duration_seconds_count(?:\{[^}]*\})? ([\d.e+-]+)$", text, re.M)
    return (float(total.group(1)), float(count.group(1))) if total and count else (0.0, 0.0)


def mean_sample_ms(base: str, action) -> tuple[float | None, object]:
    """Run `action()`; return the mean duration (ms) of the samples taken meanwhile, and its result."""
    before = sample_totals(base)
    result = action()
    after = sample_totals(base)
    samples = after[1] - before[1]
    return (round(1000 * (after[0] - before[0]) / samples, 3) if samples else None), result


def idle_cpu_percent(base: str, app, seconds: float) -> float:
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
            try:
                stream.recv(65536)
            except socket.timeout:
                pass
        return 100 * (cpu_seconds(app) - before) / (time.monotonic() - start)


# --- one tree size --------------------------------------------------------------------------------

@dataclass
class Row:
    sensors: int
    attribute_files: int
    frost: dict[str, Load] = field(default_factory=dict)
    node_exporter: Load | None = None
    reads_per_second_idle: float = 0.0
    reads_per_second_loaded: float = 0.0
    reads_per_second_node_exporter: float = 0.0
    sample_ms_idle: float | None = None
    sample_ms_loaded: float | None = None
    cold_up_s: float = 0.0
    idle_cpu_percent: float | None = None
    rss_mb: dict[str, float] = field(default_factory=dict)


def measure(size: int, seconds: int, idle_seconds: int) -> Row:
    tree = Path(tempfile.mkdtemp(prefix=f"frost-bench-{size}-"))
    tree.chmod(0o755)
    try:
        build_synthetic_tree(tree, size)
        files = sum(len(f) for _, _, f in os.walk(tree / "devices"))
        row = Row(size, files)
        progress(f"{size} sensors: tree built ({files} files); starting the stack")
        counter = None
        try:
            with running_stack(tree) as (base, cold_up):
                row.cold_up_s = round(cold_up, 2)
                parts = containers()
                progress(f"{size} sensors: stack healthy in {cold_up:.1f} s; sample time at idle")
                time.sleep(2)  # past the first samples, which also read every chip's metadata
                # Before any inotify watch: the kernel charges event queueing to the reader.
                row.sample_ms_idle, _ = mean_sample_ms(base, lambda: time.sleep(5))
                if size == SIZES[0] or idle_seconds and size == 256:
                    progress(f"{size} sensors: app CPU with one dashboard stream ({idle_seconds} s)")
                    row.idle_cpu_percent = round(idle_cpu_percent(base, parts["app"], idle_seconds), 2)
                progress(f"{size} sensors: counting reads at idle")
                counter = ReadCounter(tree)
                row.reads_per_second_idle, _ = counter.reads_per_second_during(lambda: time.sleep(5))
                for path in ("/api/v1/sensors", "/metrics", "/"):
                    progress(f"{size} sensors: wrk {path} ({seconds} s, {CONNECTIONS} connections)")
                    sample_ms, (reads, load) = mean_sample_ms(
                        base, lambda: counter.reads_per_second_during(lambda: wrk(base + path, seconds)))
                    row.frost[path] = load
                    if path == "/api/v1/sensors":
                        row.reads_per_second_loaded, row.sample_ms_loaded = reads, sample_ms
                row.rss_mb = {name: round(rss_mb(c), 1) for name, c in parts.items() if name != "web"}
            progress(f"{size} sensors: node_exporter /metrics ({seconds} s)")
            with node_exporter(tree) as url:
                row.reads_per_second_node_exporter, row.node_exporter = counter.reads_per_second_during(
                    lambda: wrk(url, seconds))
        finally:
            if counter is not None:
                counter.close()
        api = row.frost["/api/v1/sensors"]
        progress(f"{size} sensors: /api/v1/sensors {api.requests_per_second:,.0f} req/s (p99 {api.p99_ms:.1f} ms), "
                 f"node_exporter {row.node_exporter.requests_per_second:,.0f} req/s, sample {row.sample_ms_idle} ms")
        return row
    finally:
        shutil.rmtree(tree, ignore_errors=True)


# --- report ---------------------------------------------------------------------------------------

def image_sizes() -> dict[str, float]:
    client = docker.from_env()
    sizes = {name: client.images.get(f"frostserver/{name}:{os.environ.get('FROST_IMAGE_TAG', 'latest')}").attrs["Size"] / 1e6
             for name in ("app", "nginx", "web")}
    sizes["base (debian:trixie-slim)"] = client.images.get("debian:trixie-slim").attrs["Size"] / 1e6
    return {k: round(v, 1) for k, v in sizes.items()}


def targets(rows: list[Row]) -> list[tuple[str, str, bool]]:
    """The issue's targets, each with what this run measured and whether it was met."""
    by_size = {r.sensors: r for r in rows}
    out = []
    ratios = [(r.sensors, r.frost["/api/v1/sensors"].requests_per_second, r.node_exporter.requests_per_second)
              for r in rows]
    out.append(("`/api/v1/sensors` >= 20x node_exporter's `/metrics` req/s",
                ", ".join(f"{n}: {_ratio(ours, theirs)}" for n, ours, theirs in ratios),
                all(theirs == 0 or ours >= 20 * theirs for _, ours, theirs in ratios)))
    p99 = [(r.sensors, r.frost["/api/v1/sensors"].p99_ms) for r in rows]
    out.append((f"`/api/v1/sensors` p99 < 10 ms at {CONNECTIONS} connections",
                ", ".join(f"{n}: {ms:.1f} ms" for n, ms in p99), all(ms < 10 for _, ms in p99)))
    if 256 in by_size and by_size[256].sample_ms_idle is not None:
        ms = by_size[256].sample_ms_idle
        out.append(("one sample of 256 sensors < 5 ms", f"{ms:.2f} ms (idle)", ms < 5))
    samples = [(r.sensors, r.sample_ms_idle) for r in rows if r.sample_ms_idle]
    if len(samples) >= 2:
        per_sensor = [ms / n * 1000 for n, ms in samples]
        # Linear or better: the cost per sensor must not rise with size (a fixed per-sample
        # overhead makes small trees dearer per sensor); 25 % allows for noise.
        linear = all(later <= 1.25 * earlier for earlier, later in zip(per_sensor, per_sensor[1:]))
        out.append(("sample time grows at most linearly with sensors",
                    ", ".join(f"{n}: {us:.0f} us/sensor" for (n, _), us in zip(samples, per_sensor)), linear))
    rss = [(r.sensors, sum(r.rss_mb.values())) for r in rows]
    out.append(("whole stack steady RSS < 100 MB", ", ".join(f"{n}: {mb:.0f} MB" for n, mb in rss),
                all(mb < 100 for _, mb in rss)))
    cpu = [(r.sensors, r.idle_cpu_percent) for r in rows if r.idle_cpu_percent is not None]
    out.append(("idle app CPU < 1 % of a core with one dashboard open",
                ", ".join(f"{n}: {c:.2f} %" for n, c in cpu), all(c < 1 for _, c in cpu)))
    ups = [r.cold_up_s for r in rows]
    out.append(("healthy within 5 s of `docker compose up`", f"{min(ups):.2f}-{max(ups):.2f} s",
                all(u <= 5 for u in ups)))
    return out


def rows_from_json(path: Path) -> tuple[list[Row], dict, dict]:
    """Read a run back from benchmarks.json (to re-render BENCHMARKS.md without measuring)."""
    data = json.loads(path.read_text())
    rows = []
    for raw in data["rows"]:
        row = Row(**{k: v for k, v in raw.items() if k not in ("frost", "node_exporter")})
        row.frost = {path: Load(**load) for path, load in raw["frost"].items()}
        row.node_exporter = Load(**raw["node_exporter"])
        rows.append(row)
    return rows, data["images_mb"], data["meta"]


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}x" if theirs else "n/a (node_exporter completed no request)"


def markdown(rows: list[Row], images: dict[str, float], meta: dict) -> str:
    base = images["base (debian:trixie-slim)"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {meta['date']} ({meta['machine']}, {meta['cpus']} cores), "
        f"wrk with {CONNECTIONS} connections for {meta['seconds']} s per endpoint, node_exporter "
        f"{meta['node_exporter']} (hwmon collector only) on the same tree. Figures are from one run.",
        "",
        "## Throughput and latency through nginx",
        "",
        "| sensors | `/api/v1/sensors` req/s | p50 / p99 ms | `/metrics` req/s | p50 / p99 ms | `/` req/s "
        "| p50 / p99 ms | node_exporter req/s | p50 / p99 ms | sensors API / node_exporter |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        api, metrics, index, ne = r.frost["/api/v1/sensors"], r.frost["/metrics"], r.frost["/"], r.node_exporter
        lines.append(
            f"| {r.sensors} | {api.requests_per_second:,.0f} | {api.p50_ms:.2f} / {api.p99_ms:.2f} "
            f"| {metrics.requests_per_second:,.0f} | {metrics.p50_ms:.2f} / {metrics.p99_ms:.2f} "
            f"| {index.requests_per_second:,.0f} | {index.p50_ms:.2f} / {index.p99_ms:.2f} "
            f"| {ne.requests_per_second:,.0f} | {ne.p50_ms:.2f} / {ne.p99_ms:.2f} "
            f"| {_ratio(api.requests_per_second, ne.requests_per_second)} |")
    lines += [
        "",
        "## Sensor reads (counted from outside the app with inotify) and sampling",
        "",
        "| sensors | attribute files | reads/s idle | reads/s under `/api/v1/sensors` load | reads/s node_exporter "
        "under load | one sample, idle (ms) | one sample, under API load (ms) | cold `up` to healthy (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        idle = "n/a" if r.sample_ms_idle is None else f"{r.sample_ms_idle:.2f}"
        loaded = "n/a" if r.sample_ms_loaded is None else f"{r.sample_ms_loaded:.2f}"
        lines.append(f"| {r.sensors} | {r.attribute_files} | {r.reads_per_second_idle:,.0f} "
                     f"| {r.reads_per_second_loaded:,.0f} | {r.reads_per_second_node_exporter:,.0f} "
                     f"| {idle} | {loaded} | {r.cold_up_s:.1f} |")
    lines += ["", "## Memory and CPU", "",
              "| sensors | app RSS MB | nginx RSS MB | stack RSS MB | app CPU with one dashboard open |",
              "|---|---|---|---|---|"]
    for r in rows:
        cpu = "" if r.idle_cpu_percent is None else f"{r.idle_cpu_percent:.2f} % of a core"
        lines.append(f"| {r.sensors} | {r.rss_mb.get('app', 0):.1f} | {r.rss_mb.get('nginx', 0):.1f} "
                     f"| {sum(r.rss_mb.values()):.1f} | {cpu} |")
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {target} | {measured} | {'yes' if met else 'no'} |" for target, measured, met in targets(rows)]
    lines += ["", "## Images", "", "| image | size MB | over the base MB |", "|---|---|---|"]
    for name, size in images.items():
        over = "" if name.startswith("base") else f"{size - base:.1f}"
        lines.append(f"| {name} | {size:.1f} | {over} |")
    lines += ["", "Raw figures: `benchmarks.json`.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per endpoint")
    parser.add_argument("--idle-seconds", type=int, default=20, help="CPU measurement with one stream open")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--report-only", action="store_true",
                        help="re-render BENCHMARKS.md from benchmarks.json beside it, measuring nothing")
    args = parser.parse_args()
    if args.report_only:
        rows, images, meta = rows_from_json(args.output.with_name("benchmarks.json"))
        args.output.write_text(markdown(rows, images, meta))
        print(args.output.read_text())
        return 0
    for tool in ("wrk", NODE_EXPORTER):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is missing; run scripts/provision.sh --bench (Debian: apt-get install wrk "
                  f"prometheus-node-exporter)", file=sys.stderr)
            return 1
    compose("down", "--volumes", env={"FROST_TEST_SYSFS": "/nonexistent"}, check=False)
    version = subprocess.run([NODE_EXPORTER, "--version"], capture_output=True, text=True)
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": platform.machine(), "cpus": os.cpu_count(),
            "seconds": args.seconds,
            "node_exporter": re.search(r"version (\S+)", version.stdout + version.stderr).group(1)}
    rows = [measure(size, args.seconds, args.idle_seconds) for size in args.sizes]
    images = image_sizes()
    args.output.write_text(markdown(rows, images, meta))
    json_path = args.output.with_name("benchmarks.json")
    json_path.write_text(json.dumps({"meta": meta, "images_mb": images, "rows": [asdict(r) for r in rows]},
                                    indent=2) + "\n")
    progress(f"wrote {args.output.name} and {json_path.name}")
    print(args.output.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
