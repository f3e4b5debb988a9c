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
import time
from collections.abc import Iterator, Sequence

from .history_answer import HistoryAnswer

SENSORS_PER_BATCH = 64  # JSON: the values of this many sensors are made, rendered, then dropped
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
    answer. Means are written as they come (they seldom repeat). The text is repr's, as json's.
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


def _number(value: float) -> float | int:
    return int(value) if value == int(value) else value


def render_json(answer: HistoryAnswer) -> Iterator[bytes]:
    """Yield the JSON answer in pieces, one batch of sensors at a time."""
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
                    f'"max":{numbers.array(columns.high[sid])},"mean":{_floats(columns.mean[sid])}}}'
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
