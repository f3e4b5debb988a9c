"""A configuration problem: where it is and what is wrong, never an exception for the caller."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Line numbers a notice lists before it only counts the rest.
LINES_SHOWN = 5


@dataclass(frozen=True)
class Problem:
    """One thing in a configuration file that FrostServer could not (or will not) apply."""

    path: str
    line: int  # 1-based; 0 when the problem is the file itself (unreadable, not a regular file)
    message: str
    unapplied: bool = False  # a valid statement FrostServer will not carry out (`set`), not an error

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def describe(problems: Iterable[Problem]) -> tuple[list[str], list[str]]:
    """Return (errors, notices): one line per error, one short line per file for its unapplied statements.

    Debian's default file alone holds over a hundred `set` lines, all expected: a line each (or
    every line number) would bury the errors, so a notice names the first few and counts the rest.
    """
    errors: list[str] = []
    unapplied: dict[str, list[int]] = {}
    for problem in problems:
        if problem.unapplied:
            unapplied.setdefault(problem.path, []).append(problem.line)
        else:
            errors.append(str(problem))
    notices = [
        f"{path}: {len(lines)} `set` statement(s) not applied, FrostServer never writes to the hardware "
        f"(lines {_some(lines)})"
        for path, lines in unapplied.items()
    ]
    return errors, notices


def _some(lines: list[int]) -> str:
    """List the first LINES_SHOWN line numbers and count the others."""
    shown = ", ".join(map(str, lines[:LINES_SHOWN]))
    return shown if len(lines) <= LINES_SHOWN else f"{shown} and {len(lines) - LINES_SHOWN} more"
