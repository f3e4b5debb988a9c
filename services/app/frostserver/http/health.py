"""Answer liveness and readiness probes (Compose healthchecks, load balancers)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .access import Need, needs
from .context import context
from .errors import json_error

bp = Blueprint("health", __name__)

# /readyz says 503 once no sample has been published for three intervals (README, "Architecture").
# Samples are published one interval apart, a few milliseconds late at most: reads start ahead of
# their tick (the sampler's prepare) under a deadline (FROST_READ_TIMEOUT, 0.5 s), and the sampler
# runs at nice 0 while Gunicorn runs at 10, so on a busy 2-core machine it gets the CPU within
# milliseconds. Three intervals means two whole samples missed, which no busy machine causes, only
# a sampler that has stopped; load balancers and the Docker healthcheck then see it within three
# intervals. Never less than one interval plus a whole sample at its read deadline plus BUSY_MARGIN
# (a history write, a scheduling delay): a short interval (0.1 s) or a long deadline would
# otherwise make a 503 of every slow sample. The supervisor kills and replaces the sampler later
# (supervisor.py, STALL_GRACE).
STALE_INTERVALS = 3
BUSY_MARGIN = 1.5  # s


@bp.get("/healthz")
@needs(Need.PROBE)
def healthz() -> Response:
    """Say the process is alive and serving."""
    return jsonify(status="ok")


@bp.get("/readyz")
@needs(Need.PROBE)
def readyz() -> Response:
    """Say whether the sampler is producing samples: its process is alive and has sampled lately.

    Judged by the sampler's liveness (the kernel drops its lock when it dies) and by how long ago,
    on the monotonic clock, it published its newest sample (a live process can be stopped or
    hung); a wall clock set by NTP or by hand changes neither. Parts that can degrade without
    stopping sampling report themselves in the body, never with a 503.
    """
    ctx = context()
    store = ctx.store
    liveness = store.sampler_liveness()
    if liveness is None:
        response = json_error(503, "the sampler is not running; it is restarted by itself")
        response.headers["Retry-After"] = "1"
        return response
    pid = liveness.pid
    header = store.header()
    counters = store.counters.current()
    # The counters carry the pid of the sampler that published them: this sampler has sampled (a
    # restarted one finds its predecessor's samples in the ring, but not its own).
    if header is None or header.seq == 0 or counters is None or counters.pid != pid:
        return json_error(503, "the sampler has not taken its first sample yet", sampler={"pid": pid})
    # The newest sample's age: since it was published when the sampler says (the monotonic clock),
    # else since it was taken by the wall clock (a sampler between its first sample and its beat).
    since = liveness.since_published(ctx.monotonic())
    age = round(ctx.clock() - header.last_timestamp if since is None else since, 3)
    read_timeout = ctx.settings.read_timeout
    stale_after = max(STALE_INTERVALS * header.interval, header.interval + read_timeout + BUSY_MARGIN)
    if since is not None and since > stale_after:
        response = json_error(
            503,
            f"no sample for {since:.0f} s (one is due every {header.interval:g} s): the sampler (pid {pid}) "
            "is stopped or hung; it is replaced by itself if it does not resume",
            age=age,
            samples=header.seq,
            sampler={"pid": pid},
        )
        response.headers["Retry-After"] = str(max(1, round(header.interval)))
        return response
    # The history on disk: "ok", "degraded" (writing fails; sampling goes on) or "off" (none).
    history = "off" if counters.history is None else counters.history.status
    # The settings set in the browser (settings.db): "ok", or "moved_aside" (a damaged file was
    # replaced: the config file's values apply), "dropped" (some no longer fit the file) or
    # "unavailable" (it cannot be read: the file's values apply). Never a 503: sampling goes on.
    applied = store.applied.current()
    return jsonify(
        status="ok",
        age=age,
        samples=header.seq,
        sampler={"pid": pid},
        history=history,
        settings="ok" if applied is None else applied.state,
    )
