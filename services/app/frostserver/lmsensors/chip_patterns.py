"""Chip patterns of `chip` statements, parsed and matched like libsensors (lib/data.c, lib/access.c).

A pattern is `PREFIX-*` (any bus), or `PREFIX-BUS-ADDRESS` for isa, pci, virtual, acpi and mdio, or
`PREFIX-BUS-NUMBER-ADDRESS` for the numbered buses i2c, spi, hid and scsi; PREFIX, NUMBER and
ADDRESS may each be `*`.  ADDRESS is hexadecimal (`0290`, `48`, `0x48`), NUMBER decimal.  As in
libsensors 3 a prefix never contains a dash, and a lone `*` is no pattern (`*-*` is).

A bus number in a pattern is the *configuration's* number: a `bus "i2c-N" "adapter name"` statement
in the same file binds it to whichever adapter of the machine has that name, so a file keeps working
when the kernel numbers the adapters differently.  A numbered pattern without such a statement, or
whose adapter the machine lacks, matches nothing (libsensors: SENSORS_BUS_NR_IGNORE).

Deliberate difference: libsensors compares the bus type with strncmp over the typed length, so it
also takes `lm75-i2-*-48` as i2c; here the bus type must be spelled out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .chip_name import ChipName

BUS_TYPES = frozenset({"i2c", "isa", "pci", "spi", "virtual", "acpi", "hid", "mdio", "scsi"})
NUMBERED_BUS_TYPES = frozenset({"i2c", "spi", "hid", "scsi"})

# strtoul(..., 16) takes an optional 0x; leading signs and blanks it also takes are left out.
_ADDRESS = re.compile(r"(?:0[xX])?[0-9a-fA-F]+")
_BUS_NUMBER = re.compile(r"[0-9]+")
_BUS_ID = re.compile(r"i2c-([0-9]+)")


class InvalidChipPattern(Exception):
    """A chip pattern (or bus id) libsensors would refuse; the message says why."""


@dataclass(frozen=True)
class ChipPattern:
    """One parsed chip pattern; None stands for the wildcard `*`."""

    text: str
    prefix: str | None
    bus: str | None
    bus_nr: int | None  # the configuration's bus number, resolved through `bus` statements
    address: int | None


def parse_chip_pattern(text: str) -> ChipPattern:
    """Parse a pattern like `nct6779-*`, `*-isa-*`, `it87-isa-0290` or `lm75-i2c-*-48`."""
    prefix, dash, rest = text.partition("-")
    if not dash:
        hint = ' (for any chip write "*-*")' if text == "*" else ""
        raise InvalidChipPattern(f"chip name {text!r} has no dash: expected PREFIX-* or PREFIX-BUS-ADDRESS{hint}")
    prefix_or_any = None if prefix == "*" else prefix
    if rest == "*":
        return ChipPattern(text, prefix_or_any, None, None, None)
    bus, dash, rest = rest.partition("-")
    if bus not in BUS_TYPES or not dash:
        raise InvalidChipPattern(
            f"chip name {text!r}: unknown bus type {bus!r} (expected one of {', '.join(sorted(BUS_TYPES))};"
            f" {prefix}-* matches any bus)"
        )
    bus_nr = None
    if bus in NUMBERED_BUS_TYPES:
        number, dash, rest = rest.partition("-")
        if not dash or not (number == "*" or _BUS_NUMBER.fullmatch(number)):
            raise InvalidChipPattern(
                f"chip name {text!r}: a {bus} chip needs a bus number and an address, e.g. {prefix}-{bus}-*-*"
            )
        bus_nr = None if number == "*" else int(number)
    return ChipPattern(text, prefix_or_any, bus, bus_nr, _parse_address(text, rest))


def _parse_address(text: str, address: str) -> int | None:
    if address == "*":
        return None
    if not _ADDRESS.fullmatch(address):
        raise InvalidChipPattern(f"chip name {text!r}: address {address!r} is not hexadecimal")
    return int(address, 16)


def parse_bus_id(text: str) -> int:
    """Return N of a `bus` statement's `i2c-N` (the only bus type a bus statement binds)."""
    match = _BUS_ID.fullmatch(text)
    if match is None:
        raise InvalidChipPattern(f"bus id {text!r} is not i2c-N with N a decimal number")
    return int(match.group(1))


def needs_bus_statement(pattern: ChipPattern, buses: Mapping[int, str]) -> bool:
    """Tell whether the pattern names a bus number that no `bus` statement of its file binds."""
    if pattern.bus_nr is None:
        return False
    return pattern.bus != "i2c" or pattern.bus_nr not in buses


def matches(pattern: ChipPattern, chip: ChipName, buses: Mapping[int, str], adapters: Mapping[int, str]) -> bool:
    """Tell whether a chip matches, like sensors_match_chip after sensors_substitute_busses.

    `buses` are the pattern's file's bus statements (configuration number -> adapter name);
    `adapters` the machine's i2c adapters (bus number -> adapter name).
    """
    if pattern.prefix is not None and pattern.prefix != chip.prefix:
        return False
    if pattern.bus is not None and pattern.bus != chip.bus:
        return False
    if pattern.bus_nr is not None and machine_bus_nr(pattern, buses, adapters) != chip.bus_nr:
        return False
    return pattern.address is None or pattern.address == chip.address


def machine_bus_nr(pattern: ChipPattern, buses: Mapping[int, str], adapters: Mapping[int, str]) -> int | None:
    """Return the machine's bus number a numbered pattern stands for, or None if it has none.

    libsensors takes the first adapter of that name in sysfs order; with two adapters of the same
    name we take the lowest number, which is the order the kernel usually registers them in.
    """
    if pattern.bus != "i2c" or pattern.bus_nr is None or pattern.bus_nr not in buses:
        return None
    adapter = buses[pattern.bus_nr]
    return min((nr for nr, name in adapters.items() if name == adapter), default=None)
