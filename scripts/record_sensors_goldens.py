#!/usr/bin/env python3
"""Record the real `sensors -j` (Debian's lm-sensors) on every fixture tree: the parity goldens.

Run it as root on Debian, with lm-sensors installed (`apt-get install lm-sensors`: recording
only, the tests never need it) and the app image built (`make build`):

    make sensors-goldens                      # = scripts/record_sensors_goldens.py
    scripts/record_sensors_goldens.py --image frostserver/app:dev

For each fixture of tests/chips.py it builds the tree in a temporary directory and, in a mount
namespace of its own (`unshare --mount`), binds the tree's class/, devices/ and bus/ over /sys's,
the app image's /etc/sensors3.conf (Debian's libsensors-config, the file FrostServer will apply)
over /etc/sensors3.conf, and a directory over /etc/sensors.d, then runs `sensors -j` with no
`-c`, so libsensors reads its configuration its own way (sensors3.conf, then sensors.d/* in
alphabetical order). Two cases per fixture:

- <fixture>.json: the default file alone (an empty /etc/sensors.d);
- <fixture>+sensors.d.json: the default file plus our board files (tests/sensors.d/).

For the second case it also runs `sensors -c <sensors3.conf and the board files concatenated>`
and fails if the two outputs differ: that is what a `-c` file must hold to stand for libsensors'
own reading. Before running, it checks that the tree's links dangle alike in the tree and once
mounted at /sys (the fake trees use relative links; an absolute one would point elsewhere once
mounted). A tree holding a FIFO (an attribute whose read blocks) is skipped: `sensors` would
hang on it; every run is limited to RUN_TIMEOUT seconds anyway. Skips are listed in RECORDED.json.

It writes tests/integration/golden/sensors/: each case's stdout verbatim (`sensors -j` repeats a
key for two chips of one id, which a parsed-and-dumped copy would lose) and RECORDED.json (the
lm-sensors and libsensors-config versions, the configuration's digests, and each case's exit
status and stderr). tests/integration/test_sensors_parity.py compares FrostServer with them.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "integration" / "golden" / "sensors"
BOARD_DIR = REPO / "tests" / "sensors.d"
BOARD_SUFFIX = "+sensors.d"
RUN_TIMEOUT = 20  # seconds; `sensors` on a fixture tree takes milliseconds
MOUNTED = ("class", "devices", "bus")  # the tree's top directories bound over /sys's


def main(argv: list[str] | None = None) -> int:
    """Record `sensors -j` on every fixture tree, default config alone and with the board files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    tag = os.environ.get("FROST_IMAGE_TAG", "latest")
    parser.add_argument("--image", default=f"frostserver/app:{tag}", help="the app image whose config to use")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("record_sensors_goldens: run as root (it bind-mounts trees over /sys in a mount namespace)")
    if shutil.which("sensors") is None or shutil.which("unshare") is None:
        sys.exit("record_sensors_goldens: needs `sensors` and `unshare`: apt-get install lm-sensors util-linux")
    versions = tool_versions(args.image)
    fixtures = load_fixtures()
    boards = sorted(p for p in BOARD_DIR.iterdir() if p.is_file() and not p.name.startswith("."))
    config = image_file(args.image, "/etc/sensors3.conf")
    with tempfile.TemporaryDirectory(prefix="frost-sensors-goldens-") as scratch_name:
        scratch = Path(scratch_name)
        default_conf = scratch / "sensors3.conf"
        default_conf.write_bytes(config)
        empty_dir = scratch / "empty.d"
        empty_dir.mkdir()
        concatenated = scratch / "sensors3+board.conf"
        concatenated.write_bytes(b"".join([config, *(b.read_bytes() for b in boards)]))
        cases: dict[str, Any] = {}
        skipped: dict[str, str] = {}
        outputs: dict[str, str] = {}
        for name, build in fixtures.items():
            tree = scratch / "trees" / name
            build(tree)
            problem = fifo_problem(tree) or link_problem(tree)
            if problem:
                skipped[name] = problem
                print(f"{name}: skipped ({problem})")
                continue
            for case, conf_dir in ((name, empty_dir), (name + BOARD_SUFFIX, BOARD_DIR)):
                run = run_sensors(tree, ["sensors", "-j"], default_conf, conf_dir)
                outputs[case] = run.stdout
                cases[case] = {"exit_status": run.returncode, "stderr": run.stderr.splitlines()}
                print(f"{case}: exit {run.returncode}, {len(run.stdout)} bytes")
            with_c = run_sensors(tree, ["sensors", "-c", str(concatenated), "-j"], default_conf, empty_dir)
            if with_c.stdout != outputs[name + BOARD_SUFFIX]:
                sys.exit(f"{name}: `sensors -c` on the concatenated files differs from sensors.d: check the order")
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for stale in GOLDEN.glob("*.json"):
        stale.unlink()
    for case, stdout in outputs.items():
        (GOLDEN / f"{case}.json").write_text(stdout)
    recorded = {
        **versions,
        "config": {
            "/etc/sensors3.conf": digest(config),
            **{f"tests/sensors.d/{b.name}": digest(b.read_bytes()) for b in boards},
        },
        "command": "unshare --mount: bind TREE/{class,devices,bus} over /sys/..., the image's sensors3.conf "
        "over /etc/sensors3.conf, an empty dir (<fixture>) or tests/sensors.d (<fixture>+sensors.d) over "
        f"/etc/sensors.d; timeout {RUN_TIMEOUT} sensors -j",
        "skipped": skipped,
        "cases": cases,
    }
    (GOLDEN / "RECORDED.json").write_text(json.dumps(recorded, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(outputs)} goldens and RECORDED.json to {GOLDEN.relative_to(REPO)}")
    return 0


def load_fixtures() -> dict[str, Any]:
    """Return {fixture name: function building it into a directory} from tests/chips.py."""
    # tests/ is a directory of modules, not a package: put it on the path, as tests/conftest.py does.
    if str(REPO / "tests") not in sys.path:
        sys.path.insert(0, str(REPO / "tests"))
    chips = importlib.import_module("chips")
    fake_sysfs = importlib.import_module("fakesysfs").FakeSysfs

    def builder(add: Any) -> Any:
        return lambda root: add(fake_sysfs(root))

    return {name: builder(add) for name, add in chips.FIXTURES.items()}


def tool_versions(image: str) -> dict[str, str]:
    """Name the versions the goldens come from: this host's lm-sensors, the image's config."""
    sensors_version = run(["sensors", "-v"]).stdout.strip()
    debian = Path("/etc/debian_version").read_text().strip()
    return {
        "lm-sensors": f"{package_version('lm-sensors')} ({sensors_version}; Debian {debian})",
        "libsensors-config": f"{image_package_version(image, 'libsensors-config')} (app image's /etc/sensors3.conf)",
    }


def package_version(package: str) -> str:
    return run(["dpkg-query", "-W", "-f", "${Version}", package]).stdout


def image_package_version(image: str, package: str) -> str:
    return docker_run(image, "dpkg-query", "-W", "-f", "${Version}", package).decode()


def image_file(image: str, path: str) -> bytes:
    """Return a file of the image (never copied into the repository: it is a third-party file)."""
    return docker_run(image, "cat", path)


def docker_run(image: str, *command: str) -> bytes:
    result = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", command[0], image, *command[1:]],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(
            f"record_sensors_goldens: {' '.join(command)} in {image} failed ({result.stderr.decode().strip()});"
            " build the image (make build) or name another with --image"
        )
    return result.stdout


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def fifo_problem(tree: Path) -> str | None:
    """Say which FIFOs a tree holds (a read of one blocks until a writer comes), or None."""
    fifos = [str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_fifo()]
    return f"FIFO attributes would block sensors: {', '.join(fifos)}" if fifos else None


def link_problem(tree: Path) -> str | None:
    """Say which links dangle differently once the tree is mounted at /sys, or None."""
    # find -xtype l: links whose target does not exist, resolved by the kernel itself.
    in_tree = run(["find", *(str(tree / top) for top in MOUNTED), "-xtype", "l"]).stdout.split()
    mounted = in_namespace(tree, None, None, ["find", *(f"/sys/{top}" for top in MOUNTED), "-xtype", "l"])
    expected = sorted(path.replace(str(tree), "/sys", 1) for path in in_tree)
    differ = set(expected) ^ set(mounted.stdout.split())
    return f"links resolve differently at /sys: {', '.join(sorted(differ))}" if differ else None


def run_sensors(tree: Path, command: list[str], conf: Path, conf_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run `sensors` over a tree mounted at /sys with the given sensors3.conf and sensors.d."""
    result = in_namespace(tree, conf, conf_dir, ["timeout", str(RUN_TIMEOUT), *command])
    # 1: "No sensors found!" (a tree lm-sensors sees no chip in), still with its JSON on stdout.
    if result.returncode not in (0, 1):
        sys.exit(
            f"record_sensors_goldens: {' '.join(command)} on {tree.name} exited {result.returncode}: "
            f"{result.stderr.strip()}"
        )
    return result


def in_namespace(
    tree: Path, conf: Path | None, conf_dir: Path | None, command: list[str]
) -> subprocess.CompletedProcess[str]:
    """Run a command in a private mount namespace where the tree is /sys's class, devices and bus."""
    binds = [(tree / top, Path("/sys") / top) for top in MOUNTED]
    if conf is not None and conf_dir is not None:
        binds += [(conf, Path("/etc/sensors3.conf")), (conf_dir, Path("/etc/sensors.d"))]
    script = " && ".join(f"mount --bind {shlex.quote(str(a))} {shlex.quote(str(b))}" for a, b in binds)
    script += " && exec " + shlex.join(command)
    return run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], check=False)


def run(command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=check)


if __name__ == "__main__":
    sys.exit(main())
