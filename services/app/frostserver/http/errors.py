"""Map every error to one JSON shape: {"status": 404, "error": "Not Found", "message": "..."}."""

from __future__ import annotations

import logging
from http import HTTPStatus  # the standard library's (absolute import), not this package
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from ..accounts.model import (
    AccountsError,
    BadInput,
    Busy,
    Conflict,
    Limited,
    NotFound,
    Refused,
    Unavailable,
    WrongCredentials,
)

log = logging.getLogger(__name__)

# The order methods are listed in an Allow header (Werkzeug gives a set: any order).
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
UNAVAILABLE_RETRY_AFTER = "5"  # s: a locked or full accounts database, a volume remounted


def json_error(status: int, message: str, **extra: Any) -> Response:
    """Return a JSON error response in the API's one error shape."""
    body = {"status": status, "error": HTTPStatus(status).phrase, "message": message, **extra}
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer HTTP errors, and any bug, with the JSON error shape instead of HTML."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if error.code == 404:
            return json_error(404, f"Nothing at {request.path}")
        if error.code == 405:
            response = json_error(405, f"{request.method} is not allowed on {request.path}")
            methods = getattr(error, "valid_methods", None) or ()  # MethodNotAllowed's
            response.headers["Allow"] = ", ".join(sorted(methods, key=method_rank))
            return response
        return json_error(error.code or 500, error.description or "")

    @app.errorhandler(AccountsError)
    def accounts_error(error: AccountsError) -> Response:
        return account_error(error)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        # Reaching this is a bug; say so without leaking internals, and keep the details in the log.
        log.exception("unhandled error on %s", request.path)
        return json_error(500, InternalServerError.description)


def method_rank(method: str) -> tuple[int, str]:
    """Return where a method goes in an Allow header: GET, HEAD, POST, ... then any other alphabetically."""
    return (METHOD_ORDER.index(method), "") if method in METHOD_ORDER else (len(METHOD_ORDER), method)


def account_error(error: AccountsError) -> Response:
    """Answer an accounts error (its message never holds a secret) with its status."""
    message = str(error)
    if isinstance(error, BadInput):
        return json_error(400, message, field=error.field)
    if isinstance(error, WrongCredentials):
        response = json_error(401, message)
        response.headers["WWW-Authenticate"] = 'Bearer realm="FrostServer"'
        return response
    if isinstance(error, (Limited, Busy)):
        response = json_error(429 if isinstance(error, Limited) else 503, message)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    if isinstance(error, Unavailable):
        log.error("accounts: %s", message)
        response = json_error(503, f"Accounts are unavailable: {message}")
        response.headers["Retry-After"] = UNAVAILABLE_RETRY_AFTER
        return response
    status = {NotFound: 404, Conflict: 409, Refused: 403}.get(type(error), 400)
    return json_error(status, message)
