"""The JSON API under /api/v1, and the original design's /sensor_reading."""

from __future__ import annotations

import functools
import math
from importlib import resources

from flask import Blueprint, Response, current_app, jsonify, request

from ..settings import Settings
from ..store import StoreReader
from .documents import SensorDocuments
from .errors import json_error

bp = Blueprint("api", __name__)


def _store() -> StoreReader:
    return current_app.extensions["frost.store"]


def _settings() -> Settings:
    return current_app.extensions["frost.settings"]


def _documents() -> SensorDocuments:
    return current_app.extensions["frost.documents"]


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
        unknown = [sid for sid in wanted if sid not in known]
        if unknown:
            return json_error(400, f"sensor: unknown sensor id {unknown[0]!r}", parameter="sensor")
    header = store.header()
    document: dict = {"interval": settings.sample_interval, "seconds": seconds, "timestamps": [], "series": {}}
    if header is None or header.seq == 0:
        return jsonify(document)
    count = math.ceil(seconds / settings.sample_interval) + 1
    window = store.window(wanted, header.seq - count + 1, header.seq)
    if window is None:
        response = json_error(503, "history is being rewritten; try again")
        response.headers["Retry-After"] = "1"  # a header, as every other 503 says it
        return response
    # The grid may have skipped ticks; trim to the wall-clock window the client asked for.
    if window.timestamps:
        cutoff = window.timestamps[-1] - seconds
        keep = next((i for i, t in enumerate(window.timestamps) if t >= cutoff), len(window.timestamps))
        document["timestamps"] = window.timestamps[keep:]
        document["series"] = {sid: values[keep:] for sid, values in window.values.items()}
    else:
        document["series"] = dict(window.values)
    return jsonify(document)


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
    return jsonify(openapi="/api/v1/openapi.json", sensors="/api/v1/sensors", history="/api/v1/history",
                   stream="/api/v1/stream")
