"""A history answer rendered as JSON or CSV, a piece at a time (a generator of bytes).

JSON, raw (every point a sample, today's shape plus the new fields):
    {"interval", "seconds", "from", "to", "step", "resolution": "raw", "parts", "timestamps",
     "series": {id: [value | null, ...]}}
JSON, aggregated: the same with "resolution": "aggregated" and each series an object
    {"min": [...], "max": [...], "mean": [...]} (a raw sample's min, max and mean are its value).
CSV: a header row, then one row per point: `time` (ISO 8601, UTC), `epoch` (Unix seconds), then
per sensor `<id>` (raw) or `<id> min`, `<id> max`, `<id> mean` (aggregated); empty: no value.
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading
import time
from array import array
from collections.abc import Iterator, Sequence

from ..history.blocks import BLOCK_POINTS
from .history_answer import HistoryAnswer

SENSORS_PER_BATCH = 64  # JSON: the values of this many sensors are made, rendered, then dropped
# JSON: means are written a stretch of this many points at a time, the reader's blocks: a block
# served again from its cache is a stretch whose text MeanTexts finds again.
CHUNK_POINTS = BLOCK_POINTS
MEAN_TEXT_BYTES = 2 * 2**20  # per worker: a day of 64 sensors' means at the default step is 1.5 MiB
POINTS_PER_CHUNK = 128  # CSV: this many rows of every sensor are made, rendered, then dropped


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _floats(values: Sequence[float]) -> str:
    """Encode numbers as a JSON array, NaN (no value) as null."""
    # json's C encoder writes NaN as the bare word NaN, which no number or other token contains.
    return json.dumps(list(values), separators=(",", ":")).replace("NaN", "null")


class Numbers(dict[float, str]):
    """The JSON text of each number met so far in one answer: a sensor's samples repeat a few values.

    A reading is a multiple of its sensor's resolution (a millidegree, an eighth of a degree, a
    whole RPM), so the minima and maxima of a day repeat a few hundred values thousands of times;
    looking one up is a fifth of the cost of writing it (float repr), the largest part of a long
    answer. Means seldom repeat (MeanTexts keeps them a stretch at a time). The text is repr's, as json's.
    """

    def __missing__(self, value: float) -> str:
        if value != value:  # NaN: no value (never kept: each NaN is a key of its own)
            return "null"
        text = repr(value) if math.isfinite(value) else json.dumps(value)
        if value:  # 0.0 and -0.0 are one key, not one text
            self[value] = text
        return text

    def array(self, values: Sequence[float]) -> str:
        """Encode numbers as a JSON array, NaN (no value) as null."""
        return f"[{','.join(map(self.__getitem__, values))}]"


class MeanTexts:
    """A worker's JSON text of stretches of CHUNK_POINTS means, keyed by their bytes: same means, same text.

    Means are the costly numbers of a long answer (seventeen digits each, a third of its numbers,
    half the time of writing it), and the points of a day seldom change from one request to the
    next (the history reader keeps them, history/blocks.py): a stretch aligned in time is written
    once and its text found again by its values' bytes, which can only give back what writing
    those very values gives. Past `limit` bytes it starts again, empty.
    """

    def __init__(self, limit: int = MEAN_TEXT_BYTES):
        self.limit = limit
        self.size = 0
        self._texts: dict[bytes, str] = {}
        self._lock = threading.Lock()

    def text(self, values: array[float]) -> str:
        """Return the values as JSON numbers (null for NaN), comma-separated, without brackets."""
        key = values.tobytes()
        text = self._texts.get(key)
        if text is None:
            text = _floats(values)[1:-1]
            size = 200 + len(key) + len(text)  # the key, the text, their objects and the dict's slot
            with self._lock:
                if self.size + size > self.limit:
                    self._texts.clear()
                    self.size = 0
                self._texts[key] = text
                self.size += size
        return text


def stretches(answer: HistoryAnswer) -> list[tuple[int, int, bool]]:
    """Return the answer's points as stretches [first, end) and whether each is whole and aligned in time.

    A whole stretch is CHUNK_POINTS points from a multiple of CHUNK_POINTS steps since time 0 (as
    the reader's blocks): the same stretch in the next request, as the range moves.
    """
    found: list[tuple[int, int, bool]] = []
    offset = 0
    for part, times in zip(answer.parts, answer.part_times, strict=True):
        point = 0
        while point < len(times):
            phase = round(times[point] / part.step) % CHUNK_POINTS
            end = min(len(times), point + CHUNK_POINTS - phase)
            found.append((offset + point, offset + end, phase == 0 and end - point == CHUNK_POINTS))
            point = end
        offset += len(times)
    return found


def _means(values: array[float], spans: list[tuple[int, int, bool]], texts: MeanTexts | None) -> str:
    """Encode means as a JSON array, whole stretches through `texts`."""
    if texts is None or len(spans) < 2:
        return _floats(values)
    return f"[{','.join(texts.text(values[a:b]) if whole else _floats(values[a:b])[1:-1] for a, b, whole in spans)}]"


def _number(value: float) -> float | int:
    return int(value) if value == int(value) else value


def render_json(answer: HistoryAnswer, texts: MeanTexts | None = None) -> Iterator[bytes]:
    """Yield the JSON answer in pieces, one batch of sensors at a time (`texts`: the worker's MeanTexts)."""
    query = answer.query
    head = {
        "interval": answer.interval,
        "seconds": _number(query.seconds),
        "from": _number(query.start),
        "to": _number(query.end),
        "step": _number(query.step if query.step is not None else answer.interval),
        "resolution": "raw" if answer.raw else "aggregated",
        "parts": [
            {"source": part.source, "from": _number(part.start), "to": _number(part.end), "step": _number(part.step)}
            for part in answer.parts
        ],
    }
    yield f'{_json(head)[:-1]},"timestamps":{_floats(answer.timestamps)},"series":{{'.encode()
    ids = answer.sensor_ids
    numbers = Numbers()  # this answer's: dropped with it
    spans = [] if answer.raw else stretches(answer)
    for first in range(0, len(ids), SENSORS_PER_BATCH):
        batch = ids[first : first + SENSORS_PER_BATCH]
        columns = answer.columns(batch)
        pieces = []
        for number, sid in enumerate(batch, start=first):
            comma = "," if number else ""
            if answer.raw:
                pieces.append(f"{comma}{_json(sid)}:{numbers.array(columns.mean[sid])}")  # samples: they repeat
            else:
                pieces.append(
                    f'{comma}{_json(sid)}:{{"min":{numbers.array(columns.low[sid])},'
                    f'"max":{numbers.array(columns.high[sid])},"mean":{_means(columns.mean[sid], spans, texts)}}}'
                )
        yield "".join(pieces).encode()
    yield b"}}"


def iso_time(at: float) -> str:
    """Return a Unix time as ISO 8601 in UTC: 2026-12-03T12:00:00Z, with milliseconds when it has any."""
    whole = math.floor(at)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    millis = round((at - whole) * 1000)
    if millis == 1000:  # 0.9996 s rounds up into the next second
        return iso_time(whole + 1)
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def _epoch(at: float) -> str:
    return f"{at:.3f}".rstrip("0").rstrip(".")


def _cell(value: float) -> str:
    return "" if value != value else repr(value)  # NaN: empty


def render_csv(answer: HistoryAnswer) -> Iterator[bytes]:
    """Yield the CSV answer in pieces, one stretch of points (every sensor) at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    ids = answer.sensor_ids
    header = ["time", "epoch"]
    for sid in ids:
        header += [sid] if answer.raw else [f"{sid} min", f"{sid} max", f"{sid} mean"]
    writer.writerow(header)
    yield buffer.getvalue().encode()
    for part, times in zip(answer.parts, answer.part_times, strict=True):
        for first in range(0, len(times), POINTS_PER_CHUNK):
            chunk = times[first : first + POINTS_PER_CHUNK]
            columns = answer.part_columns(part, chunk, ids)
            buffer.seek(0)
            buffer.truncate()
            for row, at in enumerate(chunk):
                cells = [iso_time(at), _epoch(at)]
                for sid in ids:
                    if answer.raw:
                        cells.append(_cell(columns.mean[sid][row]))
                    else:
                        cells += [
                            _cell(columns.low[sid][row]),
                            _cell(columns.high[sid][row]),
                            _cell(columns.mean[sid][row]),
                        ]
                writer.writerow(cells)
            yield buffer.getvalue().encode()


def csv_filename(answer: HistoryAnswer) -> str:
    """Return the download's file name: frostserver-history-<from>-<to>.csv, UTC."""

    def stamp(at: float) -> str:
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(math.floor(at)))

    return f"frostserver-history-{stamp(answer.query.start)}-{stamp(answer.query.end)}.csv"
