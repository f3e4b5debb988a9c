"""The HTTP side: Gunicorn's workers read the store and render it at the edges.

- context.py: what a worker's requests share (AppContext: the settings, the readers, the caches,
  the clocks), built here once per app and read through context();
- api.py: the JSON API (/api/v1/...) and the original design's /sensor_reading;
  documents.py renders its sensors document once per sample, chips.py its chips document;
  the history answer's parameters (history_params.py), its JSON and CSV (history_render.py) and
  how many a worker makes at once (history_gate.py); the history package plans and makes it
  (history/query.py, plan.py, answer.py); alerts.py reads the alerts (/api/v1/alerts, and what
  the stream and /metrics tell of them);
- stream.py: the Server-Sent Events stream (sample_events.py: the samples' events, encoded once);
- metrics.py: /metrics (exposition.py renders it; node_exporter.py: node_exporter's hwmon series;
  workers.py: each worker's own counters);
- health.py: /healthz and /readyz;
- settings.py: the settings set in the browser (settings_document.py renders GET /api/v1/settings;
  the settings themselves: frostserver/settings/);
- access.py: who may do what, checked once before every request (sessions, tokens, origins, CSRF);
  signin.py: signing in and out, claiming the device; accounts.py: users, tokens, the audit log
  (the accounts themselves: frostserver/accounts/);
- errors.py: every error in one JSON shape; json_text.py: the one JSON encoder (no NaN, no Infinity).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response

from .. import __version__
from ..accounts.actions import Accounts
from ..accounts.hash_gate import HashGate
from ..accounts.model import AccountsError
from ..accounts.passwords import Passwords
from ..accounts.store import AccountStore
from ..config import SettingsError
from ..history import HistoryReader
from ..history.answer import Tiers
from ..logs import configure_logging
from ..settings.live import LiveSettings
from ..store.reader import StoreReader
from . import access, accounts, api, health, metrics, signin, stream
from . import settings as settings_api
from .alerts import AlertsReader
from .chips import ChipDocuments
from .context import AppContext, Clock, attach
from .documents import SensorDocuments
from .errors import json_error, register_error_handlers
from .exposition import MetricsRenderer
from .history_gate import HistoryGate
from .history_render import MeanTexts
from .json_text import StrictJSONProvider
from .sample_events import SampleWatcher

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024


def create_app(
    test_config: Mapping[str, Any] | None = None,
    *,
    clock: Clock = time.time,
    monotonic: Clock = time.monotonic,
    tiers: Tiers | None = None,
    history_gate: HistoryGate | None = None,
    passwords: Passwords | None = None,
    hash_gate: HashGate | None = None,
) -> Flask:
    """Create the Flask app; tests pass settings in `test_config` (a tmp tree, a run dir) and fakes by keyword.

    `clock` and `monotonic`: the wall and monotonic clocks; `tiers`: the history on disk (by
    default read from `history_dir`, none without one); `history_gate`: a gate of other limits;
    `passwords`: a hasher of other parameters (cheap ones, in tests); `hash_gate`: of other limits.
    """
    app = Flask(__name__)
    # Only the methods a route declares: no automatic OPTIONS answer (a JSON 405 instead).
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    # The largest body any route reads (a password of 1024 characters, escaped, twice): 413 past it.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json = StrictJSONProvider(app)  # jsonify: strict JSON, keys in the order given, text as is
    register_error_handlers(app)
    _tag_responses_with_worker(app)
    try:
        # The config file is read once here; what the browser sets is followed while the app runs.
        live = LiveSettings(overrides=test_config)
    except SettingsError as error:
        # The supervisor has logged it once for the container; every worker answers with it.
        return _refuse_to_run(app, str(error))
    settings = live.file.settings
    configure_logging(settings.log_level)
    store = StoreReader(settings.run_dir)
    if tiers is None and settings.history_dir is not None:
        tiers = HistoryReader(settings.history_dir)
    sample_events = SampleWatcher(store, clock)
    alerts = AlertsReader(settings, store, clock, live)
    gate = HashGate() if hash_gate is None else hash_gate
    accounts_store = AccountStore(settings.accounts_home)
    users = Accounts(accounts_store, settings.run_dir, settings.access, gate, passwords=passwords, clock=clock)
    shared = AppContext(
        settings=settings,
        store=store,
        tiers=tiers,
        history_gate=HistoryGate() if history_gate is None else history_gate,
        history_texts=MeanTexts(),
        documents=SensorDocuments(store, settings.sample_interval, settings.frost_threshold),
        chip_documents=ChipDocuments(store.chips),
        sample_events=sample_events,
        alerts=alerts,
        metrics=MetricsRenderer(store, settings.frost_threshold, sample_events, __version__, alerts),
        accounts=users,
        hash_gate=gate,
        live=live,
        clock=clock,
        monotonic=monotonic,
    )
    attach(app, shared)
    access.install(app)
    for blueprint in (api.bp, health.bp, stream.bp, metrics.bp, signin.bp, accounts.bp, settings_api.bp):
        app.register_blueprint(blueprint)
    _announce_setup_code(users)
    return app


def _announce_setup_code(users: Accounts) -> None:
    # Once per process start (Gunicorn's master, which loads the app once before forking): the
    # owner reads the code in the log (`make up` prints it too). Then the master's connections
    # close: a forked worker must open its own.
    try:
        users.announce()
    except (AccountsError, OSError) as error:
        log.error("accounts: cannot tell whether this device is claimed: %s", error)
    finally:
        users.store.close()


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
