"""The HTTP side: Gunicorn's workers read the store and render it at the edges.

- api.py: the JSON API (/api/v1/...) and the original design's /sensor_reading;
  documents.py renders its sensors document once per sample, chips.py its chips document;
  the history answer's parameters (history_params.py), its JSON and CSV (history_render.py) and
  how many a worker makes at once (history_gate.py); the history package plans and makes it
  (history/query.py, plan.py, answer.py);
- alerts.py: /api/v1/alerts, and the alerts the stream and /metrics tell of;
- stream.py: the Server-Sent Events stream;
- metrics.py: /metrics (node_exporter.py: node_exporter's hwmon series; workers.py: each
  worker's own counters);
- health.py: /healthz and /readyz;
- errors.py: every error in one JSON shape; json_text.py: the one JSON encoder (no NaN, no Infinity).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response

from .. import __version__
from ..history import HistoryReader
from ..logs import configure_logging
from ..settings import SettingsError, load_settings
from ..store.reader import StoreReader
from . import alerts, api, health, metrics, stream
from .chips import ChipDocuments
from .documents import SensorDocuments
from .errors import json_error, register_error_handlers
from .history_gate import HistoryGate
from .history_render import MeanTexts
from .json_text import StrictJSONProvider


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the Flask app; `test_config` overrides settings (tests pass a tmp tree and run dir)."""
    app = Flask(__name__)
    app.json = StrictJSONProvider(app)  # jsonify: strict JSON, keys in the order given, text as is
    register_error_handlers(app)
    _tag_responses_with_worker(app)
    try:
        settings = load_settings(overrides=test_config)
    except SettingsError as error:
        # The supervisor has logged it once for the container; every worker answers with it.
        return _refuse_to_run(app, str(error))
    configure_logging(settings.log_level)
    store = StoreReader(settings.run_dir)
    app.extensions["frost.settings"] = settings
    app.extensions["frost.store"] = store
    # The history on disk, read for /api/v1/history; None: off (FROST_HISTORY_DIR unset).
    app.extensions["frost.history"] = None if settings.history_dir is None else HistoryReader(settings.history_dir)
    app.extensions["frost.history_texts"] = MeanTexts()  # the JSON text of the history's means, kept per worker
    app.extensions["frost.history_gate"] = HistoryGate()  # how many history answers a worker makes at once
    app.extensions["frost.documents"] = SensorDocuments(store, settings.sample_interval, settings.frost_threshold)
    app.extensions["frost.chip_documents"] = ChipDocuments(store.chips)
    app.extensions["frost.notifier"] = stream.SampleNotifier(store)
    app.extensions["frost.alerts"] = alerts.AlertsReader(settings, store)
    for blueprint in (api.bp, alerts.bp, health.bp, stream.bp):
        app.register_blueprint(blueprint)
    metrics.init_app(app, __version__)
    return app


def _tag_responses_with_worker(app: Flask) -> None:
    # Which Gunicorn worker answered: lets an operator (and the integration tests) see that all
    # workers serve the same samples.
    @app.after_request
    def tag(response: Response) -> Response:
        response.headers["X-Frost-Worker"] = str(os.getpid())
        return response


def _refuse_to_run(app: Flask, message: str) -> Flask:
    """Serve only the configuration error: the healthcheck fails, and no restart loop hides why."""

    @app.before_request
    def explain() -> Response:
        return json_error(503, f"FrostServer is not running: configuration error: {message}")

    return app
