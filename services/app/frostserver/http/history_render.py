"""A history answer rendered as JSON or CSV, a piece at a time (a generator of bytes).

JSON, raw (every point a sample, today's shape plus the new fields):
    {"interval", "seconds", "from", "to", "step", "resolution": "raw", "parts", "timestamps",
     "series": {id: [value | null, ...]}}
JSON, aggregated: the same with "resolution": "aggregated" and each series an object
    {"min": [...], "max": [...], "mean": [...]} (a raw sample's min, max and mean are its value).
CSV: a header row, then one row per point: `time` (ISO 8601, UTC), `epoch` (Unix seconds), then
per sensor `<label> (<id>) <unit>` (raw) or `<label> (<id>) min <unit>`, ... max, ... mean
(aggregated); empty: no value. With units=fahrenheit its temperatures are in °F (units.py), and
the header says so. A label is what a person typed: a cell that starts as a formula would is
neutralised (text_cell).

A value that is not a finite number (NaN: no value; an infinity, which no sample should hold) is
null in JSON and an empty cell in CSV: never a bare NaN, Infinity or inf.

What an answer holds at once does not grow with its size: the values of at most
SENSOR_POINTS_PER_BATCH sensor-points (JSON: a batch of sensors, as few as one; CSV: a stretch of
rows, CSV_SENSOR_POINTS), the text of about PIECE_BYTES (or of one sensor's series), and the
numbers' texts of NUMBERS_KEPT values. README.md ("Memory per answer") adds it up.
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading
import time
from array import array
from collections.abc import Iterator, Mapping, Sequence

from ..history.answer import HistoryAnswer
from ..history.blocks import BLOCK_POINTS
from ..model import Sensor
from ..units import shown, shown_unit

# JSON: the values of this many sensor-points (sensors x points) are made, rendered, then dropped:
# 64 sensors of a day at the default step (721 points) in one batch, 6 of the 10,000 points of
# the longest answer. About 64 bytes a sensor-point while a batch is made (history/answer.py:
# min, max, sum, count, the means, and the parts joined): 4 MiB.
SENSOR_POINTS_PER_BATCH = 65536
# CSV: this many sensor-points' rows at a time, at most POINTS_PER_CHUNK rows (their text is about
# three times the JSON's per value: every row repeats its time).
CSV_SENSOR_POINTS = 8192
# The JSON text is yielded in pieces of about this many characters (or one sensor's series, at most
# 10,000 points x 3 numbers).
PIECE_BYTES = 65536
# Numbers: the texts of this many distinct values kept per answer (about 100 bytes each).
NUMBERS_KEPT = 8192
# JSON: means are written a stretch of this many points at a time, the reader's blocks: a block
# served again from its cache is a stretch whose text MeanTexts finds again.
CHUNK_POINTS = BLOCK_POINTS
MEAN_TEXT_BYTES = 2 * 2**20  # per worker: a day of 64 sensors' means at the default step is 1.5 MiB
POINTS_PER_CHUNK = 128  # CSV: at most this many rows of every sensor are made, rendered, then dropped


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _floats(values: Sequence[float]) -> str:
    """Encode numbers as a JSON array, NaN (no value) and infinities as null."""
    # json's C encoder writes NaN, Infinity and -Infinity as those bare words, which no number
    # contains (the minus sign goes with the word).
    text = json.dumps(list(values), separators=(",", ":")).replace("NaN", "null")
    return text.replace("-Infinity", "null").replace("Infinity", "null") if "Infinity" in text else text


class Numbers(dict[float, str]):
    """The JSON text of each number met so far in one answer: a sensor's samples repeat a few values.

    A reading is a multiple of its sensor's resolution (a millidegree, an eighth of a degree, a
    whole RPM), so the minima and maxima of a day repeat a few hundred values thousands of times;
    looking one up is a fifth of the cost of writing it (float repr), the largest part of a long
    answer. Means seldom repeat (MeanTexts keeps them a stretch at a time). The text is repr's, as
    json's; NaN and infinities are null. At most NUMBERS_KEPT texts are kept (then it starts
    again): values that never repeat cannot make it grow with the answer.
    """

    def __missing__(self, value: float) -> str:
        if not math.isfinite(value):  # NaN (no value) and infinities: null, never kept (each NaN is a key of its own)
            return "null"
        text = repr(value)
        if value:  # 0.0 and -0.0 are one key, not one text
            if len(self) >= NUMBERS_KEPT:
                self.clear()
            self[value] = text
        return text

    def array(self, values: Sequence[float]) -> str:
        """Encode numbers as a JSON array, NaN (no value) and infinities as null."""
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
    """Return a time or a length in seconds as the answer writes it: to the millisecond, whole ones as integers."""
    value = round(value, 3)
    return int(value) if value == int(value) else value


def sensors_per_batch(points: int) -> int:
    """Return how many sensors' values of `points` points each are made at once (at least one)."""
    return max(1, SENSOR_POINTS_PER_BATCH // max(1, points))


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
    per_batch = sensors_per_batch(len(answer.timestamps))
    pieces: list[str] = []
    size = 0
    for first in range(0, len(ids), per_batch):
        batch = ids[first : first + per_batch]
        columns = answer.columns(batch)
        for number, sid in enumerate(batch, start=first):
            comma = "," if number else ""
            # Each sensor's values are dropped once written: a batch shrinks as it is written.
            low, high, mean = columns.low.pop(sid), columns.high.pop(sid), columns.mean.pop(sid)
            if answer.raw:
                text = f"{comma}{_json(sid)}:{numbers.array(mean)}"  # samples: they repeat
            else:
                text = (
                    f'{comma}{_json(sid)}:{{"min":{numbers.array(low)},'
                    f'"max":{numbers.array(high)},"mean":{_means(mean, spans, texts)}}}'
                )
            del low, high, mean
            pieces.append(text)
            size += len(text)
            if size >= PIECE_BYTES:
                yield "".join(pieces).encode()
                pieces, size = [], 0
    pieces.append("}}")
    yield "".join(pieces).encode()


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
    return repr(value) if math.isfinite(value) else ""  # NaN (no value), infinities: empty


# OWASP's CSV injection: a spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(text: str) -> str:
    """Return a text cell a spreadsheet shows as text: a leading ' before a formula's first character."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def column_name(sid: str, sensor: Sensor | None, column: str | None, units: str) -> str:
    """Return a sensor's column header: "Greenhouse floor (w1-0-28-.../temp1) min °F", its id alone if unknown."""
    if sensor is None:
        name = sid
        unit = ""
    else:
        name = sid if sensor.label == sid else f"{sensor.label} ({sid})"
        unit = shown_unit(sensor.unit, units)
    return " ".join(part for part in (name, column, unit) if part)


def render_csv(
    answer: HistoryAnswer, sensors: Mapping[str, Sensor] | None = None, units: str = "celsius"
) -> Iterator[bytes]:
    """Yield the CSV answer in pieces, one stretch of points (every sensor) at a time.

    sensors: the catalog's, for each column's label and unit; units: "fahrenheit" shows °C values in °F.
    """
    sensors = sensors or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    ids = answer.sensor_ids
    header = ["time", "epoch"]
    for sid in ids:
        # Labels are what a person typed and ids are made of chip names (a driver's, or a config
        # file's): text, never a formula. The cells below are numbers (a negative one starts with
        # "-") and times: never text to neutralise.
        sensor = sensors.get(sid)
        kinds: list[str | None] = [None] if answer.raw else ["min", "max", "mean"]
        header += [text_cell(column_name(sid, sensor, kind, units)) for kind in kinds]
    writer.writerow(header)
    # Each sensor's values as the CSV shows them: °C in °F when asked, anything else as it is.
    unit_of = {sid: sensors[sid].unit if sid in sensors else "" for sid in ids}

    def cell(sid: str, value: float) -> str:
        return _cell(shown(value, unit_of[sid], units))

    yield buffer.getvalue().encode()
    rows_per_chunk = max(1, min(POINTS_PER_CHUNK, CSV_SENSOR_POINTS // max(1, len(ids))))
    for part, times in zip(answer.parts, answer.part_times, strict=True):
        for first in range(0, len(times), rows_per_chunk):
            chunk = times[first : first + rows_per_chunk]
            columns = answer.part_columns(part, chunk, ids)
            buffer.seek(0)
            buffer.truncate()
            for row, at in enumerate(chunk):
                cells = [iso_time(at), _epoch(at)]
                for sid in ids:
                    if answer.raw:
                        cells.append(cell(sid, columns.mean[sid][row]))
                    else:
                        cells += [
                            cell(sid, columns.low[sid][row]),
                            cell(sid, columns.high[sid][row]),
                            cell(sid, columns.mean[sid][row]),
                        ]
                writer.writerow(cells)
            yield buffer.getvalue().encode()


def csv_filename(answer: HistoryAnswer) -> str:
    """Return the download's file name: frostserver-history-<from>-<to>.csv, UTC."""

    def stamp(at: float) -> str:
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(math.floor(at)))

    return f"frostserver-history-{stamp(answer.query.start)}-{stamp(answer.query.end)}.csv"
