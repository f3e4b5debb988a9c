"""Signing in and out, and claiming a new device: /api/v1/session and /api/v1/claim.

The session's body tells the dashboard what to show: who is signed in (and how), the CSRF token
its writes send back, whether anonymous visitors may read, and whether the device can still be
claimed. Its cookie is set here (access.py says how) and nowhere else.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..accounts.model import BadInput, Principal, SignedIn, Via
from .access import Need, clear_session_cookie, client_address, needs, set_session_cookie, who
from .context import context

bp = Blueprint("signin", __name__)


def session_body(principal: Principal | None) -> dict[str, Any]:
    """Return the session document for whoever asks."""
    ctx = context()
    return {
        "user": None if principal is None else {"name": principal.name, "role": principal.role.value},
        "via": None if principal is None else principal.via.value,
        "scope": None if principal is None or principal.scope is None else principal.scope.value,
        "csrf_token": principal.csrf_token if principal is not None and principal.via is Via.SESSION else None,
        "anonymous": ctx.settings.access.anonymous,
        "claim": ctx.accounts.claimable(),
    }


def json_object() -> dict[str, Any]:
    """Return the request's JSON object (400 for anything else)."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise BadInput("body", 'The body must be a JSON object, like {"username": "...", "password": "..."}')
    return body


def text_field(body: dict[str, Any], name: str) -> str:
    """Return a field that must be a string (400 naming it otherwise)."""
    value = body.get(name)
    if not isinstance(value, str):
        raise BadInput(name, f"{name}: must be a string")
    return value


def answer(body: dict[str, Any], status: int = 200) -> Response:
    """Return a JSON answer that is never cached (it says who is signed in)."""
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def signed_in(new: SignedIn, status: int) -> Response:
    """Return the session document of a new session, with its cookie."""
    ctx = context()
    principal = Principal(new.user.name, Via.SESSION, new.user.role, csrf_token=new.csrf_token)
    response = answer(session_body(principal), status)
    set_session_cookie(response, new.cookie, ctx.settings.access.session_lifetime)
    return response


@bp.get("/api/v1/session")
@needs(Need.OPEN)
def current() -> Response:
    """Say who is signed in, how, and what the dashboard should show."""
    return answer(session_body(who()))


@bp.post("/api/v1/session")
@needs(Need.SIGN_IN)
def sign_in() -> Response:
    """Sign in with a user name and password; the same 401 for an unknown user and a wrong password."""
    body = json_object()
    username, password = text_field(body, "username"), text_field(body, "password")
    return signed_in(context().accounts.login(username, password, client_address()), 200)


@bp.delete("/api/v1/session")
@needs(Need.OPEN)
def sign_out() -> Response:
    """End this session (if any) and clear its cookie."""
    context().accounts.logout(who(), client_address())
    response = Response(status=204)
    response.headers["Cache-Control"] = "no-store"
    clear_session_cookie(response)
    return response


@bp.post("/api/v1/claim")
@needs(Need.SIGN_IN)
def claim() -> Response:
    """Make the first admin with the setup code from the app's log, and sign it in."""
    body = json_object()
    code, username = text_field(body, "code"), text_field(body, "username")
    password = text_field(body, "password")
    return signed_in(context().accounts.claim(code, username, password, client_address()), 201)
