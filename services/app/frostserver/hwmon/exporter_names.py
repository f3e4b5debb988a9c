"""Name chips and clean label values the way node_exporter's hwmon collector does, for /metrics."""

from __future__ import annotations

import os
import re

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
