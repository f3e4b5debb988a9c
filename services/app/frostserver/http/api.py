"""The JSON API under /api/v1, and the original design's /sensor_reading."""

from __future__ import annotations

import functools
from importlib import resources

from flask import Blueprint, Response, jsonify, request

from ..history import configured_tiers
from ..history.answer import RingRewritten, build_answer, known_sensor_ids
from ..history.query import Limits
from .context import context
from .errors import json_error
from .history_gate import RETRY_AFTER_SECONDS
from .history_params import BadParameter, parse_history_request
from .history_render import csv_filename, render_csv, render_json
from .json_text import dumps

bp = Blueprint("api", __name__)


def _json_bytes(body: bytes) -> Response:
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/v1/sensors")
def sensors() -> Response:
    """Return every sensor's metadata and latest reading."""
    return _json_bytes(context().documents.current().body)


@bp.get("/sensor_reading")
def sensor_reading() -> Response:
    """Answer the original design's URL with the same document as /api/v1/sensors."""
    return sensors()


@bp.get("/api/v1/sensors/<path:sensor_id>")
def sensor(sensor_id: str) -> Response:
    """Return one sensor's metadata and latest reading."""
    found = context().documents.current().sensor(sensor_id)
    if found is None:
        return json_error(404, f"No sensor with id {sensor_id!r}")
    return _json_bytes(found)


@bp.get("/api/v1/chips")
def chips() -> Response:
    """Return every hwmon chip: its name, adapter and the settings of its channels without a reading."""
    return _json_bytes(context().chip_documents.current())


@bp.get("/api/v1/history")
def history() -> Response:
    """Return the samples (or aggregated points) of a range, columnar, as JSON or CSV."""
    ctx = context()
    settings, store, tiers = ctx.settings, ctx.store, ctx.tiers
    header = store.header()
    newest = header.last_timestamp if header is not None and header.seq > 0 else float(ctx.clock())
    longest = settings.ring_seconds
    if tiers is not None:
        longest = max(longest, max(tier.retention_seconds for tier in configured_tiers(settings)))
    limits = Limits(settings.sample_interval, settings.ring_seconds, longest, newest)
    try:
        asked = parse_history_request(
            request.args, request.args.getlist("sensor"), request.headers.get("Accept", ""), limits
        )
    except BadParameter as error:
        return json_error(400, str(error), parameter=error.parameter)
    # A turn of the worker's gate (history_gate.py) from here until the answer ends (or the client
    # leaves), before anything is read: what a worker holds for history answers has a ceiling.
    gate = ctx.history_gate
    turn = gate.enter()
    if turn is None:
        response = json_error(
            503,
            f"history: this worker is already making {gate.at_once} answers, the most it makes at once; "
            f"try again in {RETRY_AFTER_SECONDS} s",
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    try:
        query = asked.query
        if query.sensors is not None:
            known = known_sensor_ids(store, tiers)
            unknown = [sid for sid in query.sensors if sid not in known]
            if unknown:
                turn.close()
                return json_error(400, f"sensor: unknown sensor id {unknown[0]!r}", parameter="sensor")
        answer = build_answer(query, settings.sample_interval, store, tiers)
        if asked.format == "csv":
            pieces = render_csv(answer, store.catalog.current().sensors, asked.units)
        else:
            pieces = render_json(answer, ctx.history_texts)
    except BaseException:
        turn.close()
        raise
    if asked.format == "csv":
        response = Response(turn.stream(pieces), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{csv_filename(answer)}"'
    else:
        response = Response(turn.stream(pieces), mimetype="application/json")
    response.call_on_close(turn.close)  # also when the body is never iterated (HEAD, a dropped client)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/v1/alerts")
def alerts() -> Response:
    """Return the alerts firing now and the recent ones."""
    return _json_bytes(dumps(context().alerts.document(), "the alerts document").encode())


@bp.errorhandler(RingRewritten)
def _history_rewritten(_: RingRewritten) -> Response:
    response = json_error(503, "history is being rewritten; try again")
    response.headers["Retry-After"] = "1"  # a header, as every other 503 says it
    return response


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
