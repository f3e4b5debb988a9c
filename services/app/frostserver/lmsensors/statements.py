"""What one `chip` block of a configuration file says: its patterns and its statements, parsed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .chip_name import ChipName
from .chip_patterns import ChipPattern, matches
from .evaluation import ComputeError, Lookup, evaluate
from .expressions import Expression


@dataclass(frozen=True)
class Compute:
    """One compute statement: how a feature's raw value becomes a real-world value and back."""

    feature: str
    from_expr: Expression  # raw -> real-world, `@` is the raw value
    to_expr: Expression  # real-world -> raw, `@` is the real-world value
    path: str = "<string>"
    line: int = 0

    def from_raw(self, raw: float, lookup: Lookup) -> float:
        """Translate a raw reading to its real-world value; `lookup` reads other (sub)features."""
        return self._evaluate(self.from_expr, raw, lookup)

    def to_raw(self, value: float, lookup: Lookup) -> float:
        """Translate a real-world value back to the raw value the driver speaks."""
        return self._evaluate(self.to_expr, value, lookup)

    def _evaluate(self, expression: Expression, at: float, lookup: Lookup) -> float:
        try:
            return evaluate(expression, at, lookup)
        except ComputeError as error:
            # Name the statement, so the message leads to the line to fix.
            raise ComputeError(f"{self.path}:{self.line}: compute {self.feature}: {error}") from error
        except (ArithmeticError, ValueError, RecursionError) as error:
            # None is expected (evaluate checks each operation), but whatever arithmetic raises
            # stays this sensor's error: one statement never takes its chip's other sensors along.
            raise ComputeError(f"{self.path}:{self.line}: compute {self.feature}: {error}") from error


@dataclass(frozen=True)
class Label:
    """`label FEATURE "text"`."""

    feature: str
    text: str
    line: int


@dataclass(frozen=True)
class Ignore:
    """`ignore FEATURE`: hide the feature."""

    feature: str
    line: int


@dataclass(frozen=True)
class SetStatement:
    """`set SUBFEATURE expr`: parsed and kept, never applied (FrostServer never writes to chips)."""

    subfeature: str
    value: Expression
    line: int


@dataclass(frozen=True)
class ChipBlock:
    """A `chip` statement and the statements under it, up to the next `chip` statement."""

    path: str
    line: int
    patterns: tuple[ChipPattern, ...]
    buses: Mapping[int, str]  # the file's bus statements: configuration i2c number -> adapter name
    labels: tuple[Label, ...] = ()
    ignores: tuple[Ignore, ...] = ()
    computes: tuple[Compute, ...] = ()
    sets: tuple[SetStatement, ...] = ()

    def matches(self, chip: ChipName, adapters: Mapping[int, str]) -> bool:
        """Tell whether any of the block's patterns matches the chip."""
        return any(matches(pattern, chip, self.buses, adapters) for pattern in self.patterns)
