"""The minutes the writer could not write yet, kept in the run directory across a restart of the sampler.

While the history cannot be written (a full or read-only volume), closed minutes wait in the
sampler's memory (writer.py, MAX_PENDING_MINUTES). A sampler restarted by the supervisor (after a
crash, a hang, a SIGTERM) would lose them, so every failed write also saves them here, in the run
directory (FROST_RUN_DIR, a tmpfs shared by the container's processes), and the next writer takes
them back and writes them first. A tmpfs does not outlive its container: a restart of the app
container or of the device loses them (the history on disk is what outlives it, and it is what
is failing).

The file, replaced whole (store/files.py):

    {"version": 1, "minutes": [[start, {sensor id: [low, high, total, count, worst]}], ...]}

oldest minute first; low and high null: no sample had a value.
"""

from __future__ import annotations

import json
from typing import Any

from ..codec import Damaged, parse_document
from .aggregate import Aggregate, MinuteRows

PENDING_FILE = "history-pending.json"
VERSION = 1
WHAT = "the history's saved minutes"


def encode(minutes: list[tuple[int, MinuteRows]]) -> bytes:
    """Return the file holding these minutes."""
    document = {
        "version": VERSION,
        "minutes": [
            [start, {sid: list(aggregate.row()) for sid, aggregate in rows.items()}] for start, rows in minutes
        ],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def decode(data: bytes) -> list[tuple[int, MinuteRows]]:
    """Return the minutes a file holds, oldest first; raise codec.Refused for another version or a damaged file."""
    document = parse_document(data, VERSION, WHAT)
    minutes: list[tuple[int, MinuteRows]] = []
    try:
        for entry in _list(document.get("minutes")):
            start, rows = _list(entry, 2)
            if not isinstance(start, int) or isinstance(start, bool) or not isinstance(rows, dict):
                raise ValueError(f"a minute must be [start, {{id: row}}], got {entry!r:.80}")
            minutes.append((start, {_text(sid): _aggregate(row) for sid, row in rows.items()}))
    except ValueError as error:
        raise Damaged(WHAT, str(error)) from None
    return sorted(minutes, key=lambda minute: minute[0])


def _list(value: Any, length: int | None = None) -> list[Any]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise ValueError(f"expected a list{f' of {length}' if length else ''}, got {value!r:.80}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"a sensor id must be text, got {value!r:.80}")
    return value


def _aggregate(row: Any) -> Aggregate:
    low, high, total, count, worst = _list(row, 5)
    numbers = (low, high, total)
    if (
        not all(n is None or (isinstance(n, (int, float)) and not isinstance(n, bool)) for n in numbers)
        or total is None
    ):
        raise ValueError(f"a row's low, high and total must be numbers, got {row!r:.80}")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (count, worst)):
        raise ValueError(f"a row's count and worst status must be whole numbers, got {row!r:.80}")
    return Aggregate(
        None if low is None else float(low), None if high is None else float(high), float(total), count, worst
    )
