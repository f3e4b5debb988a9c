"""One log format for every FrostServer process, on stderr, which Docker collects; and a rate limit.

A message that can come at every sample (a failing source, a broken compute, a stuck read) goes
through `RepeatLimiter`: the first one is logged, repeats within `every` seconds are only counted,
and the next one after that says how many were left out. A device whose disk fills with the same
traceback once a second is down for a reason nobody can read any more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

# How often a message that repeats at every sample may be logged (seconds).
REPEAT_EVERY = 300.0
# Keys remembered at most; past this, those whose window has ended and that hold no count are
# forgotten (keys are message formats or paths, so this is never reached by honest use).
MAX_KEYS = 1024


def configure_logging(level: str) -> None:
    """Log FrostServer's records at `level` as single lines, like Gunicorn's own."""
    logger = logging.getLogger("frostserver")
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


@dataclass
class _Seen:
    logged_at: float  # when the message was last logged
    repeats: int = 0  # how many times it came since, unlogged


class RepeatLimiter:
    """Log each message at most once per `every` seconds, then say how many repeats were left out.

    Messages are told apart by `key`, by default their format string: "source %s failed" with any
    argument is one message. Pass a key (a path, a sensor id) to limit each one on its own.
    Safe to share between threads (the hwmon reader's pool threads log through one).
    """

    def __init__(
        self, logger: logging.Logger, every: float = REPEAT_EVERY, clock: Callable[[], float] = time.monotonic
    ):
        self.logger = logger
        self.every = every
        self.clock = clock
        self._seen: dict[Hashable, _Seen] = {}
        self._lock = threading.Lock()

    def log(self, level: int, msg: str, *args: object, key: Hashable = None, exc_info: bool = False) -> bool:
        """Log the message unless it was logged less than `every` seconds ago; tell whether it was."""
        key = msg if key is None else key
        with self._lock:
            now = self.clock()
            seen = self._seen.get(key)
            if seen is not None and now - seen.logged_at < self.every:
                seen.repeats += 1
                return False
            self._remember(key, now)
        suffix = ""
        if seen is not None and seen.repeats:
            minutes = max(1, round((now - seen.logged_at) / 60))
            suffix = f" (repeated {seen.repeats} times in the last {minutes} min)"
        self.logger.log(level, msg + suffix, *args, exc_info=exc_info)
        return True

    def debug(self, msg: str, *args: object, key: Hashable = None) -> bool:
        return self.log(logging.DEBUG, msg, *args, key=key)

    def info(self, msg: str, *args: object, key: Hashable = None) -> bool:
        return self.log(logging.INFO, msg, *args, key=key)

    def warning(self, msg: str, *args: object, key: Hashable = None) -> bool:
        return self.log(logging.WARNING, msg, *args, key=key)

    def error(self, msg: str, *args: object, key: Hashable = None) -> bool:
        return self.log(logging.ERROR, msg, *args, key=key)

    def exception(self, msg: str, *args: object, key: Hashable = None) -> bool:
        """Log at error level with the current exception's traceback (within an except block)."""
        return self.log(logging.ERROR, msg, *args, key=key, exc_info=True)

    def _remember(self, key: Hashable, now: float) -> None:
        if key not in self._seen and len(self._seen) >= MAX_KEYS:
            for old in [k for k, s in self._seen.items() if not s.repeats and now - s.logged_at >= self.every]:
                del self._seen[old]
            if len(self._seen) >= MAX_KEYS:  # all busy: drop the oldest rather than grow
                del self._seen[min(self._seen, key=lambda k: self._seen[k].logged_at)]
        self._seen[key] = _Seen(now)
