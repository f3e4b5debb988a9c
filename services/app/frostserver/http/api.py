"""The JSON API under /api/v1, and the original design's /sensor_reading."""

from __future__ import annotations

import functools
import json
import math
import threading
from collections.abc import Sequence
from importlib import resources

from flask import Blueprint, Response, current_app, jsonify, request

from ..settings import Settings
from ..store.reader import StoreReader
from .chips import ChipDocuments
from .documents import SensorDocuments
from .errors import json_error

bp = Blueprint("api", __name__)


def _store() -> StoreReader:
    store: StoreReader = current_app.extensions["frost.store"]
    return store


def _settings() -> Settings:
    settings: Settings = current_app.extensions["frost.settings"]
    return settings


def _documents() -> SensorDocuments:
    documents: SensorDocuments = current_app.extensions["frost.documents"]
    return documents


def _json_bytes(body: bytes) -> Response:
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/v1/sensors")
def sensors() -> Response:
    """Return every sensor's metadata and latest reading."""
    return _json_bytes(_documents().current().body)


@bp.get("/sensor_reading")
def sensor_reading() -> Response:
    """Answer the original design's URL with the same document as /api/v1/sensors."""
    return sensors()


@bp.get("/api/v1/sensors/<path:sensor_id>")
def sensor(sensor_id: str) -> Response:
    """Return one sensor's metadata and latest reading."""
    found = _documents().current().sensor(sensor_id)
    if found is None:
        return json_error(404, f"No sensor with id {sensor_id!r}")
    return _json_bytes(found)


@bp.get("/api/v1/chips")
def chips() -> Response:
    """Return every hwmon chip: its name, adapter and the settings of its channels without a reading."""
    documents: ChipDocuments = current_app.extensions["frost.chip_documents"]
    return _json_bytes(documents.current())


@bp.get("/api/v1/history")
def history() -> Response:
    """Return recent samples, columnar: one timestamp list and one value list per sensor."""
    settings = _settings()
    longest = int(settings.history_seconds)
    seconds, problem = _bounded_int(request.args.get("seconds"), "seconds", 1, longest, default=longest)
    if problem:
        return json_error(400, problem, parameter="seconds")
    wanted = request.args.getlist("sensor") or None
    store = _store()
    if wanted:
        known = store.catalog.current().sensors
        unknown = [sid for sid in wanted if sid not in known or known[sid].ignored]
        if unknown:
            return json_error(400, f"sensor: unknown sensor id {unknown[0]!r}", parameter="sensor")
    # The answer grows with sensors x seconds (350 KB for 1024 sensors over a minute): a few at a
    # time per worker use the one core a worker has as well as many would, in a fraction of the memory.
    with _HISTORY_RENDERS:
        return _json_bytes(_history_document(store, settings.sample_interval, seconds, wanted))


_HISTORY_RENDERS = threading.BoundedSemaphore(2)


def _history_document(store: StoreReader, interval: float, seconds: int, wanted: list[str] | None) -> bytes:
    head = f'{{"interval":{_json(interval)},"seconds":{seconds},'
    header = store.header()
    if header is None or header.seq == 0:
        return (head + '"timestamps":[],"series":{}}').encode()
    count = math.ceil(seconds / interval) + 1
    window = store.window(wanted, header.seq - count + 1, header.seq)
    if window is None:
        raise _Rewritten()
    # The grid may have skipped ticks; trim to the wall-clock window the client asked for.
    timestamps = window.timestamps
    cutoff = timestamps[-1] - seconds if timestamps else 0.0
    keep = next((i for i, t in enumerate(timestamps) if t >= cutoff), len(timestamps))
    parts = [head, '"timestamps":', _floats(timestamps[keep:]), ',"series":{']
    for number, (sid, values) in enumerate(window.values.items()):
        parts += ["," if number else "", _json(sid), ":", _floats(values[keep:])]
    parts.append("}}")
    return "".join(parts).encode()


class _Rewritten(Exception):
    """The sampler kept lapping this reader: answer a 503 that says to retry."""


@bp.errorhandler(_Rewritten)
def _history_rewritten(_: _Rewritten) -> Response:
    response = json_error(503, "history is being rewritten; try again")
    response.headers["Retry-After"] = "1"  # a header, as every other 503 says it
    return response


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _floats(values: Sequence[float]) -> str:
    """Encode numbers as a JSON array, NaN (no value) as null."""
    # json's C encoder writes NaN as the bare word NaN, which no number or other token contains.
    return json.dumps(list(values), separators=(",", ":")).replace("NaN", "null")


def _bounded_int(raw: str | None, name: str, low: int, high: int, default: int) -> tuple[int, str | None]:
    if raw is None:
        return default, None
    try:
        value = int(raw)
    except ValueError:
        return default, f"{name}: must be an integer between {low} and {high}, got {raw!r}"
    if not low <= value <= high:
        return default, f"{name}: must be an integer between {low} and {high}, got {value}"
    return value, None


@bp.get("/api/v1/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI document that describes this API."""
    return _json_bytes(_openapi_document())


@functools.cache
def _openapi_document() -> bytes:
    return resources.files(__package__).joinpath("openapi.json").read_bytes()


@bp.get("/api/v1/")
@bp.get("/api/v1")
def index() -> Response:
    """Point a curious visitor at the API's description."""
    return jsonify(
        openapi="/api/v1/openapi.json",
        sensors="/api/v1/sensors",
        chips="/api/v1/chips",
        history="/api/v1/history",
        stream="/api/v1/stream",
    )
