"""FrostServer against the real `sensors -j` on every fixture tree (issue 12, parity with lm-sensors).

The goldens in golden/sensors/ are what Debian's lm-sensors printed for each fixture tree of
tests/chips.py, with the app image's /etc/sensors3.conf (Debian's libsensors-config) alone
(<fixture>.json) and with our board files in /etc/sensors.d as well (<fixture>+sensors.d.json,
tests/sensors.d/); golden/sensors/RECORDED.json names the versions. To re-record (as root, with
`apt-get install lm-sensors` on the host and the app image built):

    make sensors-goldens

The test runs the real app image, read-only, with all fixture trees mounted read-only, once per
configuration (board files mounted at /etc/sensors.d or not), and runs `python -m frostserver.hwmon
--json /mnt/sys/<fixture>` for each tree. It compares every chip's adapter, every feature label and
every value (`*_input`, and `power*_average`, `cpu*_vid`, `intrusion*_alarm` where `sensors -j`
holds the reading there) within 1e-3. Every difference is listed in EXPECTED_DIFFERENCES with its
reason; any other difference, or one that went away, fails the test.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pytest

import chips
from fakesysfs import FakeSysfs

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "sensors"
BOARD_DIR = REPO / "tests" / "sensors.d"
IMAGE = f"frostserver/app:{os.environ.get('FROST_IMAGE_TAG', 'latest')}"  # as compose.yaml names it
TOLERANCE = 1e-3  # sensors -j prints three decimals
DEFAULT, BOARD = "default", "sensors.d"

# Where FrostServer differs from `sensors -j` on each fixture tree, in both configurations, and why.
EXPECTED_DIFFERENCES: dict[str, dict[str, str]] = {
    "broken": {
        # Deliberate (README, "Tests"): a value that cannot be right is left out, not shown.
        "value only in sensors: broken-isa-0000 'temp5' temp5_input":
            "127998 °C, the 0x7fff-style sentinel of a disconnected diode: implausible, left out",
        "value only in sensors: broken-isa-0000 'temp6' temp6_input":
            "temp6_fault = 1: a faulted sensor's value is garbage, left out",
        "value only in sensors: broken-isa-0000 'temp7' temp7_input":
            "temp7_enable = 0: a disabled channel has no reading, left out (lm-sensors 3.6 ignores *_enable)",
        "value only in sensors: broken-isa-0000 'humidity1' humidity1_input":
            "200 %RH: implausible, left out",
        # Not deliberate as such: FrostServer lists a channel whose input is not a regular file
        # (with an error, EISDIR/ENOENT); libsensors skips the attribute and so the feature.
        "label only in FrostServer: broken-isa-0000 'temp1'":
            "temp1_input is a directory: libsensors skips it, FrostServer reports the channel as unreadable",
        "label only in FrostServer: broken-isa-0000 'temp2'":
            "temp2_input is a dangling link: libsensors skips it, FrostServer reports the channel as unreadable",
    },
    "nct6798": {
        "label only in sensors: nct6798-isa-0290 'beep_enable'":
            "a chip-wide setting, not a reading of a channel: FrostServer does not list it (README, \"Tests\")",
    },
    "nct6779": {
        "label only in sensors: nct6779-isa-0a20 'beep_enable'":
            "a chip-wide setting, not a reading of a channel: FrostServer does not list it (README, \"Tests\")",
    },
    "same_names_on_one_parent": {
        "chip id: sensors' mlxsw-pci-0300 #2 is FrostServer's mlxsw-pci-0300~2":
            "sensors prints three chips of one id; FrostServer's ids are unique",
        "chip id: sensors' mlxsw-pci-0300 #3 is FrostServer's mlxsw-pci-0300~3":
            "sensors prints three chips of one id; FrostServer's ids are unique",
        "label only in sensors: mlxsw-pci-0300~2 'fan1'":
            "libsensors looks chips up by name: for the second mlxsw-pci-0300 it lists the first one's "
            "features, so it shows the ASIC's fan1 on a line card that has none",
        "label only in sensors: mlxsw-pci-0300~3 'fan1'":
            "the same for the third mlxsw-pci-0300",
    },
    "no_name": {
        "chip only in FrostServer: foo_sensor-isa-0000":
            "no `name` file: libsensors skips the chip, FrostServer names it after its driver (tests/chips.py)",
        "chip only in FrostServer: hwmon-virtual-0":
            "no `name` file and no device: libsensors skips it, FrostServer calls it hwmon-virtual-0",
    },
    "ds18b20": {
        "chip id: sensors' w1_slave_temp-virtual-0 #2 is FrostServer's w1_slave_temp-virtual-0~2":
            "sensors prints two chips of one id; FrostServer's ids are unique (README, API)",
    },
    "several_on_one_parent": {
        "chip id: sensors' mlx5-pci-0500 #2 is FrostServer's mlx5-pci-0500~2":
            "sensors prints two chips of one id; FrostServer's ids are unique (node_exporter #3637)",
        "label only in FrostServer: mlx5-pci-0500~2 'module1'":
            "libsensors looks chips up by name: for the second mlx5-pci-0500 it lists the first one's "
            "features (temp1 only), so the module's temp2 is missing from sensors",
    },
}


def golden_pairs(case: str) -> list:
    """Read a golden as (key, value) pairs: sensors -j repeats keys (two chips of one id)."""
    path = GOLDEN / f"{case}.json"
    assert path.exists(), f"{path.name} missing: record the goldens with `make sensors-goldens` (see this module)"
    return json.loads(path.read_text(), object_pairs_hook=list)


def cases() -> list:
    params = [pytest.param(fixture, DEFAULT, id=fixture) for fixture in sorted(chips.FIXTURES)]
    params += [pytest.param(fixture, BOARD, id=f"{fixture}+{BOARD}") for fixture in sorted(chips.FIXTURES)]
    return params


@pytest.fixture(scope="module")
def trees():
    """Build every fixture tree under one directory, /mnt/sys/<fixture> in the container."""
    root = Path(tempfile.mkdtemp(prefix="frost-parity-"))
    root.chmod(0o755)  # the app runs as an unprivileged user in the container
    try:
        for name, add in chips.FIXTURES.items():
            add(FakeSysfs(root / name))
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def frostserver(trees):
    """Run the app image once per configuration; return {configuration: {fixture: --json output}}."""
    return {config: run_app(trees, config) for config in (DEFAULT, BOARD)}


def run_app(trees: Path, config: str) -> dict[str, str]:
    """Run `python -m frostserver.hwmon --json` on every tree in one read-only container."""
    name = f"frosttest{os.getpid()}-parity-{config.replace('.', '-')}"
    mounts = ["-v", f"{trees}:/mnt/sys:ro"]
    if config == BOARD:
        mounts += ["-v", f"{BOARD_DIR}:/etc/sensors.d:ro"]
    # One marker line before each tree's output, so one container serves every fixture.
    script = ('for f in "$@"; do echo "=== $f"; '
              'python -m frostserver.hwmon --json "/mnt/sys/$f" || echo "=== FAILED $?"; done')
    command = ["docker", "run", "--rm", "--name", name, "--read-only", "--network", "none", *mounts, IMAGE,
               "sh", "-c", script, "sh", *sorted(chips.FIXTURES)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, check=False)
    assert result.returncode == 0 and "=== FAILED" not in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    outputs = {}
    for block in result.stdout.split("=== ")[1:]:
        fixture, _, text = block.partition("\n")
        outputs[fixture] = text
    return outputs


@pytest.mark.parametrize(("fixture", "config"), cases())
def test_frostserver_reads_what_sensors_prints(frostserver, fixture, config):
    expected = golden_pairs(fixture if config == DEFAULT else f"{fixture}+{BOARD}")
    ours = json.loads(frostserver[config][fixture], object_pairs_hook=list)
    found = differences(expected, ours)
    assert found == set(EXPECTED_DIFFERENCES.get(fixture, {})), "\n".join(sorted(found))


def test_goldens_name_their_versions():
    recorded = json.loads((GOLDEN / "RECORDED.json").read_text())
    assert recorded["lm-sensors"].startswith("1:3.6")
    assert recorded["libsensors-config"]
    assert not recorded["skipped"], "a fixture was not recorded; see RECORDED.json"


# --- comparing two sensors -j outputs -----------------------------------------------------------

_READING_KEY = re.compile(r"\w+_input|cpu\d+_vid|intrusion\d+_alarm")
_AVERAGE_KEY = re.compile(r"(power\d+)_average")


def readings(feature: list) -> dict[str, float]:
    """Pick the subfeatures holding the reading: *_input, else power*_average; cpu*_vid; intrusion*_alarm."""
    values = dict(feature)
    picked = {k: v for k, v in values.items() if _READING_KEY.fullmatch(k)}
    for key, value in values.items():
        if (match := _AVERAGE_KEY.fullmatch(key)) and f"{match.group(1)}_input" not in values:
            picked[key] = value
    return picked


def differences(expected: list, ours: list) -> set[str]:
    """List how our --json output differs from sensors -j, one line per difference."""
    found: set[str] = set()
    ours_by_id = dict(ours)
    assert len(ours_by_id) == len(ours), "FrostServer's chip ids must be unique"
    groups: dict[str, list[list]] = {}
    for chip_id, chip in expected:
        groups.setdefault(chip_id, []).append(chip)
    matched: set[str] = set()
    for chip_id, members in groups.items():
        ids = [chip_id] + [f"{chip_id}~{n}" for n in range(2, len(members) + 1)]
        matched.update(ids)
        best = pair_by_content(ids, members, ours_by_id)
        for number, (our_id, chip) in enumerate(zip(ids, best, strict=True), start=1):
            if number > 1:
                found.add(f"chip id: sensors' {chip_id} #{number} is FrostServer's {our_id}")
            found |= chip_differences(our_id, chip, ours_by_id.get(our_id))
    for chip_id in ours_by_id.keys() - matched:
        found.add(f"chip only in FrostServer: {chip_id}")
    return found


def pair_by_content(ids: list[str], members: list[list], ours_by_id: dict) -> tuple[list, ...]:
    """Order sensors' chips of one id to match our ids: it orders them as it lists /sys/class/hwmon."""

    def misfit(order: tuple[list, ...]) -> int:
        return sum(len(chip_differences(i, c, ours_by_id.get(i))) for i, c in zip(ids, order, strict=True))

    return min(itertools.permutations(members), key=misfit)


def chip_differences(chip_id: str, expected: list, ours: list | None) -> set[str]:
    """List how one of our chips differs from sensors' chip of that id."""
    if ours is None:
        return {f"chip only in sensors: {chip_id}"}
    found = set()
    expected_features = [(k, v) for k, v in expected if k != "Adapter"]
    our_features = [(k, v) for k, v in ours if k != "Adapter"]
    if dict(expected).get("Adapter") != dict(ours).get("Adapter"):
        found.add(f"adapter differs: {chip_id}: sensors {dict(expected).get('Adapter')!r}, "
                  f"FrostServer {dict(ours).get('Adapter')!r}")
    expected_labels, our_labels = Counter(k for k, _ in expected_features), Counter(k for k, _ in our_features)
    found |= {f"label only in sensors: {chip_id} {label!r}" for label in expected_labels - our_labels}
    found |= {f"label only in FrostServer: {chip_id} {label!r}" for label in our_labels - expected_labels}
    expected_values = {(label, key): value for label, feature in expected_features
                       for key, value in readings(feature).items()}
    our_values = {(label, key): value for label, feature in our_features for key, value in readings(feature).items()}
    for label, key in expected_values.keys() - our_values.keys():
        if label in our_labels:
            found.add(f"value only in sensors: {chip_id} {label!r} {key}")
    for label, key in our_values.keys() - expected_values.keys():
        if label in expected_labels:
            found.add(f"value only in FrostServer: {chip_id} {label!r} {key}")
    for label, key in expected_values.keys() & our_values.keys():
        theirs, mine = expected_values[label, key], our_values[label, key]
        if abs(theirs - mine) > TOLERANCE:
            found.add(f"value differs: {chip_id} {label!r} {key}: sensors {theirs}, FrostServer {mine}")
    return found
