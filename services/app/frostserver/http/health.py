"""Answer liveness and readiness probes (Compose healthchecks, load balancers)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify

from ..store.reader import StoreReader
from .errors import json_error

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Say the process is alive and serving."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Say whether the sampler is producing samples: its process is alive and has sampled.

    Judged by the sampler's liveness (the kernel drops its lock when it dies), not by the age of
    the newest sample, which a busy machine can stretch without anything being wrong; the
    supervisor kills and restarts a sampler that hangs. Parts that can degrade without stopping
    sampling report themselves in the body, never with a 503.
    """
    store: StoreReader = current_app.extensions["frost.store"]
    pid = store.sampler_pid()
    if pid is None:
        response = json_error(503, "the sampler is not running; it is restarted by itself")
        response.headers["Retry-After"] = "1"
        return response
    header = store.header()
    counters = store.counters.read()
    # The counters carry the pid of the sampler that published them: this sampler has sampled (a
    # restarted one finds its predecessor's samples in the ring, but not its own).
    if header is None or header.seq == 0 or counters.get("pid") != pid:
        return json_error(503, "the sampler has not taken its first sample yet", sampler={"pid": pid})
    clock = current_app.extensions.get("frost.clock", time.time)
    # The history on disk: "ok", "degraded" (writing fails; sampling goes on) or "off" (none).
    history = counters.get("history", {}).get("status", "off")
    return jsonify(
        status="ok",
        age=round(clock() - header.last_timestamp, 3),
        samples=header.seq,
        sampler={"pid": pid},
        history=history,
    )
