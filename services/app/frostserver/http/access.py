"""Who may do what: the one check every request passes (a before_request hook), and what each route needs.

Each view says what it needs with @needs(...) (unmarked: READ for GET and HEAD, CHANGE for any
other method, so a new write is closed until it says otherwise):

- PROBE: anyone, and no accounts work at all (/healthz, /readyz);
- OPEN: anyone (GET /api/v1/session, DELETE /api/v1/session);
- SIGN_IN: anyone, from the dashboard's own origin (POST /api/v1/session, POST /api/v1/claim);
- READ: anyone while `[access] anonymous = "read"`, else a session or a token;
- SESSION: a user signed in through a session (a user changing their own password);
- ADMIN: an admin's session (accounts, tokens, the audit log: never a token);
- CHANGE: an admin's session or a write token (changing the device: the next issue's settings).

Who asks: `Authorization: Bearer frost_...` (a token that is not valid is a 401, never ignored),
else the cookie `frost_session` (one that is not valid is as good as none, and is cleared), else
nobody. A write (any method but GET, HEAD, OPTIONS) that a token does not sign must come from the
dashboard's own origin (Sec-Fetch-Site: same-origin; without it, an Origin whose scheme, host and
port are the request's), and one that a session signs must carry its CSRF token in X-CSRF-Token
(SIGN_IN routes excepted: there is no session yet). Refusals: 401 when nobody is signed in (with
WWW-Authenticate: Bearer), 403 when signed in without the right or for a cross-site or CSRF
failure (the message says which, never echoing a secret).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request

from ..accounts.model import Principal, Unavailable, Via
from ..accounts.sessions import COOKIE
from ..accounts.tokens import bearer
from ..logs import RepeatLimiter
from .context import context
from .errors import json_error

log = logging.getLogger(__name__)
unavailable_log = RepeatLimiter(log)

READS = frozenset({"GET", "HEAD", "OPTIONS"})
REALM = 'Bearer realm="FrostServer"'
NEED_ATTRIBUTE = "frost_needs"
DEFAULT_PORTS = MappingProxyType({"http": 80, "https": 443})


class Need(Enum):
    """What a route needs of whoever asks (see the module's docstring)."""

    PROBE = "probe"
    OPEN = "open"
    SIGN_IN = "sign-in"
    READ = "read"
    SESSION = "session"
    ADMIN = "admin"
    CHANGE = "change"


def needs(need: Need) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a view with what it needs; the hook (check) reads the mark."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        setattr(view, NEED_ATTRIBUTE, need)
        return view

    return mark


@dataclass(frozen=True)
class Asker:
    """Who sent the request being handled: the principal (None: nobody) and whether its cookie was stale."""

    principal: Principal | None
    stale_cookie: bool = False


def who() -> Principal | None:
    """Return who sent the request being handled (None: nobody signed in)."""
    asker: Asker | None = g.get("frost_asker")
    return None if asker is None else asker.principal


def client_address() -> str:
    """Return the client's address: X-Real-IP, which nginx sets from the connection (overwriting the client's)."""
    raw = request.headers.get("X-Real-IP") or request.remote_addr or ""
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return "unknown"  # no proxy in front (dev mode, tests) and no socket address


def is_tls() -> bool:
    """Tell whether the client came over TLS (nginx says so in X-Forwarded-Proto)."""
    return request.headers.get("X-Forwarded-Proto", request.scheme).strip().lower() == "https"


def install(app: Flask) -> None:
    """Put the check before every request of the app, and clear stale session cookies after."""
    app.before_request(check)
    app.after_request(clear_stale_cookie)


def need_of_request() -> Need:
    """Return what the route being asked needs (unmarked: READ for reads, CHANGE for writes)."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    need = getattr(view, NEED_ATTRIBUTE, None)
    if isinstance(need, Need):
        return need
    return Need.READ if request.method in READS else Need.CHANGE


def check() -> Response | None:
    """Identify who asks and refuse what they may not do (None: go on to the view)."""
    if request.routing_exception is not None:
        return None  # no such route, or not with this method: the JSON 404 or 405 answers
    need = need_of_request()
    if need is Need.PROBE:
        return None
    ctx = context()
    anonymous_reads = ctx.settings.access.anonymous_may_read
    try:
        asker = identify()
    except Unavailable as error:
        if need is Need.READ and anonymous_reads and request.method in READS:
            # A broken accounts database costs no one a read anonymous visitors may make anyway.
            unavailable_log.log(logging.ERROR, "accounts: %s; reading on as anonymous", error, key="identify")
            g.frost_asker = Asker(None)
            return None
        response = json_error(503, f"Accounts are unavailable: {error}")
        response.headers["Retry-After"] = "5"
        return response
    if isinstance(asker, Response):
        return asker
    g.frost_asker = asker
    principal = asker.principal
    refused = refuse_by_need(need, principal, anonymous_reads)
    if refused is not None:
        return refused
    if request.method in READS or (principal is not None and principal.via is Via.TOKEN):
        return None
    problem = cross_site()
    if problem is not None:
        return json_error(403, f"Cross-site request refused: {problem}")
    if principal is not None and principal.via is Via.SESSION and need is not Need.SIGN_IN:
        sent = request.headers.get("X-CSRF-Token", "")
        expected = principal.csrf_token or ""
        if not sent or not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode("ascii")):
            return json_error(
                403,
                "Missing or wrong X-CSRF-Token: send the csrf_token that GET /api/v1/session gives with every change",
            )
    return None


def identify() -> Asker | Response:
    """Return who asks, from a bearer token or the session cookie; a 401 for a token that is not valid."""
    accounts = context().accounts
    credentials = bearer(request.headers.get("Authorization"))
    if credentials is not None:
        principal = accounts.token(credentials)
        if principal is None:
            return unauthorized("The bearer token is not valid: revoked, mistyped, or never made")
        return Asker(principal)
    cookie = request.cookies.get(COOKIE)
    if cookie is None:
        return Asker(None)
    principal = accounts.session(cookie)
    return Asker(principal, stale_cookie=principal is None)


def refuse_by_need(need: Need, principal: Principal | None, anonymous_reads: bool) -> Response | None:
    """Return the 401 or 403 for a principal the route's need refuses, or None."""
    if need in (Need.OPEN, Need.SIGN_IN):
        return None
    if need is Need.READ:
        if principal is None and not anonymous_reads:
            return unauthorized("Sign in, or send a token: this device does not let anonymous visitors read")
        return None
    if principal is None:
        return unauthorized("Sign in first")
    if need is Need.CHANGE and not principal.may_change:
        return json_error(403, "Only an admin, or a write token, may change the device")
    if need in (Need.SESSION, Need.ADMIN) and principal.via is Via.TOKEN:
        return json_error(403, "Tokens may not manage accounts, tokens or the audit log: sign in as an admin")
    if need is Need.ADMIN and not principal.is_admin_session:
        return json_error(403, "Only an admin may do this")
    return None


def unauthorized(message: str) -> Response:
    """Return a 401 that says how to authenticate."""
    response = json_error(401, message)
    response.headers["WWW-Authenticate"] = REALM
    return response


def cross_site() -> str | None:
    """Return why a write does not come from the dashboard's own origin, or None when it does."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return None if site.strip().lower() == "same-origin" else "Sec-Fetch-Site is not same-origin"
    origin = request.headers.get("Origin")
    if origin is None:
        return "the request has neither a Sec-Fetch-Site nor an Origin header"
    try:
        parts = urlsplit(origin.strip())
        asked = origin_of(parts.scheme, parts.hostname, parts.port)
        scheme = "https" if is_tls() else "http"
        host = urlsplit(f"{scheme}://{request.headers.get('X-Forwarded-Host') or request.host}")
        ours = origin_of(scheme, host.hostname, host.port)
    except ValueError:  # a port that is no number
        return "its Origin is not a scheme, host and port"
    if asked is None or asked != ours:
        return "its Origin is not this device's address"
    return None


def origin_of(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int] | None:
    """Return an origin as (scheme, host, port), the port filled in; None for what is no web origin."""
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host.lower(), DEFAULT_PORTS[scheme] if port is None else port


def clear_stale_cookie(response: Response) -> Response:
    """Clear a session cookie that signs nobody in (ended, expired), unless this answer sets a new one."""
    asker: Asker | None = g.get("frost_asker")
    already_set = any(header.startswith(f"{COOKIE}=") for header in response.headers.getlist("Set-Cookie"))
    if asker is not None and asker.stale_cookie and not already_set:
        clear_session_cookie(response)
    return response


def set_session_cookie(response: Response, value: str, max_age: float) -> None:
    """Set the session cookie: HttpOnly, SameSite=Strict, Path=/, Secure over TLS."""
    response.set_cookie(
        COOKIE, value, max_age=int(max_age), path="/", secure=is_tls(), httponly=True, samesite="Strict"
    )


def clear_session_cookie(response: Response) -> None:
    """Tell the browser to drop the session cookie (Max-Age=0)."""
    response.delete_cookie(COOKIE, path="/", secure=is_tls(), httponly=True, samesite="Strict")
