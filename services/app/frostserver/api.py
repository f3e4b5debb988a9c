"""The JSON API under /api/v1, and the original design's /sensor_reading."""
from __future__ import annotations

import json
import math
from importlib import resources

from flask import Blueprint, Response, current_app, jsonify, request

from .errors import json_error

bp = Blueprint("api", __name__)


def _store():
    return current_app.extensions["frost.store"]


def _settings():
    return current_app.extensions["frost.settings"]


def _json_bytes(body: bytes) -> Response:
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _empty_document() -> dict:
    return {"sampled_at": None, "interval": _settings().sample_interval,
            "frost_threshold": current_app.extensions["frost.frost_threshold"], "sensors": []}


@bp.get("/api/v1/sensors")
def sensors():
    """Return every sensor's metadata and latest reading."""
    body = _store().latest_body()
    return _json_bytes(body) if body is not None else jsonify(_empty_document())


@bp.get("/sensor_reading")
def sensor_reading():
    """Answer the original design's URL with the same document as /api/v1/sensors."""
    return sensors()


@bp.get("/api/v1/sensors/<path:sensor_id>")
def sensor(sensor_id: str):
    """Return one sensor's metadata and latest reading."""
    latest = current_app.extensions["frost.latest"].get()
    found = latest.get(sensor_id)
    if found is None:
        return json_error(404, f"No sensor with id {sensor_id!r}")
    return jsonify(found)


@bp.get("/api/v1/history")
def history():
    """Return recent samples, columnar: one timestamp list and one value list per sensor."""
    settings = _settings()
    seconds, problem = _bounded_int(request.args.get("seconds"), "seconds", 1, settings.history_seconds,
                                    default=settings.history_seconds)
    if problem:
        return json_error(400, problem, parameter="seconds")
    wanted = request.args.getlist("sensor") or None
    store = _store()
    if wanted:
        known = {s["id"] for s in store.catalog()["sensors"]}
        unknown = [sid for sid in wanted if sid not in known]
        if unknown:
            return json_error(400, f"sensor: unknown sensor id {unknown[0]!r}", parameter="sensor")
    header = store.header()
    document = {"interval": settings.sample_interval, "seconds": seconds, "timestamps": [], "series": {}}
    if header is None or header.seq == 0:
        return jsonify(document)
    count = math.ceil(seconds / settings.sample_interval) + 1
    window = store.window(wanted, header.seq - count + 1, header.seq)
    if window is None:
        response = json_error(503, "history is being rewritten; try again")
        response.headers["Retry-After"] = "1"  # a header, as every other 503 says it
        return response
    # The grid may have skipped ticks; trim to the wall-clock window the client asked for.
    cutoff = header.last_timestamp - seconds
    keep = next((i for i, t in enumerate(window.timestamps) if t >= cutoff), len(window.timestamps))
    document["timestamps"] = window.timestamps[keep:]
    document["series"] = {sid: values[keep:] for sid, values in window.values.items()}
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
def openapi():
    """Serve the OpenAPI document that describes this API."""
    text = resources.files(__package__).joinpath("openapi.json").read_text(encoding="utf-8")
    return _json_bytes(text.encode())


@bp.get("/api/v1/")
@bp.get("/api/v1")
def index():
    """Point a curious visitor at the API's description."""
    return jsonify(openapi="/api/v1/openapi.json", sensors="/api/v1/sensors", history="/api/v1/history",
                   stream="/api/v1/stream")


class LatestIndex:
    """Parse the latest document once per sample (per worker) to answer per-sensor requests."""

    def __init__(self, store):
        self.store = store
        self._seq = -1
        self._by_id: dict[str, dict] = {}

    def get(self) -> dict[str, dict]:
        header = self.store.header()
        seq = header.seq if header else 0
        if seq != self._seq:
            body = self.store.latest_body()
            document = json.loads(body) if body else {"sensors": []}
            self._by_id = {s["id"]: s for s in document["sensors"]}
            self._seq = seq
        return self._by_id
