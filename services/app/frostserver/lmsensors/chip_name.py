"""An lm-sensors chip name, `<prefix>-<bus>-<address>`, formatted as lib/data.c does.

The value only: hwmon/chipname.py derives one for each chip from its sysfs device path, and this
package matches `chip` statements against it. It lives here, below both, so that the reader can
use the lm-sensors configuration without the configuration needing the reader.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChipName:
    """An lm-sensors chip name: driver prefix, bus type, bus number and address."""

    prefix: str
    bus: str  # "isa", "pci", "i2c", "spi", "virtual", "acpi", "hid", "mdio", "scsi"
    bus_nr: int = 0
    address: int = 0
    adapter: str = ""  # the "Adapter:" line of `sensors`

    @property
    def id(self) -> str:
        """Format the name exactly like sensors_snprintf_chip_name()."""
        if self.bus in ("isa", "pci"):
            return f"{self.prefix}-{self.bus}-{self.address:04x}"
        if self.bus == "i2c":
            return f"{self.prefix}-i2c-{self.bus_nr}-{self.address:02x}"
        if self.bus in ("spi", "hid", "scsi"):
            return f"{self.prefix}-{self.bus}-{self.bus_nr}-{self.address:x}"
        return f"{self.prefix}-{self.bus}-{self.address:x}"
