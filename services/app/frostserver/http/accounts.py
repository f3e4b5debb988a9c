"""Managing accounts, tokens and the audit log: /api/v1/users, /api/v1/tokens, /api/v1/audit.

Admins only, through a session (tokens never manage accounts); a user may also change their own
password (with the current one) and sign themselves out everywhere. access.py checks who asks
before any view here runs; the views check only what depends on the path (self or another).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..accounts.actions import Accounts
from ..accounts.model import BadInput, Principal, Role, check_role, check_scope, name_key
from .access import Need, clear_session_cookie, client_address, needs, who
from .context import context
from .errors import json_error
from .signin import answer, json_object, text_field

bp = Blueprint("accounts", __name__)

AUDIT_LIMIT_DEFAULT, AUDIT_LIMIT_MAX = 100, 1000
USER_CHANGES = ("password", "role", "current_password")


def signed_in_principal() -> Principal:
    """Return who asks; the access check let only the signed-in through."""
    principal = who()
    assert principal is not None  # Need.SESSION and Need.ADMIN refuse nobody-signed-in
    return principal


def no_content() -> Response:
    """Return a 204 that is never cached."""
    response = Response(status=204)
    response.headers["Cache-Control"] = "no-store"
    return response


def accounts() -> Accounts:
    """Return the app's accounts."""
    return context().accounts


@bp.get("/api/v1/users")
@needs(Need.ADMIN)
def list_users() -> Response:
    """List the users, with their live sessions."""
    return answer({"users": [user.document() for user in accounts().users()]})


@bp.post("/api/v1/users")
@needs(Need.ADMIN)
def add_user() -> Response:
    """Add a user."""
    body = json_object()
    name, password = text_field(body, "name"), text_field(body, "password")
    role = check_role(body.get("role"))
    user = accounts().add_user(signed_in_principal().name, name, password, role, client_address())
    return answer(user.document(), 201)


@bp.patch("/api/v1/users/<name>")
@needs(Need.SESSION)
def change_user(name: str) -> Response:
    """Change a user's password and/or role (admins; a user their own password, with the current one)."""
    principal = signed_in_principal()
    body = json_object()
    unknown = [key for key in body if key not in USER_CHANGES]
    if unknown:
        raise BadInput(str(unknown[0]), f"{unknown[0]}: unknown field; give password and/or role")
    if "password" not in body and "role" not in body:
        raise BadInput("body", "Nothing to change: give password and/or role")
    is_self = name_key(principal.name) == name_key(name)
    if principal.role is not Role.ADMIN and (not is_self or "role" in body):
        return json_error(403, "Only an admin may change another user, or a role")
    password = text_field(body, "password") if "password" in body else None
    role = check_role(body["role"]) if "role" in body else None
    current = body.get("current_password")
    user = accounts().change_user(
        principal,
        name,
        client_address(),
        password=password,
        role=role,
        current_password=current if isinstance(current, str) else None,
    )
    return answer(user.document())


@bp.delete("/api/v1/users/<name>")
@needs(Need.ADMIN)
def remove_user(name: str) -> Response:
    """Remove a user (never the last admin)."""
    principal = signed_in_principal()
    accounts().remove_user(principal.name, name, client_address())
    response = no_content()
    if name_key(principal.name) == name_key(name):
        clear_session_cookie(response)
    return response


@bp.delete("/api/v1/users/<name>/sessions")
@needs(Need.SESSION)
def end_sessions(name: str) -> Response:
    """Sign a user out everywhere (admins; a user themselves)."""
    principal = signed_in_principal()
    is_self = name_key(principal.name) == name_key(name)
    if principal.role is not Role.ADMIN and not is_self:
        return json_error(403, "Only an admin may sign another user out")
    accounts().end_sessions(principal.name, name, client_address())
    response = no_content()
    if is_self:
        clear_session_cookie(response)
    return response


@bp.get("/api/v1/tokens")
@needs(Need.ADMIN)
def list_tokens() -> Response:
    """List the tokens (never the tokens themselves)."""
    return answer({"tokens": [token.document() for token in accounts().tokens()]})


@bp.post("/api/v1/tokens")
@needs(Need.ADMIN)
def add_token() -> Response:
    """Make a token; the answer is the only place it is ever shown."""
    body = json_object()
    name, scope = text_field(body, "name"), check_scope(body.get("scope"))
    token, text = accounts().add_token(signed_in_principal().name, name, scope, client_address())
    return answer({**token.document(), "token": text}, 201)


@bp.delete("/api/v1/tokens/<int:token_id>")
@needs(Need.ADMIN)
def revoke_token(token_id: int) -> Response:
    """Revoke a token: it stops working at its next request."""
    accounts().revoke_token(signed_in_principal().name, token_id, client_address())
    return no_content()


@bp.get("/api/v1/audit")
@needs(Need.ADMIN)
def audit() -> Response:
    """Return the newest audit events, newest first."""
    raw = request.args.get("limit", str(AUDIT_LIMIT_DEFAULT))
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= AUDIT_LIMIT_MAX:
        return json_error(400, f"limit: must be a whole number from 1 to {AUDIT_LIMIT_MAX}", parameter="limit")
    return answer({"events": [event.document() for event in accounts().events(int(raw))]})
