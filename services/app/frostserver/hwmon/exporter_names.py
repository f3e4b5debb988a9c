"""Name chips and clean label values the way node_exporter's hwmon collector does, for /metrics."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence

_INVALID_METRIC_CHARS = re.compile(r"[^a-z0-9:_]")


def clean_metric_name(name: str) -> str:
    """Clean a name for a label value the way node_exporter's hwmon collector does."""
    return _INVALID_METRIC_CHARS.sub("_", name.lower()).strip("_")


def exporter_chip_label(hwmon_dir: str, device: str | None, hwmon_name: str | None) -> str:
    """Name a chip as node_exporter (1.6 and later) labels it: from the device path, else `name`, else hwmonN."""
    # The device's parent directory and its own name: platform/coretemp.0 -> platform_coretemp_0,
    # .../nvme/nvme0 -> nvme_nvme0.  Stable across reboots, unlike hwmonN.
    if device is not None:
        dev_type = clean_metric_name(os.path.basename(os.path.dirname(device)))
        dev_name = clean_metric_name(os.path.basename(device))
        if dev_type and dev_name:
            return f"{dev_type}_{dev_name}"
        if dev_name:
            return dev_name
    if hwmon_name and clean_metric_name(hwmon_name):
        return clean_metric_name(hwmon_name)
    return clean_metric_name(os.path.basename(hwmon_dir))


def distinct_chip_labels(chips: Sequence[tuple[str, str, str]]) -> list[str]:
    """Give hwmon devices that share a chip label distinct ones, as node_exporter 1.12 does.

    Each entry is (base label from exporter_chip_label, cleaned `name` file or "", hwmonN
    directory name); the result is each entry's label, in order.  Several hwmon devices can hang
    off one parent device (asus-nb-wmi registers two, an mt7996 wifi card one per band), so their
    device-derived labels collide and node_exporter up to 1.11 fails on the colliding series
    (node_exporter #3637, #3673).  1.12 (PR #3646) keeps a unique base label as it is and suffixes
    a shared one with "_" + the chip's cleaned `name` when no other device of that base has the
    same name, else with "_" + its hwmonN (unique within a boot, though not across boots).
    """
    bases = Counter(base for base, _, _ in chips)
    names = Counter((base, name) for base, name, _ in chips if name)
    labels = []
    for base, name, hwmon in chips:
        if bases[base] == 1:
            labels.append(base)
        elif name and names[(base, name)] == 1:
            labels.append(f"{base}_{name}")
        else:
            labels.append(f"{base}_{clean_metric_name(hwmon)}")
    return labels
