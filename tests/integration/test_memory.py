"""Memory: every container of the stack stays well inside its limit (compose.yaml's, or an overlay's).

A 512 MB board (Raspberry Pi Zero 2 W) runs the stack within compose.yaml's limits; under QEMU
user emulation each process also carries the emulator, so scripts/arch.sh raises the limits with
compose.emulated.yaml, and this test checks that they leave room. It prints what each container
uses (the cgroup's figure, without page cache) and each process's RSS, for README.md.
"""
from __future__ import annotations

import json
import subprocess

import pytest

from waiting import eventually

# Below this share of its limit, a container has room for a burst (a scrape, a history request).
HEADROOM = 0.75


def container_ids(stack) -> list[str]:
    return stack.compose_cli("ps", "--quiet").stdout.split()


def memory_of(container: str) -> tuple[str, int, int]:
    """Return (name, bytes used without page cache, limit in bytes), as `docker stats` reports them."""
    line = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{json .}}", container],
                          capture_output=True, text=True, check=True).stdout
    stats = json.loads(line)
    used, _, limit = stats["MemUsage"].partition(" / ")
    return stats["Name"], to_bytes(used), to_bytes(limit)


def to_bytes(text: str) -> int:
    units = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1000, "MB": 1000**2, "GB": 1000**3}
    number = text.strip().rstrip("BKMGiak")
    return int(float(number) * units[text.strip()[len(number):]])


def process_rss(container: str) -> list[str]:
    """Return `PID RSS(KiB) COMMAND` of every process in a container, read on the host (docker top)."""
    top = subprocess.run(["docker", "top", container, "-o", "pid,rss,args"], capture_output=True, text=True,
                         check=True).stdout
    return top.splitlines()[1:]


@pytest.mark.smoke
def test_every_running_container_stays_well_inside_its_memory_limit(stack):
    # Let the stack settle: every worker started and has served something.
    eventually(lambda: stack.compose_cli("ps", "--quiet").stdout.strip(), "the stack's containers")
    report, crowded = [], []
    for container in container_ids(stack):
        name, used, limit = memory_of(container)
        report.append(f"{name}: {used / 2**20:.1f} MiB of {limit / 2**20:.0f} MiB")
        report += [f"    {line}" for line in process_rss(container)]
        if used > HEADROOM * limit:
            crowded.append(name)
    print("\n".join(report))
    assert not crowded, f"over {HEADROOM:.0%} of their memory limit: {crowded}\n" + "\n".join(report)
