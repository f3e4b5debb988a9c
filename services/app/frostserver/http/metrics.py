"""Prometheus metrics at /metrics, rendered by this worker's MetricsRenderer (exposition.py)."""

from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .context import context

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    """Serve every metric in Prometheus's text format."""
    response = Response(context().metrics.render(), mimetype=None, content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_app_request
def _publish_this_worker() -> None:
    # On a worker's first request, whatever its blueprint: the publishing thread must start in the
    # worker process, after Gunicorn's fork, not in the master that imported the app.
    context().metrics.publisher.ensure_running()
