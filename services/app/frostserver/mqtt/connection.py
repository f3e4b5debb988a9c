"""The connection to the broker: paho-mqtt's client driven from the publisher's one thread, with back-off.

paho-mqtt 2.x (pure Python, MQTT 3.1.1 and 5, TLS), its network loop run by `service()` in the
publisher's own loop rather than in a thread of paho's: one thread, so the publisher's state needs
no lock, and a connection attempt is a step of that loop like any other.

- The client says its last will before anything else: the availability topic, "offline",
  retained, so HA marks the device unavailable when the app dies or the network drops (the broker
  publishes it once the keep-alive, KEEPALIVE s, runs out 1.5 times); a clean stop says it itself.
- A failed attempt (unreachable, refused, TLS) is tried again after a pause that doubles from
  RETRY_FIRST up to RETRY_LONGEST, and starts over once connected.
- The log has one line per outage (the first failure, or the loss of the connection), one more
  only for a refusal not yet said (a broker that comes back but refuses the password), and one
  on recovery. The password is given to the client only; nothing here shows anything but
  config.mqtt.display_broker.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from ..config.mqtt import MqttConfig
from .discovery import NOT_AVAILABLE
from .outbox import Message

log = logging.getLogger("frostserver.mqtt")

KEEPALIVE = 30  # s: the broker says the last will 45 s after the network drops
CONNECT_TIMEOUT = 10.0  # s for the TCP connection and TLS handshake of one attempt
RETRY_FIRST, RETRY_LONGEST = 1.0, 60.0  # s between attempts
QOS = 1  # every message acknowledged: the outbox frees a topic on its PUBACK

# CONNACK refusals a user fixes in the configuration, and how (MQTT 3.1.1: 4, 5; MQTT 5: 0x86, 0x87).
CREDENTIALS_HINT = "check [mqtt] username and password (or the user:password of the url, FROST_MQTT_URL)"


@dataclass
class Attempts:
    """The back-off between connection attempts."""

    first: float = RETRY_FIRST
    longest: float = RETRY_LONGEST
    failures: int = 0  # in a row, since the last connection

    def failed(self) -> float:
        """Count one failure; return the pause before the next attempt."""
        self.failures += 1
        return float(min(self.longest, self.first * 2 ** (self.failures - 1)))

    def connected(self) -> None:
        self.failures = 0


class BrokerConnection:
    """One broker, connected to and reconnected with back-off; messages handed to it one by one."""

    def __init__(
        self,
        config: MqttConfig,
        client_id: str,
        will_topic: str,
        *,
        on_connected: Callable[[], None],
        on_message: Callable[[str, bytes, bool], None],
        on_acknowledged: Callable[[int], object],
        on_lost: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
        client: Any = None,
    ):
        self.config = config
        self.shown = config.shown
        self.clock = clock
        self.attempts = Attempts()
        self.connected = False
        self.next_attempt = 0.0  # clock() at which to try again, while not connected
        self.outage_since: float | None = None  # clock() of the first failure of this outage
        self.told: str | None = None  # the reason last logged in this outage
        self._connecting = False  # a CONNECT is out, its CONNACK not yet in
        self.attempt_started = 0.0  # clock() of the CONNECT
        self._on_connected, self._on_message = on_connected, on_message
        self._on_acknowledged, self._on_lost = on_acknowledged, on_lost
        self.client = client if client is not None else self._make_client(client_id, will_topic)

    def _make_client(self, client_id: str, will_topic: str) -> paho.Client:
        config = self.config
        if config.protocol == "5":
            client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        else:
            client = paho.Client(
                CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311, clean_session=True
            )
        client.connect_timeout = CONNECT_TIMEOUT
        if config.username is not None:
            client.username_pw_set(config.username, config.password)
        if config.tls:
            # ca_certs None: the system's CAs (ca-certificates in the image); the host name is checked.
            client.tls_set(ca_certs=config.ca_file, cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.will_set(will_topic, NOT_AVAILABLE, qos=QOS, retain=True)
        client.on_connect = self._connect_answered
        client.on_disconnect = self._disconnected
        client.on_publish = self._published
        client.on_message = self._message
        return client

    # --- the publisher's loop calls these ------------------------------------------------------

    def service(self, timeout: float) -> None:
        """Try to connect when it is time, then move the network along for up to `timeout` s."""
        now = self.clock()
        if self._connecting and now - self.attempt_started > CONNECT_TIMEOUT:
            # Connected by TCP, and no CONNACK: a broker too busy or not a broker. The next
            # attempt's reconnect() closes this socket.
            self._failed(f"no answer to the connection request within {CONNECT_TIMEOUT:g} s")
        if not self.connected and not self._connecting and now >= self.next_attempt:
            self._attempt()
        if self.client.socket() is None:
            time.sleep(timeout)  # nothing to wait on: not connected
            return
        code = self.client.loop(timeout=timeout)
        if code not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN) and (
            self.connected or self._connecting
        ):
            self._failed(paho.error_string(code))  # on_disconnect normally says it first

    def publish(self, message: Message) -> int | None:
        """Hand a message to the client; return its message id, or None if it could not take it."""
        if not self.connected:
            return None
        info = self.client.publish(message.topic, message.payload, qos=QOS, retain=message.retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return None
        return int(info.mid)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=QOS)

    def close(self, farewell: Message | None, wait: float = 2.0) -> None:
        """Say `farewell` (the "offline" a clean stop owes HA: no will is sent then), then disconnect."""
        if self.connected and farewell is not None:
            info = self.client.publish(farewell.topic, farewell.payload, qos=QOS, retain=farewell.retain)
            deadline = time.monotonic() + wait
            while not info.is_published() and self.connected and time.monotonic() < deadline:
                self.client.loop(timeout=0.1)
        if self.client.socket() is not None:
            self.client.disconnect()
            self.client.loop(timeout=0.1)

    # --- what happens ------------------------------------------------------------------------------

    def _attempt(self) -> None:
        kwargs: dict[str, Any] = {"clean_start": True} if self.config.protocol == "5" else {}
        try:
            self.client.connect(self.config.host, self.config.port, keepalive=KEEPALIVE, **kwargs)
        except (OSError, ValueError) as error:  # unreachable, refused, no such host, TLS (ssl.SSLError)
            self._failed(describe_error(error))
            return
        self._connecting, self.attempt_started = True, self.clock()  # the CONNACK comes through loop()

    def _connect_answered(self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        self._connecting = False
        if getattr(reason, "is_failure", False):
            self._failed(refusal(reason), refused=True)
            return
        now = self.clock()
        if self.outage_since is not None:
            log.info(
                "connected to the broker %s again, after %s without it (%d attempts)",
                self.shown,
                _duration(now - self.outage_since),
                self.attempts.failures + 1,
            )
        else:
            log.info("connected to the broker %s", self.shown)
        self.connected, self.outage_since, self.told = True, None, None
        self.attempts.connected()
        try:
            self._on_connected()
        except Exception:  # a bug of ours must not leave paho's loop in a half-handled CONNACK
            log.exception("publishing after the connection failed")

    def _disconnected(self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        if self.connected:
            self._failed(f"the connection was lost ({reason})")
        elif self._connecting:
            self._failed(str(reason))

    def _published(self, _client: Any, _userdata: Any, mid: int, _reason: Any, _properties: Any) -> None:
        self._on_acknowledged(mid)

    def _message(self, _client: Any, _userdata: Any, message: Any) -> None:
        try:
            self._on_message(message.topic, bytes(message.payload), bool(message.retain))
        except Exception:
            log.exception("handling a message on %s failed", message.topic)

    def _failed(self, reason: str, *, refused: bool = False) -> None:
        """Count a failure or a loss; say it once per outage (and when its reason changes); wait to retry."""
        was_connected = self.connected
        self.connected = self._connecting = False
        if was_connected:
            self._on_lost()
        now = self.clock()
        pause = self.attempts.failed()
        self.next_attempt = now + pause
        first = self.outage_since is None
        if first:
            self.outage_since = now
        # One line per outage; one more only for a refusal it had not said (a broker back from a
        # restart that now refuses the password): a refusal needs the user, a failure only time.
        if first or (refused and reason != self.told):
            self.told = reason
            if refused:
                log.error("the broker %s refused the connection: %s", self.shown, reason)
            elif was_connected:
                log.warning(
                    "lost the broker %s: %s; reconnecting with back-off (up to %g s)", self.shown, reason, RETRY_LONGEST
                )
            else:
                log.warning(
                    "cannot reach the broker %s: %s; trying again with back-off (up to %g s)",
                    self.shown,
                    reason,
                    RETRY_LONGEST,
                )
        else:
            log.debug("the broker %s: %s; next attempt in %g s", self.shown, reason, pause)
        # What paho still holds unacknowledged would be sent again at the next connection, before
        # and besides the newer messages the outbox has for the same topics: drop it, the outbox
        # holds the newest of each topic and is sent whole once connected again.
        self.client.drop_out_messages()


def refusal(reason: Any) -> str:
    """Say why the broker refused, and what fixes it when the fix is the user's."""
    text = str(reason)
    if text.lower() in ("bad user name or password", "not authorized", "bad username or password"):
        return f"{text}: {CREDENTIALS_HINT}"
    return text


def describe_error(error: BaseException) -> str:
    """Say why a connection attempt failed, briefly (never the URL: it may carry the password)."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS: the broker's certificate is not trusted ({error.verify_message}): set [mqtt] ca_file to its CA"
    if isinstance(error, ssl.SSLError):
        return f"TLS: {error.reason or error}"
    if isinstance(error, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:g} s"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__ if not str(error) else str(error)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"
