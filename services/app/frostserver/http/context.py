"""What a worker's requests share, in one typed object (AppContext), and its one accessor (context()).

create_app builds an AppContext once per app and keeps it under one key of `app.extensions`
(Flask's place for what an extension keeps per app); views read it through context(). Nothing
else is kept per app, and nothing per module: two apps in one process (the tests make many) share
nothing. The clocks are fields, time.time and time.monotonic in a worker: tests give create_app
fake ones (never a key of their own to poke).

This module imports the classes it holds and none of the blueprints that read it (api.py,
stream.py, metrics.py, health.py), so that no import cycle runs through it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app

from ..accounts.actions import Accounts
from ..accounts.hash_gate import HashGate
from ..config import Settings
from ..history.answer import Tiers
from ..settings.live import LiveSettings
from ..store.reader import StoreReader
from .alerts import AlertsReader
from .chips import ChipDocuments
from .documents import SensorDocuments
from .exposition import MetricsRenderer
from .history_gate import HistoryGate
from .history_render import MeanTexts
from .sample_events import SampleWatcher

Clock = Callable[[], float]

# The one key of app.extensions this app uses (unit test: test_context.py).
KEY = "frostserver"


@dataclass(frozen=True, slots=True)
class AppContext:
    """Everything an app's requests share: the settings, the readers of what the sampler wrote, per-worker caches."""

    settings: Settings
    store: StoreReader  # the sampler's store (ring, newest sample, catalog, chips, counters)
    tiers: Tiers | None  # the history on disk, read for /api/v1/history; None: off (FROST_HISTORY_DIR unset)
    history_gate: HistoryGate  # how many history answers a worker makes at once
    history_texts: MeanTexts  # the JSON text of the history's means, kept per worker
    documents: SensorDocuments  # /api/v1/sensors, rendered once per sample
    chip_documents: ChipDocuments  # /api/v1/chips, rendered once per change
    sample_events: SampleWatcher  # the stream's events, and what wakes the streams
    alerts: AlertsReader  # the journal, the notifier's counters, sampling_stopped
    metrics: MetricsRenderer  # /metrics, rendered once per sample
    accounts: Accounts  # users, sessions, tokens, the audit log (accounts.db), the setup code
    hash_gate: HashGate  # how many passwords this worker hashes at once (the accounts' own)
    live: LiveSettings  # the settings in force: the config file's (read once), under the browser's (settings.db)
    clock: Clock = time.time  # the wall clock: a sample's age, the default end of a history range
    monotonic: Clock = time.monotonic  # how long since the sampler last published (/readyz)
    # Held while "send a test" runs: one at a time per worker (each starts a child that loads Apprise).
    test_turn: threading.Lock = field(default_factory=threading.Lock)


def attach(app: Flask, shared: AppContext) -> None:
    """Keep the app's context (create_app calls it once)."""
    app.extensions[KEY] = shared


def context(app: Flask | None = None) -> AppContext:
    """Return the context of `app`, by default of the app handling the request (current_app)."""
    found: AppContext = (current_app if app is None else app).extensions[KEY]
    return found
