"""A whole lm-sensors configuration, and what it says about one chip in libsensors' precedence.

libsensors (lib/access.c, sensors_for_all_config_chips) visits the matching chip blocks from the
last in configuration order to the first: for a label or a compute statement the last matching
block that has one wins, and within a block the first statement for the feature; a feature is
ignored if any matching block ignores it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .chip_name import ChipName
from .problem import Problem
from .statements import ChipBlock, Compute


@dataclass(frozen=True)
class ChipConfig:
    """Everything the configuration says about one chip: labels, ignored features, computes."""

    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    ignored: frozenset[str] = frozenset()
    computes: Mapping[str, Compute] = field(default_factory=lambda: MappingProxyType({}))

    def label(self, feature: str) -> str | None:
        """Return the configured label of a feature (`in0`, `temp1`), or None."""
        return self.labels.get(feature)

    def is_ignored(self, feature: str) -> bool:
        """Tell whether the configuration hides the feature."""
        return feature in self.ignored

    def compute(self, feature: str) -> Compute | None:
        """Return the compute statement that applies to the feature, or None."""
        return self.computes.get(feature)

    @property
    def is_empty(self) -> bool:
        """Tell whether the configuration says nothing that changes this chip's readings or names."""
        return not (self.labels or self.ignored or self.computes)


def resolve(blocks: Iterable[ChipBlock]) -> ChipConfig:
    """Combine the matching blocks, given in configuration order, with libsensors' precedence."""
    labels: dict[str, str] = {}
    computes: dict[str, Compute] = {}
    ignored: set[str] = set()
    for block in reversed(tuple(blocks)):  # last block first; setdefault keeps the first one seen
        for label in block.labels:
            labels.setdefault(label.feature, label.text)
        for compute in block.computes:
            computes.setdefault(compute.feature, compute)
        ignored.update(ignore.feature for ignore in block.ignores)
    return ChipConfig(MappingProxyType(labels), frozenset(ignored), MappingProxyType(computes))


@dataclass(frozen=True)
class SensorsConfig:
    """The chip blocks of every configuration file read, in order, and the problems found."""

    files: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    blocks: tuple[ChipBlock, ...] = ()

    def for_chip(self, chip: ChipName, adapters: Mapping[int, str]) -> ChipConfig:
        """Return what the configuration says about one chip.

        `adapters` maps the machine's i2c bus numbers to adapter names, for `bus` statements.
        """
        return resolve(block for block in self.blocks if block.matches(chip, adapters))


def combine(configs: Iterable[SensorsConfig]) -> SensorsConfig:
    """Join configurations read one after the other (later files take precedence)."""
    parts = tuple(configs)
    return SensorsConfig(
        files=tuple(path for part in parts for path in part.files),
        problems=tuple(problem for part in parts for problem in part.problems),
        blocks=tuple(block for part in parts for block in part.blocks),
    )


EMPTY = SensorsConfig()
