"""Map every error to one JSON shape: {"status": 404, "error": "Not Found", "message": "..."}."""

from __future__ import annotations

import logging
from http import HTTPStatus  # the standard library's (absolute import), not this package
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


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
            response.headers["Allow"] = ", ".join(getattr(error, "valid_methods", None) or ())  # MethodNotAllowed
            return response
        return json_error(error.code or 500, error.description or "")

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        # Reaching this is a bug; say so without leaking internals, and keep the details in the log.
        log.exception("unhandled error on %s", request.path)
        return json_error(500, InternalServerError.description)
