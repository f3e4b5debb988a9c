"""A configuration problem: where it is and what is wrong, never an exception for the caller."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing in a configuration file that FrostServer could not (or will not) apply."""

    path: str
    line: int  # 1-based; 0 when the problem is the file itself (unreadable, not a regular file)
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"
