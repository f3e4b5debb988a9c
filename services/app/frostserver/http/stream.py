"""Server-Sent Events: one `sample` event per sample, `alert` and `settings` events, resumable with Last-Event-ID.

An alert event carries the id of the sample that raised it and comes just before that sample's
event, so a client resuming from Last-Event-ID gets the alerts it missed with the samples.
sampling_stopped, judged from the newest sample's age (alerts/sampling_stopped.py, as for the API
and the notifier), comes without an id, and so does its end.

A change of settings (set in the browser: names, places, calibration, limits, the device's name and
units) reaches every open dashboard as a `settings` event, `data: {"revision": n}`, without an id,
right after the first sample the sampler took with it: a dashboard then fetches /api/v1/sensors
(and /api/v1/settings) again until their `revision` is n; the sample events carry no metadata.

With `[access] anonymous = "none"` a stream needs a session or a token to open (access.py), and
it must not outlive them: at every heartbeat (15 s) the stream asks the accounts whether the
session or token that opened it still exists and has not expired, and ends when it does not. A
sign-out, a revoked token or a removed user thus ends an open stream within one heartbeat, for
one database read per stream per heartbeat. (With anonymous reads there is nothing to end: anyone
may read the stream.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from flask import Blueprint, Response, request, stream_with_context

from ..accounts.model import AccountsError
from ..alerts.alert import Alert
from ..alerts.messages import FIRING, RESOLVED
from ..alerts.sampling_stopped import resumed
from .access import who
from .alerts import encode_alert_event, stream_events
from .context import context
from .errors import json_error

bp = Blueprint("stream", __name__)
RETRY_MS = 3000  # EventSource reconnect advice: quick, but not a hammering loop when the app is down


def encode_settings_event(revision: int) -> bytes:
    """Encode a `settings` event: the settings revision the sampler now applies."""
    return f'event: settings\ndata: {{"revision":{int(revision)}}}\n\n'.encode()


def _last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if raw is None:
        return None
    try:
        return max(int(raw), 0)
    except ValueError:
        return None  # a foreign or garbled id: start live, as a new client would


@bp.get("/api/v1/stream")
def stream() -> Response:
    """Stream samples as Server-Sent Events; replay missed ones for a resuming client."""
    ctx = context()
    watcher, settings, alerts = ctx.sample_events, ctx.settings, ctx.alerts
    if not watcher.open_stream(settings.max_streams):
        response = json_error(503, "too many open streams on this worker; retry later")
        response.headers["Retry-After"] = "5"
        return response
    heartbeat = settings.stream_heartbeat
    resume_from = _last_event_id()
    # Whose credentials let this stream open (None: anonymous reads, nothing to check later).
    opened_by = None if settings.access.anonymous_may_read else who()

    def still_allowed() -> bool:
        if opened_by is None:
            return True
        try:
            return ctx.accounts.still_valid(opened_by)
        except AccountsError:
            return False  # the accounts cannot say: a stream that needed them ends

    def events(first: int, last: int) -> list[bytes]:
        return stream_events(alerts.journal.current(), first, last) + watcher.events(first, last)

    applied = ctx.store.applied.current()
    opened_at_revision = 0 if applied is None else applied.revision  # what the client's first fetch showed

    def generate() -> Iterator[bytes]:
        stopped: Alert | None = None  # the sampling_stopped alert this stream was told of
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            newest = watcher.newest()
            if resume_from is not None and resume_from < newest:
                yield from events(resume_from + 1, newest)
            elif newest:
                yield from watcher.events(newest, newest)
            sent, quiet_since = newest, time.monotonic()
            checked_at = quiet_since
            revision = opened_at_revision
            while True:
                newest = watcher.wait_for(sent, timeout=heartbeat)
                if time.monotonic() - checked_at >= heartbeat:
                    if not still_allowed():
                        return  # signed out, revoked or expired: the client reconnects and gets a 401
                    checked_at = time.monotonic()
                if newest > sent:
                    if stopped is not None:
                        yield encode_alert_event(RESOLVED, resumed(stopped, ctx.clock()), None)
                        stopped = None
                    yield b"".join(events(sent + 1, newest))
                    sent, quiet_since = newest, time.monotonic()
                    if watcher.revision != revision:
                        revision = watcher.revision
                        yield encode_settings_event(revision)
                elif time.monotonic() - quiet_since >= heartbeat:
                    if stopped is None:
                        stopped = alerts.sampling_stopped()
                        if stopped is not None:
                            yield encode_alert_event(FIRING, stopped, None)
                    # A comment keeps nginx and other proxies from timing the stream out.
                    yield b": heartbeat\n\n"
                    quiet_since = time.monotonic()
        finally:
            watcher.close_stream()

    response = Response(stream_with_context(generate()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
