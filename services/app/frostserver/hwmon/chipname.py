"""Name hwmon chips the way lm-sensors does: `<prefix>-<bus>-<address>`.

Follows lm-sensors lib/sysfs.c (classify_device, find_bus_type, sensors_read_one_sysfs_chip)
and lib/data.c (sensors_snprintf_chip_name), so our chip ids match what `sensors` prints:
coretemp-isa-0000, nvme-pci-0100, sht3x-i2c-1-44, acpitz-acpi-0, cpu_thermal-virtual-0. The name itself,
ChipName, is lm-sensors' (lmsensors/chip_name.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..lmsensors.chip_name import ChipName

# Device-name patterns, one per sscanf format in lm-sensors classify_device().  sscanf stops
# at the first mismatch, hence re.match (a prefix match), not fullmatch.
_I2C = re.compile(r"(\d+)-(?:0[xX])?([0-9a-fA-F]+)")  # "%hd-%x", e.g. 1-0044
_SPI = re.compile(r"spi(\d+)\.(\d+)")  # "spi%hd.%d"
_PCI = re.compile(r"([0-9a-fA-F]+):([0-9a-fA-F]+):([0-9a-fA-F]+)\.([0-9a-fA-F]+)")  # "%x:%x:%x.%x"
_PLATFORM = re.compile(r"[a-z0-9_]+\.([+-]?\d+)")  # "%*[a-z0-9_].%d", e.g. coretemp.0
_MDIO = re.compile(r"[^:]+:([+-]?\d+)")  # "%*[^:]:%d"
_SCSI = re.compile(r"(\d+):(\d+):(\d+):([0-9a-fA-F]+)")  # "%d:%d:%d:%x"

_LEGACY_ISA_I2C_BUS = 9191  # the pre-2.6.18 i2c-isa pseudo adapter
_MAX_PARENT_HOPS = 8  # device -> device links never nest deeper on real machines

_ADAPTERS = {
    "isa": "ISA adapter",
    "pci": "PCI adapter",
    "spi": "SPI adapter",
    "virtual": "Virtual device",
    "acpi": "ACPI interface",
    "hid": "HID adapter",
    "mdio": "MDIO adapter",
    "scsi": "SCSI adapter",
}


@dataclass(frozen=True)
class _Bus:
    bus: str
    bus_nr: int = 0
    address: int = 0
    adapter: str = ""


ReadText = Callable[[str], "str | None"]


def name_chip(prefix: str, device_path: str | None, sysfs_root: str, read_text: ReadText) -> ChipName:
    """Name a chip from its driver prefix and its resolved device directory (None: no device)."""
    bus = find_bus(device_path, sysfs_root, read_text) if device_path else None
    if bus is None:
        # No device link, or no known bus anywhere up the chain: lm-sensors calls it
        # virtual and assumes it unique (address 0) -- which it often is not (DS18B20s).
        bus = _Bus("virtual")
    return ChipName(prefix, bus.bus, bus.bus_nr, bus.address, bus.adapter or _ADAPTERS[bus.bus])


def find_bus(device_path: str, sysfs_root: str, read_text: ReadText) -> _Bus | None:
    """Walk from a device up its `device` links until one sits on a bus lm-sensors knows."""
    # nvme: nvme0 (class nvme) -> 0000:01:00.0 (pci); acpitz: thermal_zone0 -> LNXTHERM:00 (acpi).
    path: str | None = device_path
    for _ in range(_MAX_PARENT_HOPS):
        if path is None:
            return None
        bus = classify_device(os.path.basename(path), subsystem_of(path), sysfs_root, read_text)
        if bus is not None:
            return bus
        path = device_link(path)
    return None


def subsystem_of(device_path: str) -> str | None:
    """Return the last component of the device's `subsystem` (or pre-2.6.18 `bus`) link."""
    for link in ("subsystem", "bus"):
        try:
            return os.path.basename(os.readlink(os.path.join(device_path, link)))
        except OSError:
            continue
    return None


def device_link(device_path: str) -> str | None:
    """Resolve a directory's `device` link, or None if it has none (a virtual chip's hwmon dir)."""
    link = os.path.join(device_path, "device")
    if not os.path.exists(link):
        return None
    return os.path.realpath(link)


def classify_device(dev_name: str, subsys: str | None, sysfs_root: str, read_text: ReadText) -> _Bus | None:
    """Tell the bus of one device from its name and subsystem, like lm-sensors classify_device()."""
    # Same order and conditions as lm-sensors: a device without a subsystem link may match
    # any pattern, and ends up ISA.
    if subsys in (None, "i2c") and (m := _I2C.match(dev_name)):
        return _i2c_bus(int(m.group(1)), int(m.group(2), 16), sysfs_root, read_text)
    if subsys in (None, "spi") and (m := _SPI.match(dev_name)):
        return _Bus("spi", int(m.group(1)), int(m.group(2)))
    if subsys in (None, "pci") and (m := _PCI.match(dev_name)):
        domain, bus, slot, fn = (int(g, 16) for g in m.groups())
        return _Bus("pci", 0, (domain << 16) + (bus << 8) + (slot << 3) + fn)
    if subsys in (None, "platform", "of_platform"):
        # Platform devices are "new ISA"; the address is the instance number (coretemp.1).
        m = _PLATFORM.match(dev_name)
        return _Bus("isa", 0, int(m.group(1)) if m else 0)
    if subsys == "acpi":
        return _Bus("acpi")
    if subsys == "hid" and (m := _PCI.match(dev_name)):
        return _Bus("hid", int(m.group(1), 16), int(m.group(4), 16))
    if subsys == "mdio_bus":
        m = _MDIO.match(dev_name)
        return _Bus("mdio", 0, int(m.group(1)) if m else 0)
    if subsys == "scsi" and (m := _SCSI.match(dev_name)):
        host, channel, target, lun = int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4), 16)
        return _Bus("scsi", host, (channel << 8) + (target << 4) + lun)
    return None


def _i2c_bus(nr: int, address: int, sysfs_root: str, read_text: ReadText) -> _Bus:
    """Name an i2c client's bus, treating the legacy ISA pseudo adapters as ISA."""
    if nr == _LEGACY_ISA_I2C_BUS:
        return _Bus("isa", 0, address)
    adapter_dir = os.path.join(sysfs_root, "class", "i2c-adapter", f"i2c-{nr}")
    legacy_name = read_text(os.path.join(adapter_dir, "device", "name"))
    if legacy_name and legacy_name.startswith("ISA "):
        return _Bus("isa", 0, address)
    adapter = read_text(os.path.join(adapter_dir, "name")) or f"i2c-{nr} adapter"
    return _Bus("i2c", nr, address, adapter)
