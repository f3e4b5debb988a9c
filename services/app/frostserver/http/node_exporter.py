"""node_exporter's hwmon series, name for name, label for label and value for value.

Follows node_exporter's hwmon collector (collector/hwmon_linux.go, 1.9 as Debian 13 ships it),
quirks included, so dashboards and alerts written for node_exporter keep working. Its `chip`
labels follow 1.12: several hwmon devices on one parent device (asus-nb-wmi's two, a wifi card's
one per band) get distinct labels, the shared device-derived one suffixed with "_" + the cleaned
`name` file where that tells them apart, else with "_hwmonN" (hwmon/exporter_names.py,
node_exporter PR #3646), where 1.9 to 1.11 give them one label and fail on the colliding series.
Channels without a reading (pwm1_enable without pwm1) are exported from their chip's settings
(model.Chip), as node_exporter exports every attribute file.  Deliberate differences (README.md,
"Where /metrics differs from node_exporter"; tests/unit/test_metrics.py diffs against
node_exporter's own output):
- a reading that is faulted, disabled, unreadable or implausible is left out instead of exported;
- limits, settings and other attributes are read with the chip metadata (every 60 s), not at
  every scrape;
- chip-wide attributes (beep_enable, update_interval, vrm) and files of the parent device that
  are not hwmon attributes (a thermal zone's `temp`) are not exported;
- sensors excluded in the config file are not exported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..hwmon.exporter_names import clean_metric_name
from ..model import Chip, Reading, Sensor

_LABELS = ("chip", "sensor")
_FLAGS = ("fault", "enable")  # with *alarm: read per sample, exported even without a value


Series = tuple[str, str, str, float, "str | None"]


def hwmon_series(sensor_type: str, element: str, raw: float, has_bare_value: bool, label: str | None) -> Series | None:
    """Name, help, type and value of one hwmon attribute as node_exporter exports it, or None.

    `element` is the attribute's property ("input", "max", "crit_alarm", "" for pwmN);
    `raw` its number in sysfs units. Returns (name, help, type, value, sensor label or None).
    """
    # Same order of checks and the same float arithmetic as hwmon_linux.go, so values match to
    # the last bit (84850 * 0.001 is 84.85000000000001 there too).
    name = "node_hwmon_" + sensor_type
    if element == "input":
        if has_bare_value:
            name += "_input"
    elif element:
        name += "_" + clean_metric_name(element)
    if element in ("fault", "alarm"):
        return name, f"Hardware sensor {element} status ({sensor_type})", "gauge", raw, None
    if element == "beep":
        return name + "_enabled", "Hardware monitor sensor has beeping enabled", "gauge", raw, None
    # Everything else gets a unit -- including *_crit_alarm, *_enable and *_offset: node_exporter's
    # quirk, kept so that existing queries see the same numbers (temp1_crit_alarm=1 is 0.001).
    if sensor_type in ("in", "cpu"):
        return name + "_volts", f"Hardware monitor for voltage ({element})", "gauge", raw * 0.001, None
    if sensor_type == "temp" and element != "type":
        element = element or "input"
        return name + "_celsius", f"Hardware monitor for temperature ({element})", "gauge", raw * 0.001, None
    if sensor_type == "curr":
        return name + "_amps", f"Hardware monitor for current ({element})", "gauge", raw * 0.001, None
    if sensor_type == "energy":
        return (
            name + "_joule_total",
            f"Hardware monitor for joules used so far ({element})",
            "counter",
            raw / 1000000.0,
            None,
        )
    if sensor_type == "power" and element == "accuracy":
        return name, "Hardware monitor power meter accuracy, as a ratio", "gauge", raw / 1000000.0, None
    if sensor_type == "power" and element in ("average_interval", "average_interval_min", "average_interval_max"):
        return (
            name + "_seconds",
            f"Hardware monitor power usage update interval ({element})",
            "gauge",
            raw * 0.001,
            None,
        )
    if sensor_type == "power":
        return name + "_watt", f"Hardware monitor for power usage in watts ({element})", "gauge", raw / 1000000.0, None
    if sensor_type == "humidity":
        # Milli-percent divided by 1e6: a tenth of the true ratio (45.2 %RH -> 0.0452).  Kept as
        # node_exporter has it; frost_sensor_value is not affected.
        return (
            name,
            "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a "
            f"percentage) ({element})",
            "gauge",
            raw / 1000000.0,
            None,
        )
    if sensor_type == "fan" and element in ("input", "min", "max", "target"):
        return name + "_rpm", f"Hardware monitor for fan revolutions per minute ({element})", "gauge", raw, None
    if sensor_type == "freq":
        # Only labelled clocks, and the cleaned label replaces the sensor name (amdgpu sclk, mclk).
        if element == "input" and label is not None:
            renamed = clean_metric_name(label)
            return name + "_freq_mhz", "Hardware monitor for GPU frequency in MHz", "gauge", raw / 1000000.0, renamed
        return None
    return name, f"Hardware monitor {sensor_type} element {element}", "gauge", raw, None


def _is_flag(element: str) -> bool:
    return element in _FLAGS or element == "alarm" or element.endswith("_alarm")


class _Families:
    """Collect samples by metric name, first one of a series wins (as in node_exporter)."""

    def __init__(self) -> None:
        self.families: dict[str, tuple[str, str, dict[tuple[str, ...], float]]] = {}

    def add(self, name: str, help_text: str, kind: str, labels: tuple[str, ...], value: float) -> None:
        _, _, samples = self.families.setdefault(name, (kind, help_text, {}))
        samples.setdefault(labels, value)

    def metrics(self, label_names: dict[str, tuple[str, ...]]) -> list[Metric]:
        out: list[Metric] = []
        for name in sorted(self.families):
            kind, help_text, samples = self.families[name]
            names = label_names.get(name, _LABELS)
            family = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(name, help_text, labels=names)
            for labels in sorted(samples):
                family.add_metric(list(labels), samples[labels])
            out.append(family)
        return out


def hwmon_metrics(pairs: Iterable[tuple[Sensor, Reading]], chips: Iterable[Chip] = ()) -> list[Metric]:
    """Render node_exporter's node_hwmon_* families from a sample's hwmon sensors and the chips' settings."""
    families = _Families()
    for sensor, reading in pairs:
        sysfs = sensor.sysfs
        if sysfs is None:
            continue
        _add_chip_name(families, sysfs.chip, sysfs.chip_name)
        elements = dict(sysfs.attributes)
        for element, raw in reading.raw:
            # The reading itself only when FrostServer trusts it; flags always.
            if reading.value is not None or _is_flag(element):
                elements[element] = raw
        _add_channel(families, sysfs.chip, sysfs.channel, sysfs.label, elements)
    for chip in chips:
        # node_exporter names every chip with a `name` file, even one without a single reading.
        _add_chip_name(families, chip.sysfs_chip, chip.sysfs_chip_name)
        for setting in chip.settings:
            _add_channel(families, chip.sysfs_chip, setting.sysfs_channel, setting.label, setting.attributes)
    return families.metrics(
        {"node_hwmon_chip_names": ("chip", "chip_name"), "node_hwmon_sensor_label": ("chip", "sensor", "label")}
    )


def _add_chip_name(families: _Families, chip: str, chip_name: str) -> None:
    if chip_name:
        families.add(
            "node_hwmon_chip_names", "Annotation metric for human-readable chip names", "gauge", (chip, chip_name), 1.0
        )


def _add_channel(
    families: _Families, chip: str, channel: str, label: str | None, elements: Mapping[str, float]
) -> None:
    """Add one channel's series: its label and each of its attributes (`elements`, raw numbers by property)."""
    if label is not None:
        families.add("node_hwmon_sensor_label", "Label for given chip and sensor", "gauge", (chip, channel, label), 1.0)
    sensor_type = channel.rstrip("0123456789")
    has_bare_value = "" in elements
    for element, raw in elements.items():
        series = hwmon_series(sensor_type, element, float(raw), has_bare_value, label)
        if series is not None:
            name, help_text, kind, value, renamed = series
            families.add(name, help_text, kind, (chip, renamed or channel), value)
