"""What goes wrong in a configuration: a setting the app cannot run with, and where it was set.

Every message is one line naming where the value came from (a FROST_* variable, or the file and
its key) and the problem. Nothing else is ever reported as a configuration error: a bug stays a bug.
"""

from __future__ import annotations

import json
import re

# Where a value sits in the configuration document: table names, keys and list indices.
KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class SettingsError(Exception):
    """A setting has a value the app cannot run with (never a ValueError: a bug stays a bug)."""


class ConfigError(SettingsError):
    """A configuration document that cannot be used, explained in one line: where, key, problem."""

    def __init__(self, path: str, key: str | None, problem: str):
        # path: where the document came from (the config file's path); key: dotted, or None.
        self.path, self.key, self.problem = path, key, problem
        parts = [path, key, problem] if key else [path, problem]
        super().__init__(": ".join(parts).replace("\n", "\\n"))


class Invalid(Exception):
    """A problem at a key of the configuration document; the resolver adds where it was set."""

    def __init__(self, key: KeyPath, problem: str, related: tuple[KeyPath, ...] = ()):
        super().__init__(problem)
        # related: the other keys of a mistake between keys (low and high): a later layer that set
        # one of them made the mistake, whoever set `key` (resolve.py blames and drops by them).
        self.key, self.problem, self.related = key, problem, related


def dotted(key: KeyPath) -> str:
    """Spell a key path the way TOML would, e.g. thresholds."coretemp-isa-0000/temp1".max."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            text += f".{name}" if text else name
    return text
