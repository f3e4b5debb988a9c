"""Server-Sent Events: one `sample` event per sample, and `alert` events, resumable with Last-Event-ID.

An alert event carries the id of the sample that raised it and comes just before that sample's
event, so a client resuming from Last-Event-ID gets the alerts it missed with the samples.
sampling_stopped, judged from the newest sample's age, comes without an id.

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
from ..alerts.messages import FIRING, RESOLVED
from .access import who
from .alerts import encode_alert_event, stream_events
from .context import context
from .errors import json_error

bp = Blueprint("stream", __name__)
RETRY_MS = 3000  # EventSource reconnect advice: quick, but not a hammering loop when the app is down


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
    notifier, settings, alerts = ctx.sample_events, ctx.settings, ctx.alerts
    if not notifier.open_stream(settings.max_streams):
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
        return stream_events(alerts.journal.current(), first, last) + notifier.events(first, last)

    def generate() -> Iterator[bytes]:
        stopped: dict[str, object] | None = None  # the sampling_stopped alert this stream was told of
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            newest = notifier.newest()
            if resume_from is not None and resume_from < newest:
                yield from events(resume_from + 1, newest)
            elif newest:
                yield from notifier.events(newest, newest)
            sent, quiet_since = newest, time.monotonic()
            checked_at = quiet_since
            while True:
                newest = notifier.wait_for(sent, timeout=heartbeat)
                if time.monotonic() - checked_at >= heartbeat:
                    if not still_allowed():
                        return  # signed out, revoked or expired: the client reconnects and gets a 401
                    checked_at = time.monotonic()
                if newest > sent:
                    if stopped is not None:
                        yield encode_alert_event(RESOLVED, {**stopped, "resolved_at": ctx.clock()}, None)
                        stopped = None
                    yield b"".join(events(sent + 1, newest))
                    sent, quiet_since = newest, time.monotonic()
                elif time.monotonic() - quiet_since >= heartbeat:
                    if stopped is None:
                        stopped = alerts.sampling_stopped()
                        if stopped is not None:
                            yield encode_alert_event(FIRING, stopped, None)
                    # A comment keeps nginx and other proxies from timing the stream out.
                    yield b": heartbeat\n\n"
                    quiet_since = time.monotonic()
        finally:
            notifier.close_stream()

    response = Response(stream_with_context(generate()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
