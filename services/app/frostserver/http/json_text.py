"""The one JSON encoder of the HTTP side: strict JSON, never a bare NaN or Infinity.

Python's json writes NaN and Infinity by default, which no JSON parser accepts (a browser's
JSON.parse fails on the whole event), and with allow_nan=False it raises, which was a 500 for
every request. The sampler lets no non-finite number into the store (finite.py); one that arrives
anyway (a store written by an older sampler, a bug) is written as null, and the worker logs it,
at most once per 5 minutes per place, with a count of the rest. The sensors document, the event
stream, the alerts and Flask's own `jsonify` all encode through here.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider

from ..logs import RepeatLimiter

log = logging.getLogger(__name__)
_repeats = RepeatLimiter(log)

# What json raises for NaN and infinities with allow_nan=False (the only ValueError it raises
# for our data, but a circular reference raises one too, and must not be taken for this).
_OUT_OF_RANGE = "Out of range float values"


def dumps(value: object, where: str, **options: Any) -> str:
    """Encode a value as compact strict JSON, text as UTF-8 characters; non-finite numbers are null.

    `where` names the document in the warning ("the sensors document", "the stream").
    """
    if "indent" not in options:
        options.setdefault("separators", (",", ":"))
    options.setdefault("ensure_ascii", False)
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError as error:
        if _OUT_OF_RANGE not in str(error):
            raise
    _warn(where)
    default = options.get("default")
    if default is not None:  # what it turns an object into (a dataclass: a dict) is cleaned too
        options["default"] = lambda item: _finite(default(item))
    return json.dumps(_finite(value), allow_nan=False, **options)


def number(value: float | None, where: str) -> str:
    """Encode one number (None: null) as dumps would, for documents built by hand."""
    if value is None:
        return "null"
    if not math.isfinite(value):
        _warn(where)
        return "null"
    return repr(float(value))


def _warn(where: str) -> None:
    _repeats.warning(
        "%s held a number that is not finite (NaN or infinity): sent as null; the sampler should have "
        "refused it, so this is a bug worth reporting",
        where,
        key=where,
    )


def _finite(value: object) -> object:
    """Return a copy of plain data with every non-finite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's `jsonify` and `app.json` through `dumps`: keys in the order given, text as is."""

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return dumps(obj, "a JSON answer", ensure_ascii=self.ensure_ascii, **kwargs)
