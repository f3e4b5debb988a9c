"""One log format for every FrostServer process, on stderr, which Docker collects."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    """Log FrostServer's records at `level` as single lines, like Gunicorn's own."""
    logger = logging.getLogger("frostserver")
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
