"""When a state is published: on a change, at most once per min_interval, at least once per max_interval.

One StateSchedule for every state topic of the device. The publisher offers it each topic's newest
state once per look at the store (offer); the schedule answers whether that state goes out now. A
value that changes at every sample is sent every min_interval (its newest value then), one that
never changes every max_interval (so HA, or anyone subscribing later, sees it is still true). An
urgent topic (an alert's state) skips min_interval: frost at 3 a.m. is said at once.

Time is the caller's clock (monotonic seconds), so tests drive it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Sent:
    payload: bytes
    at: float


class StateSchedule:
    """Decide, topic by topic, whether its newest state is published now."""

    def __init__(self, min_interval: float, max_interval: float):
        self.min_interval = min_interval
        self.max_interval = max_interval
        self._sent: dict[str, _Sent] = {}

    def offer(self, topic: str, payload: bytes, now: float, *, urgent: bool = False) -> bool:
        """Tell whether `payload` is published on `topic` at `now`; if so, remember it as sent."""
        sent = self._sent.get(topic)
        if sent is not None:
            waited = now - sent.at
            changed = payload != sent.payload
            due = waited >= self.max_interval or (changed and (urgent or waited >= self.min_interval))
            if not due:
                return False
        self._sent[topic] = _Sent(payload, now)
        return True

    def forget(self, topic: str) -> None:
        """Forget a topic (its entity was removed): a new entity of that topic is sent at once."""
        self._sent.pop(topic, None)

    def reset(self) -> None:
        """Forget everything sent: after a (re)connection every state goes out again."""
        self._sent.clear()

    def __len__(self) -> int:
        return len(self._sent)
