#!/usr/bin/env python3
"""What the MQTT publisher costs: the sampler's time per sample with it off and on, and the publisher's
memory while its broker is unreachable.

Runs the app's own processes on this machine (no Compose: nothing else shares their cgroup), over
tests/simulator.py's tree, whose every value moves once a second (so states are due at every
min_interval): the sampler always, the publisher (`python -m frostserver.mqtt`) in the "on" windows,
and a broker from the `mqtt` profile's image (frostserver/mosquitto:$FROST_IMAGE_TAG, `make build`
with COMPOSE_PROFILES=mqtt, or `docker compose --profile mqtt build`) on an ephemeral port of
127.0.0.1. Windows alternate off, on, off, on, so that a machine busy with something else weighs
on both alike. Then the broker is removed and the publisher's RSS is read every 30 s for
--outage seconds (10 minutes by default): it must not grow.

    .venv/bin/python scripts/bench_mqtt.py [--window 60] [--outage 600]

Prints the figures and writes them to benchmarks-mqtt.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "services" / "app"
OUT = REPO / "benchmarks-mqtt.json"


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def counters(run_dir: Path) -> tuple[int, float]:
    """The sampler's samples and the sum of their durations (counters.json)."""
    document = json.loads((run_dir / "counters.json").read_bytes())
    return int(document["samples"]), float(document["durations_sum"])


def mean_sample_ms(run_dir: Path, seconds: float) -> float:
    """The sampler's mean time per sample over the next `seconds`, in ms."""
    samples, total = counters(run_dir)
    time.sleep(seconds)
    samples_after, total_after = counters(run_dir)
    return 1000 * (total_after - total) / max(1, samples_after - samples)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def published(run_dir: Path) -> int:
    try:
        return int(json.loads((run_dir / "mqtt.json").read_bytes())["published"])
    except (OSError, ValueError, KeyError):
        return 0


def broker(tag: str, password: str) -> tuple[str, int]:
    """Start the `mqtt` profile's Mosquitto on an ephemeral port of 127.0.0.1; return its container and port."""
    name = f"frostbench-mqtt-{os.getpid()}"
    subprocess.run(
        ["docker", "run", "--detach", "--rm", "--name", name, "--read-only", "--cap-drop", "ALL",
         "--tmpfs", "/run/mosquitto:size=1m,mode=0700,uid=10004,gid=10004", "--tmpfs", "/tmp:size=1m,mode=1777",
         "--tmpfs", "/var/lib/mosquitto:size=8m,mode=0700,uid=10004,gid=10004",
         "-e", f"FROST_MQTT_PASSWORD={password}", "-p", "127.0.0.1::1883", f"frostserver/mosquitto:{tag}"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = subprocess.run(["docker", "port", name, "1883"], check=True, capture_output=True, text=True).stdout
    return name, int(port.split()[0].rsplit(":", 1)[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=float, default=60.0, help="seconds per off/on window (4 windows)")
    parser.add_argument("--outage", type=float, default=600.0, help="seconds without the broker")
    args = parser.parse_args()
    tag = os.environ.get("FROST_IMAGE_TAG", "latest")
    password = secrets.token_hex(8)
    work = Path(tempfile.mkdtemp(prefix="frost-bench-mqtt-"))
    tree, run_dir, history = work / "sys", work / "run", work / "history"
    history.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(APP),
        "FROST_SYSFS_ROOT": str(tree),
        "FROST_RUN_DIR": str(run_dir),
        "FROST_HISTORY_DIR": str(history),
        "FROST_LOG_LEVEL": "info",
    }
    log = work / "processes.log"
    simulator = start([sys.executable, str(REPO / "tests" / "simulator.py"), "--root", str(tree)], env, log)
    time.sleep(3)
    sampler = start([sys.executable, "-m", "frostserver.sampler"], env, log)
    container, port = broker(tag, password)
    # The defaults: a state at most every 10 s, at least every 5 min.
    publisher_env = {**env, "FROST_MQTT_URL": f"mqtt://frost:{password}@127.0.0.1:{port}"}
    figures: dict[str, Any] = {"window_s": args.window, "outage_s": args.outage, "off_ms": [], "on_ms": []}
    publisher: subprocess.Popen[bytes] | None = None
    try:
        while not (run_dir / "counters.json").exists():
            time.sleep(0.5)
        time.sleep(5)  # past the first samples (the chips' metadata, the history's opening)
        figures["sensors"] = len(json.loads((run_dir / "catalog.json").read_bytes())["sensors"])
        for window in range(2):
            progress(f"window {window + 1}/2: MQTT off, {args.window:g} s")
            figures["off_ms"].append(round(mean_sample_ms(run_dir, args.window), 3))
            publisher = start([sys.executable, "-m", "frostserver.mqtt"], publisher_env, log)
            time.sleep(5)  # connected, the first discovery sent
            before_cpu, before_published = cpu_seconds(publisher.pid), published(run_dir)
            progress(f"window {window + 1}/2: MQTT on, {args.window:g} s")
            figures["on_ms"].append(round(mean_sample_ms(run_dir, args.window), 3))
            figures[f"publisher_cpu_percent_{window + 1}"] = round(
                100 * (cpu_seconds(publisher.pid) - before_cpu) / args.window, 2
            )
            figures[f"published_{window + 1}"] = published(run_dir) - before_published
            if window == 0:
                stop(publisher)
        assert publisher is not None
        subprocess.run(["docker", "rm", "--force", container], check=True, capture_output=True)
        progress(f"the broker is gone; the publisher's RSS every 30 s for {args.outage:g} s")
        rss = []
        deadline = time.monotonic() + args.outage
        while True:
            rss.append(rss_kib(publisher.pid))
            if time.monotonic() >= deadline:
                break
            time.sleep(min(30.0, max(0.0, deadline - time.monotonic())))
        figures["outage_rss_kib"] = rss
        lines = [line for line in log.read_text().splitlines() if "frostserver.mqtt" in line]
        figures["publisher_log_lines_during_outage"] = [line.split(": ", 1)[-1] for line in lines[-3:]]
    finally:
        if publisher is not None:
            stop(publisher)
        stop(sampler)
        stop(simulator)
        subprocess.run(["docker", "rm", "--force", container], capture_output=True)
    off, on = figures["off_ms"], figures["on_ms"]
    print(json.dumps(figures, indent=1))
    print(f"sampler, mean ms per sample: off {off}, on {on}")
    print(f"publisher RSS over the outage: {rss[0]} KiB first, {max(rss)} KiB max, {rss[-1]} KiB last")
    OUT.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
