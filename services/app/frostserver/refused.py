"""What a reader of a file between processes raises instead of guessing (codec.py).

Standard library only, and nothing imported: the supervisor (PID 1) reads the sampler's heartbeat
with these and nothing else of the codec.
"""

from __future__ import annotations


class Refused(ValueError):
    """A file (or line) its reader will not use: of another version, or damaged."""


class UnknownVersion(Refused):
    """A document of a version this FrostServer does not read."""

    def __init__(self, what: str, found: object, known: int):
        shown = "no version" if found is None else f"version {found!r}"
        super().__init__(f"{what} has {shown}, and this FrostServer reads version {known} (another one wrote it)")
        self.found, self.known = found, known


class Damaged(Refused):
    """A document that is not what its writer writes (cut short, edited by hand, a bug)."""

    def __init__(self, what: str, problem: str):
        super().__init__(f"{what} is damaged: {problem}")
