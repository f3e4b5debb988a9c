"""FrostServer: serve a device's hwmon sensors as JSON, Server-Sent Events and Prometheus metrics."""
from __future__ import annotations

import logging
import os
from typing import Mapping

from flask import Flask

from .config import Settings, SettingsError, load_settings

__version__ = "0.1.0"
log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, object] | None = None, *, start_sampler: bool = True) -> Flask:
    """Create the Flask app; `test_config` overrides FROST_* settings (tests pass a tmp tree)."""
    app = Flask(__name__)
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    from .errors import register_error_handlers

    register_error_handlers(app)
    _tag_responses_with_worker(app)
    try:
        settings = load_settings(overrides=test_config)
        sensor_config = _load_sensor_config(settings)
    except (SettingsError, ValueError) as error:
        _configure_logging("info")
        return _refuse_to_run(app, str(error))
    if sensor_config is not None:
        settings = _apply_file_settings(settings, sensor_config)
    _configure_logging(settings.log_level)

    from . import api, health, metrics, stream
    from .api import LatestIndex
    from .store import StoreReader

    store = StoreReader(settings.run_dir)
    app.extensions["frost.settings"] = settings
    app.extensions["frost.frost_threshold"] = getattr(sensor_config, "frost_threshold", 0.0)
    app.extensions["frost.store"] = store
    app.extensions["frost.latest"] = LatestIndex(store)
    app.extensions["frost.notifier"] = stream.SampleNotifier(store)
    for blueprint in (api.bp, health.bp, stream.bp):
        app.register_blueprint(blueprint)
    metrics.init_app(app, __version__)
    if start_sampler:
        app.extensions["frost.sampler"] = _start_sampler(settings, sensor_config)
    return app


def _tag_responses_with_worker(app: Flask) -> None:
    # Which Gunicorn worker answered: lets an operator (and the integration tests) see that all
    # workers serve the same samples.
    worker = str(os.getpid())

    @app.after_request
    def tag(response):
        response.headers["X-Frost-Worker"] = worker
        return response


def _configure_logging(level: str) -> None:
    # One line per event on stderr, which Docker collects; Gunicorn logs its own the same way.
    logger = logging.getLogger("frostserver")
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def _load_sensor_config(settings: Settings):
    if settings.config is None:
        return None
    from .sensorconfig import load_sensor_config

    return load_sensor_config(settings.config)


def _apply_file_settings(settings: Settings, sensor_config) -> Settings:
    from dataclasses import replace

    return replace(settings, sample_interval=float(sensor_config.interval),
                   history_seconds=int(sensor_config.history))


def make_sampler(settings: Settings, sensor_config):
    """Build the Sampler over every configured sensor source (called in the leader only)."""
    from .hwmon import HwmonReader
    from .sampler import Sampler
    from .store import StoreWriter

    sources = {"hwmon": HwmonReader(settings.sysfs_root, read_timeout=settings.read_timeout)}
    rules = None
    frost_threshold = 0.0
    if sensor_config is not None:
        from .custom import ConfigSensors
        from .rules import apply_rules

        sources["config"] = ConfigSensors(sensor_config)
        rules = lambda pairs: apply_rules(pairs, sensor_config)  # noqa: E731
        frost_threshold = sensor_config.frost_threshold
    capacity = max(2, int(settings.history_seconds / settings.sample_interval) + 1)
    writer = StoreWriter(settings.run_dir, capacity, settings.max_sensors, settings.sample_interval)
    return Sampler(sources, writer, interval=settings.sample_interval, frost_threshold=frost_threshold,
                   rules=rules)


def _start_sampler(settings: Settings, sensor_config):
    from .sampler import SamplerLeader

    leader = SamplerLeader(settings.run_dir, lambda: make_sampler(settings, sensor_config),
                           settings.sample_interval)
    leader.start()
    return leader


def _refuse_to_run(app: Flask, message: str) -> Flask:
    """Serve only the configuration error: the healthcheck fails, and no restart loop hides why."""
    from .errors import json_error

    log.critical("configuration error, not sampling: %s", message)

    @app.before_request
    def explain():
        return json_error(503, f"FrostServer is not running: configuration error: {message}")

    return app
