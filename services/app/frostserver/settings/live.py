"""Follow the settings while a process runs: the config file's layer, read once, under the browser's.

Each process that acts on the settings (the sampler, the notifier, every Gunicorn worker) keeps one
LiveSettings. current() asks the store's Watch whether settings.db changed (microseconds: no query)
and, when it did, reads it once and resolves the document again (config/resolve.py: defaults <
file < browser < environment). The browser's layer is tolerant: a value of it that no longer
validates with the file is left out, and the status says so (the sampler logs it, once).

The config file is read once per process, as before the browser could set anything: changing the
file still needs `docker compose restart app`; what the browser sets is applied live.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..config import Layer, Resolved, Source, resolve
from ..config.resolve import Dropped, LayerSource
from ..config.settings import Settings
from .store import SettingsStore, Snapshot, Unavailable

log = logging.getLogger("frostserver.settings")

BROWSER_WHERE = "settings set in the browser"
OK, MOVED_ASIDE, DROPPED, UNAVAILABLE = "ok", "moved_aside", "dropped", "unavailable"


@dataclass(frozen=True)
class Status:
    """How the settings store is: ok, moved_aside (a damaged file replaced), dropped (values left out), unavailable."""

    state: str = OK
    message: str | None = None

    def document(self) -> dict[str, str | None]:
        return {"state": self.state, "message": self.message}


@dataclass(frozen=True)
class Current:
    """The settings in force, what the file alone says (what a reset gives), and the store they came from."""

    resolved: Resolved  # defaults < file < browser < environment
    file: Resolved  # defaults < file < environment: what resetting a browser value gives
    snapshot: Snapshot | None  # None: the store could not be read (the file's values apply)
    status: Status

    @property
    def settings(self) -> Settings:
        return self.resolved.settings

    @property
    def revision(self) -> int:
        return 0 if self.snapshot is None else self.snapshot.revision


def browser_document(snapshot: Snapshot) -> dict[str, Any]:
    """Return the browser's layer as a partial document of the config file's shape."""
    document: dict[str, Any] = {}
    for key, value in sorted(snapshot.entries.items()):
        table = document
        for part in key[:-1]:
            below = table.setdefault(part, {})
            if not isinstance(below, dict):
                break  # a value where a table should be: the entries were written by a bug; skip it
            table = below
        else:
            table[key[-1]] = value
    if snapshot.targets:
        alerts = document.setdefault("alerts", {})
        if isinstance(alerts, dict):
            alerts["notify"] = [target.url for target in snapshot.targets]
    return document


def browser_layer(snapshot: Snapshot) -> Layer:
    """Return the browser's layer: tolerant, a mistake drops its value (resolve.py)."""
    return Layer(Source.BROWSER, BROWSER_WHERE, browser_document(snapshot), tolerant=True)


def constant(layer: Layer) -> LayerSource:
    """Return a layer source that gives this layer (one read once)."""
    return lambda _: layer


def describe_dropped(dropped: tuple[Dropped, ...]) -> str:
    """Say which browser values are left out, and why, in one line for the banner."""
    listed = "; ".join(str(item) for item in dropped)
    return f"Settings set here that no longer fit the config file are ignored until set again or reset: {listed}"


class LiveSettings:
    """The settings in force for one process, resolved again whenever settings.db changes (see the module)."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        *,
        log_changes: bool = False,
        use_store: bool = True,
    ):
        """Read the config file (raising its ConfigError, as load_settings does); follow settings.db if use_store."""
        self.environ = dict(os.environ if environ is None else environ)
        self.overrides = dict(overrides or {})
        self.log_changes = log_changes  # the sampler's: says once what is dropped and when the file cannot be read
        self.file = resolve(self.environ, self.overrides)  # reads the config file, once
        # settings.db lives beside accounts.db (the volume in Compose; the run directory in tests).
        self.store = SettingsStore(self.file.settings.accounts_home) if use_store else None
        self.watch = None if self.store is None else self.store.watch()
        self._current = Current(self.file, self.file, None, Status())
        self._said: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def current(self) -> Current:
        """Return the settings in force, read again if settings.db changed since the last call."""
        if self.watch is None or not self.watch.changed():
            return self._current
        with self._lock:
            try:
                snapshot: Snapshot | None = self.store.snapshot() if self.store is not None else None
                problem = None
            except Unavailable as error:
                snapshot, problem = None, str(error)
            self._current = self._resolve(snapshot, problem)
            self._say(self._current)
            return self._current

    def adopt(self, snapshot: Snapshot) -> Current:
        """Take the store as a write of this process just left it (no need to wait for the watch)."""
        with self._lock:
            if self._current.snapshot is None or snapshot.revision != self._current.snapshot.revision:
                self._current = self._resolve(snapshot, None)
                self._say(self._current)
            return self._current

    def candidate(self, snapshot: Snapshot) -> Current:
        """Return what the settings would be with this snapshot (a change being validated); nothing is kept."""
        return self._resolve(snapshot, None)

    def _resolve(self, snapshot: Snapshot | None, problem: str | None) -> Current:
        if snapshot is None:
            return Current(self.file, self.file, None, Status(UNAVAILABLE, problem))
        layers = (*self.file.layers, browser_layer(snapshot))
        resolved = resolve(self.environ, self.overrides, layers=[constant(layer) for layer in layers])
        overrides = replace(resolved.settings.sensor_overrides, revisions=snapshot.of_scope("sensor"))
        resolved = replace(resolved, settings=replace(resolved.settings, sensor_overrides=overrides))
        if snapshot.notice is not None:
            status = Status(MOVED_ASIDE, snapshot.notice)
        elif resolved.dropped:
            status = Status(DROPPED, describe_dropped(resolved.dropped))
        else:
            status = Status()
        return Current(resolved, self.file, snapshot, status)

    def _say(self, current: Current) -> None:
        """Log, once, each browser value left out and each time the store cannot be read (the sampler's job)."""
        if not self.log_changes:
            return
        lines: tuple[str, ...]
        if current.status.state == UNAVAILABLE:
            lines = (f"settings: {current.status.message}; the config file's values apply",)
        else:
            lines = tuple(
                f"settings: a value set in the browser no longer fits the config file and is ignored "
                f"until set again or reset: {item}"
                for item in current.resolved.dropped
            )
        for line in lines:
            if line not in self._said:
                log.warning("%s", line)
        self._said = lines

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()
        if self.store is not None:
            self.store.close()
