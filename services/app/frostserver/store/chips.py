"""Every hwmon chip as a whole (names, adapter, settings of channels without a reading), in chips.json.

Sensors are channels with a reading (catalog.py); a chip also has channels that only hold
settings, such as asus-nb-wmi's lone pwm1_enable or a Super I/O's fan curve without pwm1. The
sampler replaces the file when a chip appears, vanishes or its metadata changes (ChipsWriter),
which is rare: settings are read with the chip's metadata, not at every sample. Workers decode
it once per version (ChipsReader) for /metrics and /api/v1/chips.

    {"version": 1, "chips": [{<encode_chip's keys>}, ...]}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..codec import Damaged, parse_document
from ..model import Chip, ChipSetting
from .files import DecodedFile, FileIdentity, write_atomically

VERSION = 1
WHAT = "the chips file"


def encode_chip(chip: Chip) -> dict[str, Any]:
    """Return a chip as plain data."""
    return {
        "id": chip.id,
        "name": chip.name,
        "adapter": chip.adapter,
        "sysfs_chip": chip.sysfs_chip,
        "sysfs_chip_name": chip.sysfs_chip_name,
        "settings": [[s.channel, s.sysfs_channel, s.label, dict(s.attributes)] for s in chip.settings],
    }


def decode_chip(entry: Mapping[str, Any]) -> Chip:
    """Rebuild a Chip from what encode_chip returned."""
    settings = tuple(
        ChipSetting(channel, sysfs_channel, label, dict(attributes))
        for channel, sysfs_channel, label, attributes in entry["settings"]
    )
    return Chip(entry["id"], entry["name"], entry["adapter"], entry["sysfs_chip"], entry["sysfs_chip_name"], settings)


@dataclass(frozen=True)
class Chips:
    """One version of chips.json, decoded: shared, never changed, by every thread of a worker."""

    identity: FileIdentity | None
    chips: tuple[Chip, ...]  # sorted by id


EMPTY = Chips(None, ())


class ChipsWriter:
    """Publish the current chips when they change; the sampler's alone."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._known: tuple[Chip, ...] | None = None  # the chips last published

    def update(self, chips: Iterable[Chip]) -> None:
        """Replace chips.json if the chips differ from the ones last published."""
        chips = tuple(sorted(chips, key=lambda chip: chip.id))
        # Cheap at every sample: the reader hands back the same objects until a chip's metadata
        # changes, and a tuple compares its items by identity before equality.
        if chips == self._known:
            return
        self._known = chips
        write_atomically(self.path, encode(chips))


class ChipsReader(DecodedFile[Chips]):
    """Read the current chips from any thread, decoding each version once."""

    def __init__(self, path: Path):
        super().__init__(path, _decode_chips, EMPTY)


def encode(chips: Iterable[Chip]) -> bytes:
    """Return chips.json's bytes."""
    document = {"version": VERSION, "chips": [encode_chip(chip) for chip in chips]}
    return json.dumps(document, ensure_ascii=False).encode()


def decode(data: bytes) -> tuple[Chip, ...]:
    """Return the chips a chips.json holds; raise codec.Refused for another version or a damaged file."""
    document = parse_document(data, VERSION, WHAT)
    try:
        return tuple(decode_chip(entry) for entry in document["chips"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # a field missing or of another type
        raise Damaged(WHAT, f"{type(error).__name__}: {error}") from None


def _decode_chips(identity: FileIdentity | None, data: bytes) -> Chips:
    return Chips(identity, decode(data))
