"""[filter], [relabel], [thresholds] and [customize]: what the document changes about the sensors the reader reports.

Which sensors to keep (include/exclude globs), what to call them (exact ids), and which thresholds
replace the chip's own (globs, later tables winning); then, per sensor, what a person said about
it ([customize], customize.py), which wins over [relabel] and [thresholds]. overrides.py applies
them to each sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import validate
from .customize import Customization, parse_customize
from .errors import Invalid, KeyPath
from .id_patterns import IdPattern, id_pattern
from .sensors import SensorSpec

# Threshold names an override may set, by the side on which a reading raises the alarm.
HIGH_LIMITS = frozenset({"max", "crit", "emergency"})
LOW_LIMITS = frozenset({"min", "lcrit"})
FILTER_KEYS = ("include", "exclude")


@dataclass(frozen=True)
class ThresholdOverride:
    """Threshold values that replace the chip's own for every sensor id matching a pattern."""

    pattern: IdPattern
    limits: Mapping[str, float]


@dataclass(frozen=True)
class SensorOverrides:
    """Which sensors to keep, how to label them and which thresholds to override."""

    include: tuple[IdPattern, ...] = ()
    exclude: tuple[IdPattern, ...] = ()
    relabel: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    thresholds: tuple[ThresholdOverride, ...] = ()
    customize: Mapping[str, Customization] = field(default_factory=lambda: MappingProxyType({}))
    # The settings store's revision of each sensor's last change in the browser (settings/), for
    # If-Match; not the document's: the resolver's caller adds it.
    revisions: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), compare=False)

    @property
    def is_empty(self) -> bool:
        """Tell whether the overrides leave every sensor as it is."""
        return not (self.include or self.exclude or self.relabel or self.thresholds or self.customize or self.revisions)


def parse_sensor_overrides(document: dict[str, Any]) -> SensorOverrides:
    """Parse [filter], [relabel] and [thresholds] into SensorOverrides."""
    body = validate.table(document.get("filter", {}), ("filter",))
    validate.reject_unknown(body, FILTER_KEYS, ("filter",))
    return SensorOverrides(
        include=parse_patterns(body.get("include", []), ("filter", "include")),
        exclude=parse_patterns(body.get("exclude", []), ("filter", "exclude")),
        relabel=parse_relabel(document.get("relabel", {})),
        thresholds=parse_thresholds(document.get("thresholds", {})),
        customize=parse_customize(document.get("customize", {})),
    )


def parse_patterns(value: Any, key: KeyPath) -> tuple[IdPattern, ...]:
    """Compile a list of sensor id globs."""
    if not isinstance(value, list):
        raise Invalid(key, f'must be a list of patterns like ["coretemp-*/temp*"], got {validate.show(value)}')
    return tuple(id_pattern(glob, (*key, index)) for index, glob in enumerate(value))


def parse_relabel(value: Any) -> Mapping[str, str]:
    """Parse [relabel]: exact sensor id -> label."""
    body = validate.table(value, ("relabel",))
    for sensor_id, label in body.items():
        key = ("relabel", sensor_id)
        if set("*?[") & set(sensor_id):
            raise Invalid(key, "relabel takes exact sensor ids like 'coretemp-isa-0000/temp1', not patterns")
        if "/" not in sensor_id:
            raise Invalid(key, "must be a whole sensor id like 'coretemp-isa-0000/temp1'")
        validate.text(label, key, 64)
    return MappingProxyType(dict(body))


def parse_thresholds(value: Any) -> tuple[ThresholdOverride, ...]:
    """Parse [thresholds."<pattern>"] tables, in document order."""
    body = validate.table(value, ("thresholds",))
    return tuple(parse_threshold_override(glob, limits) for glob, limits in body.items())


def parse_threshold_override(glob: str, value: Any) -> ThresholdOverride:
    """Parse one [thresholds."<pattern>"] table of limit name -> value."""
    key = ("thresholds", glob)
    if not isinstance(value, dict):
        raise Invalid(
            key, f'must be a table like [thresholds."coretemp-*/temp1"] with max = 85, got {validate.show(value)}'
        )
    pattern = id_pattern(glob, key)
    names = sorted(HIGH_LIMITS | LOW_LIMITS)
    validate.reject_unknown(value, names, key)
    if not value:
        raise Invalid(key, f"sets no threshold; use some of {', '.join(names)}")
    limits = {name: validate.number(limit, (*key, name)) for name, limit in value.items()}
    return ThresholdOverride(pattern, MappingProxyType(limits))


def check_declared_sensors_kept(sensors: tuple[SensorSpec, ...], overrides: SensorOverrides) -> None:
    """Refuse a filter that would drop a sensor this same document declares: that is always a slip."""
    for spec in sensors:
        if overrides.include and not any(p.matches(spec.sensor_id) for p in overrides.include):
            raise Invalid(
                ("filter", "include"),
                f"drops the declared sensor {spec.sensor_id!r}; add 'config/*' to keep it",
            )
        for pattern in overrides.exclude:
            if pattern.matches(spec.sensor_id):
                raise Invalid(
                    ("filter", "exclude"),
                    f"{pattern.glob!r} drops the declared sensor {spec.sensor_id!r}; "
                    f"remove [sensors.{spec.key}] instead",
                )
