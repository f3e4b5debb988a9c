"""Answer liveness and readiness probes (Compose healthchecks, load balancers)."""
from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify

from .errors import json_error

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Say the process is alive and serving."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Say whether the sampler produced a fresh sample recently."""
    header = current_app.extensions["frost.store"].header()
    interval = current_app.extensions["frost.settings"].sample_interval
    if header is None or header.seq == 0:
        return json_error(503, "no sample yet")
    clock = current_app.extensions.get("frost.clock", time.time)
    age = clock() - header.last_timestamp
    # Three intervals plus a read timeout of slack: one slow sample is not an outage.
    if age > 3 * interval + current_app.extensions["frost.settings"].read_timeout + 1:
        return json_error(503, f"last sample is {age:.1f} s old", age=round(age, 3))
    return jsonify(status="ok", age=round(age, 3), samples=header.seq)
