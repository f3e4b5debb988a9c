"""Build fake sysfs trees with the kernel's real layout, for tests, benchmarks and the simulator.

The layout is the one node_exporter and lm-sensors walk on a real machine:

    devices/platform/coretemp.0/                 a device, with `subsystem` -> ../../../bus/platform
    devices/platform/coretemp.0/hwmon/hwmon3/    the hwmon class device (bus devices get a
                                                 "hwmon" glue directory, class devices do not)
    devices/.../hwmon3/device -> ../../../coretemp.0
    class/hwmon/hwmon3 -> ../../devices/platform/coretemp.0/hwmon/hwmon3

All links are relative, so a tree can be moved or bind-mounted; files are 0644 and directories
0755, so a container running as another user can read them.

What a regular file cannot imitate: a read failing with EIO, EAGAIN, ENODATA, EINVAL, ENXIO or
ETIMEDOUT.  Tests inject those at the reader's seam -- `HwmonReader(read_attribute=...)` takes
the function that reads one attribute -- never by mocking builtins.open.  What a tree *can*
imitate is written by `FakeChip.break_attribute`: a directory or a dangling link where a file
should be, an empty file, garbage, and a FIFO, whose open() blocks until a writer appears (the
stand-in for an attribute stuck in the kernel; see `FakeChip.unblock`).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

FILE_MODE = 0o644
DIR_MODE = 0o755
BROKEN_KINDS = ("directory", "dangling", "empty", "garbage", "fifo")


class FakeSysfs:
    """A fake sysfs tree under `root`: devices, buses, classes and hwmon chips."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._next_hwmon = 0
        for directory in ("class/hwmon", "devices", "bus"):
            self.mkdir(self.root / directory)

    @property
    def hwmon_class(self) -> Path:
        """Return class/hwmon, the directory the reader lists."""
        return self.root / "class" / "hwmon"

    def add_device(self, path: str, *, subsystem: str | None = None, parent: str | None = None,
                   driver: str | None = None, attributes: dict[str, object] | None = None) -> Path:
        """Create devices/<path> with its `subsystem` (e.g. "bus/pci", "class/nvme") and links."""
        device = self.root / "devices" / path
        self.mkdir(device)
        self.write_file(device / "uevent", "")
        if subsystem is not None:
            self.mkdir(self.root / subsystem)
            self.symlink(device / "subsystem", self.root / subsystem)
            self._register(subsystem, device)
            if driver is not None and subsystem.startswith("bus/"):
                driver_dir = self.root / subsystem / "drivers" / driver
                self.mkdir(driver_dir)
                self.symlink(device / "driver", driver_dir)
        if parent is not None:
            self.symlink(device / "device", self.root / "devices" / parent)
        for name, value in (attributes or {}).items():
            self.write_file(device / name, f"{value}\n")
        return device

    def add_i2c_adapter(self, nr: int, name: str, parent: str = "platform/soc/fe804000.i2c") -> str:
        """Create an i2c adapter device and its class/i2c-adapter link; return its device path."""
        if not (self.root / "devices" / parent).exists():
            self.add_device(parent, subsystem="bus/platform")
        path = f"{parent}/i2c-{nr}"
        adapter = self.add_device(path, subsystem="bus/i2c", attributes={"name": name})
        self.mkdir(self.root / "class" / "i2c-adapter")
        self.symlink(self.root / "class" / "i2c-adapter" / f"i2c-{nr}", adapter)
        return path

    def add_chip(self, name: str | None, *, device: str | None = None, bus: str | None = None,
                 subsystem: str | None = None, driver: str | None = None, hwmon: int | None = None,
                 old_layout: bool = False) -> FakeChip:
        """Create a hwmon chip (hwmonN, its links and `name`) on a device, creating the device if new.

        `bus="platform"` is short for `subsystem="bus/platform"`; no `device` makes a virtual
        chip (no device link); `old_layout` puts `name` and attributes in hwmonN/device/.
        """
        number = self._hwmon_number(hwmon)
        device_dir = None
        if device is not None:
            device_dir = self.root / "devices" / device
            if subsystem is None and bus is not None:
                subsystem = f"bus/{bus}"
            if not device_dir.exists():
                self.add_device(device, subsystem=subsystem, driver=driver)
            glue = device_dir / "hwmon" if _is_bus_device(device_dir) else device_dir
            hwmon_dir = glue / f"hwmon{number}"
        else:
            hwmon_dir = self.root / "devices" / "virtual" / "hwmon" / f"hwmon{number}"
        self.mkdir(hwmon_dir)
        self.mkdir(hwmon_dir / "power")  # every class device has one; it is not power1_*
        self.write_file(hwmon_dir / "uevent", "")
        self.symlink(hwmon_dir / "subsystem", self.hwmon_class)
        if device_dir is not None:
            self.symlink(hwmon_dir / "device", device_dir)
        self.symlink(self.hwmon_class / f"hwmon{number}", hwmon_dir)
        attribute_dir = device_dir if old_layout and device_dir is not None else hwmon_dir
        chip = FakeChip(self, number, hwmon_dir, attribute_dir, device_dir)
        if name is not None:
            chip.write("name", name)
        return chip

    def mkdir(self, path: Path) -> None:
        """Create a directory (and parents) readable by everyone."""
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True)
        for directory in missing:
            os.chmod(directory, DIR_MODE)

    def write_file(self, path: Path, text: str) -> None:
        """Write a file readable by everyone."""
        path.write_text(text)
        os.chmod(path, FILE_MODE)

    def symlink(self, link: Path, target: Path) -> None:
        """Create a relative symlink spelled the way sysfs spells it."""
        if link.is_symlink():
            link.unlink()
        link.symlink_to(_sysfs_relative(target, link.parent))

    def _hwmon_number(self, wanted: int | None) -> int:
        taken = {int(p.name[5:]) for p in self.hwmon_class.iterdir() if p.name.startswith("hwmon")}
        if wanted is None:
            while self._next_hwmon in taken:
                self._next_hwmon += 1
            wanted = self._next_hwmon
        if wanted in taken:
            raise ValueError(f"hwmon{wanted} exists")
        return wanted

    def _register(self, subsystem: str, device: Path) -> None:
        """Link the device from bus/X/devices/ or class/X/, like the kernel does."""
        index = self.root / subsystem / ("devices" if subsystem.startswith("bus/") else "")
        self.mkdir(index)
        self.symlink(index / device.name, device)


def _sysfs_relative(target: Path, link_dir: Path) -> str:
    """Spell a link like the kernel: up to the common ancestor of link dir and target's parent, then down."""
    # hwmon0/device -> ../../../1-0044, not the equivalent ../.. os.path.relpath would give.
    base = Path(os.path.commonpath([link_dir, target.parent]))
    ups = len(link_dir.relative_to(base).parts)
    return "/".join([".."] * ups + list(target.relative_to(base).parts))


def _is_bus_device(device_dir: Path) -> bool:
    """Say whether the device sits on a bus (its hwmon dirs then live under a `hwmon` glue dir)."""
    subsystem = device_dir / "subsystem"
    return subsystem.is_symlink() and "/bus/" in os.readlink(subsystem)


class FakeChip:
    """One fake hwmon chip: where its attributes live and helpers to write them."""

    def __init__(self, tree: FakeSysfs, number: int, hwmon_dir: Path, attribute_dir: Path,
                 device_dir: Path | None):
        self.tree = tree
        self.number = number
        self.hwmon_dir = hwmon_dir
        self.attribute_dir = attribute_dir
        self.device_dir = device_dir

    def path(self, attribute: str) -> Path:
        """Return the path of one attribute."""
        return self.attribute_dir / attribute

    def write(self, attribute: str, value: object) -> FakeChip:
        """Write one attribute the way sysfs shows it (value and a newline)."""
        self.tree.write_file(self.path(attribute), f"{value}\n")
        return self

    def write_all(self, values: dict[str, object]) -> FakeChip:
        """Write several attributes."""
        for attribute, value in values.items():
            self.write(attribute, value)
        return self

    def break_attribute(self, attribute: str, how: str) -> Path:
        """Put something unreadable where an attribute should be (one of BROKEN_KINDS)."""
        path = self.path(attribute)
        if path.is_symlink() or path.is_file():
            path.unlink()
        if how == "directory":
            self.tree.mkdir(path)
        elif how == "dangling":
            path.symlink_to("no-such-attribute")
        elif how == "empty":
            self.tree.write_file(path, "")
        elif how == "garbage":
            self.tree.write_file(path, "N/A\n")
        elif how == "fifo":
            os.mkfifo(path, FILE_MODE)
        else:
            raise ValueError(f"unknown breakage {how!r}; one of {BROKEN_KINDS}")
        return path

    def unblock(self, attribute: str, text: str = "") -> None:
        """Release readers blocked opening a FIFO attribute, giving them `text`."""
        # O_NONBLOCK: succeeds only while a reader is blocked in open(), never hangs the test.
        try:
            fd = os.open(self.path(attribute), os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return  # nobody is blocked on it
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)

    def remove(self) -> None:
        """Make the chip vanish, as when its driver is unloaded."""
        (self.tree.hwmon_class / f"hwmon{self.number}").unlink()
        shutil.rmtree(self.hwmon_dir)


def build_synthetic_tree(root: Path | str, sensors: int) -> FakeSysfs:
    """Build a tree of Super-I/O-like chips (8 temp, 6 in, 2 fan each) with `sensors` channels."""
    tree = FakeSysfs(root)
    per_chip = ("temp",) * 8 + ("in",) * 6 + ("fan",) * 2
    for number in range((sensors + len(per_chip) - 1) // len(per_chip)):
        chip = tree.add_chip("synth", device=f"platform/synth.{number}", bus="platform")
        counts: dict[str, int] = {}
        for kind in per_chip[: sensors - number * len(per_chip)]:
            counts[kind] = counts.get(kind, 0) + 1
            _write_synthetic_channel(chip, kind, counts[kind])
    return tree


def _write_synthetic_channel(chip: FakeChip, kind: str, index: int) -> None:
    if kind == "temp":
        chip.write_all({f"temp{index}_input": 30000 + 500 * index, f"temp{index}_label": f"Temp {index}",
                        f"temp{index}_max": 80000, f"temp{index}_crit": 100000,
                        f"temp{index}_crit_alarm": 0})
    elif kind == "in":
        chip.write_all({f"in{index}_input": 1000 + 10 * index, f"in{index}_min": 900,
                        f"in{index}_max": 1500, f"in{index}_alarm": 0})
    else:
        chip.write_all({f"fan{index}_input": 1200 + index, f"fan{index}_min": 300, f"fan{index}_alarm": 0})
