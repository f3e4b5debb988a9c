"""What this device is to Home Assistant: an id that no other device on the broker has, and its board.

The id. It names the device's topics and is part of every unique id, so it must stay the same
across restarts and upgrades and differ between devices. Not the host's /etc/machine-id: the
container does not see it unless mounted, and an SD card image copied to several boards carries
one machine-id for all of them until each is regenerated (several Raspberry Pis on one broker
would then be one device in HA). Instead, 12 random hex digits made once and kept in the history's
volume (`mqtt-device-id`, beside history.db: it outlives the container and an upgrade, as the
history does); `[mqtt] device_id` sets it by hand (a new card for an old device keeps its
entities). Without a history directory (tests, `make dev`) it is kept in the run directory and
lasts as long as that.

The board: Home Assistant shows it as the device's hardware. Read from the sysfs root the
sampler reads (FROST_SYSFS_ROOT): a device tree's `model` (Raspberry Pi and other ARM boards) or
DMI's vendor and product (PCs); tolerant, as every sysfs read here is: missing or odd, it is None.
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

from ..store.files import write_atomically

log = logging.getLogger("frostserver.mqtt")

DEVICE_ID_FILE = "mqtt-device-id"
_ID = re.compile(r"[0-9a-f]{12}")
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def device_id(configured: str | None, directory: Path) -> str:
    """Return the device's id: the configured one, else the one kept in `directory` (made on first use)."""
    if configured is not None:
        return configured
    path = Path(directory) / DEVICE_ID_FILE
    try:
        kept = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        kept = None
    except (OSError, UnicodeDecodeError) as error:
        kept = ""
        log.error("cannot read %s (%s)", path, getattr(error, "strerror", None) or error)
    if kept is not None and _ID.fullmatch(kept):
        return kept
    if kept is not None:  # damaged: a new id is a new device in HA, said so the old one can be removed
        log.error("%s holds no device id; making a new one (HA will show a new device: delete the old one there)", path)
    made = secrets.token_hex(6)
    try:
        write_atomically(path, f"{made}\n".encode("ascii"))
    except OSError as error:
        log.error(
            "cannot keep the device id in %s (%s): it changes at every start until it can be written; "
            "or set [mqtt] device_id",
            path,
            error.strerror or error,
        )
    return made


def board_model(sysfs_root: Path) -> str | None:
    """Return the board's model as sysfs tells it ("Raspberry Pi 4 Model B Rev 1.4"), or None."""
    root = Path(sysfs_root)
    tree = _read(root / "firmware" / "devicetree" / "base" / "model")
    if tree:
        return tree
    vendor, product = (
        _read(root / "class" / "dmi" / "id" / "sys_vendor"),
        _read(root / "class" / "dmi" / "id" / "product_name"),
    )
    if product and vendor and not product.startswith(vendor):
        return f"{vendor} {product}"
    return product or vendor


def _read(path: Path) -> str | None:
    try:
        raw = path.read_bytes()[:256]
    except OSError:
        return None
    # A device tree's strings end with NUL; firmware fills DMI with "To be filled by O.E.M." and such.
    text = _PRINTABLE.sub("", raw.split(b"\0", 1)[0].decode("utf-8", "replace")).strip()
    if not text or "filled by" in text.lower() or text.lower() in ("default string", "system product name"):
        return None
    return text[:64]
