"""What waits to be sent to the broker: only the newest message per topic, one in flight per topic.

A broker that is down or slow must cost bounded memory. The publisher puts every message here
(put), never straight into the client: a newer message for a topic replaces the one waiting. The
client is handed a topic's message only when the topic has none in flight (take, while connected);
the broker's acknowledgement (QoS 1: PUBACK) frees the topic (acknowledged). So whatever the
broker does, this holds at most one waiting and one in flight per topic, and the MQTT client's
own queue at most one per topic too: memory is bounded by the number of topics, not by how long
the broker has been away. On a lost connection whatever was in flight is forgotten (lost), and
the publisher puts everything again once connected.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    """One message to publish."""

    topic: str
    payload: bytes
    retain: bool = True


class Outbox:
    """The newest message per topic, waiting; the topics in flight, by message id."""

    def __init__(self) -> None:
        self._waiting: dict[str, Message] = {}  # insertion order: configs before the states put after them
        self._in_flight: dict[int, str] = {}  # message id -> topic
        self._busy: set[str] = set()  # topics with a message in flight
        self.acknowledged_total = 0  # messages the broker acknowledged, ever

    def put(self, message: Message) -> None:
        """Queue a message, replacing any still waiting for its topic (its place in line is kept)."""
        self._waiting[message.topic] = message

    def take(self, limit: int) -> Iterator[Message]:
        """Yield up to `limit` waiting messages whose topic has nothing in flight, oldest first.

        The caller sends each and says `sent(topic, mid)`, or `put`s it back if sending failed.
        """
        ready = [topic for topic in self._waiting if topic not in self._busy][:limit]
        for topic in ready:
            yield self._waiting.pop(topic)

    def sent(self, topic: str, mid: int) -> None:
        """Record that a message of `topic` is in flight under message id `mid`."""
        self._in_flight[mid] = topic
        self._busy.add(topic)

    def acknowledged(self, mid: int) -> bool:
        """The broker acknowledged message `mid`: free its topic. False for an id not ours (a lost one's)."""
        topic = self._in_flight.pop(mid, None)
        if topic is None:
            return False
        self._busy.discard(topic)
        self.acknowledged_total += 1
        return True

    def lost(self) -> None:
        """The connection is gone: nothing is in flight any more (what waits stays)."""
        self._in_flight.clear()
        self._busy.clear()

    def clear(self) -> None:
        """Forget everything, waiting and in flight (a new connection: everything is put again)."""
        self._waiting.clear()
        self.lost()

    def drop(self, topic: str) -> None:
        """Forget what waits for a topic."""
        self._waiting.pop(topic, None)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)
