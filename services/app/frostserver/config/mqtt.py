"""[mqtt]: the broker the publisher (frostserver/mqtt/) sends Home Assistant's discovery and the states to.

The broker is given as one URL (`url`, or FROST_MQTT_URL in the environment for Compose users:
resolve.py's environment layer) or as `host`, `port`, `tls`; a user name and password in the URL or
in `username` and `password`. The password is a secret: no message here ever quotes it or the URL
that holds it (display_broker() is the one way to show a broker), and it stays out of every repr.

    [mqtt]
    url = "mqtts://frost:s3cret@broker.example:8883"   # or host = "broker.example", tls = true, ...
    ca_file = "/etc/frostserver/access/mqtt-ca.crt"    # with TLS: the broker's CA; unset: the system's
    protocol = "3.1.1"                                  # or "5"
    discovery_prefix = "homeassistant"
    min_interval = "10s"                                # a state at most this often ...
    max_interval = "5m"                                 # ... and at least this often

A table with no broker (no url, no host) is a mistake; `enabled = false` keeps the table and
publishes nothing. The settings page sets this same table (the password write-only); FROST_MQTT_URL
stays above it, and a source that names a broker replaces the one below whole (BROKER_KEYS).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from . import validate
from .errors import Invalid, KeyPath

MQTT_KEYS = (
    "enabled",
    "url",
    "host",
    "port",
    "tls",
    "username",
    "password",
    "ca_file",
    "protocol",
    "discovery_prefix",
    "base_topic",
    "min_interval",
    "max_interval",
    "device_id",
)
# The keys that say where the broker is and who the publisher is there: a source that sets one of
# them sets the broker (resolve.py replaces the whole of it below that source).
BROKER_KEYS = ("url", "host", "port", "tls", "username", "password")
SCHEMES = {"mqtt": False, "mqtts": True}  # scheme -> TLS
DEFAULT_PORTS = {False: 1883, True: 8883}  # IANA's ports for MQTT and MQTT over TLS
PROTOCOLS = ("3.1.1", "5")
# A topic prefix: MQTT topic levels of letters, digits, '_' and '-' (no wildcard, no empty level).
TOPIC_PREFIX = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
# Home Assistant's discovery topic allows only these in a node id (its mqtt.markdown, "Discovery topic").
DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
HOST = re.compile(r"[A-Za-z0-9._:-]{1,253}")  # a name, an IPv4 address or an IPv6 one (without brackets)
MIN_INTERVAL, MAX_INTERVAL = 10.0, 300.0  # s: the defaults
LONGEST_INTERVAL = 86400.0  # s: a day; longer is a typo
SHORTEST_INTERVAL = 1.0  # s: a broker is no place for every sample of every sensor


@dataclass(frozen=True)
class MqttConfig:
    """The [mqtt] table, validated: where the broker is and how the publisher talks to it."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # a secret: out of every repr and log
    ca_file: str | None = None  # with TLS: the CA certificate(s) to trust; None: the system's
    protocol: str = "3.1.1"
    discovery_prefix: str = "homeassistant"
    base_topic: str = "frostserver"
    min_interval: float = MIN_INTERVAL  # s
    max_interval: float = MAX_INTERVAL  # s
    device_id: str | None = None  # None: the publisher's own, kept in the history's volume
    enabled: bool = True

    @property
    def shown(self) -> str:
        """Return the broker fit to show anyone: scheme, host and port, never the user or password."""
        return display_broker(self.host, self.port, self.tls)


def display_broker(host: str, port: int, tls: bool) -> str:
    """Show a broker without its secrets: "mqtts://broker.example:8883"."""
    shown_host = f"[{host}]" if ":" in host else host
    return f"{'mqtts' if tls else 'mqtt'}://{shown_host}:{port}"


def display_url(url: Any) -> str:
    """Show a broker URL as given (FROST_MQTT_URL, [mqtt] url) without its user or password."""
    if not isinstance(url, str):
        return "…"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "…"
    if parts.scheme not in SCHEMES or not parts.hostname:
        return "…"
    tls = SCHEMES[parts.scheme]
    return display_broker(parts.hostname, port or DEFAULT_PORTS[tls], tls)


def parse_mqtt(value: Any) -> MqttConfig:
    """Parse the [mqtt] table."""
    key: KeyPath = ("mqtt",)
    body = validate.table(value, key)
    validate.reject_unknown(body, MQTT_KEYS, key)
    enabled = validate.boolean(body.get("enabled", True), (*key, "enabled"))
    if "url" in body and "host" in body:
        raise Invalid((*key, "url"), "set the broker either as url or as host (with port, tls), not both")
    if "url" in body:
        for name in ("port", "tls"):
            if name in body:
                raise Invalid((*key, name), "the url already says it: set it there, or use host instead of url")
        host, port, tls, username, password = parse_url(body["url"], (*key, "url"))
    elif "host" in body:
        host = parse_host(body["host"], (*key, "host"))
        tls = validate.boolean(body.get("tls", False), (*key, "tls"))
        port = parse_port(body.get("port", DEFAULT_PORTS[tls]), (*key, "port"))
        username = password = None
    else:
        raise Invalid(key, 'needs a broker: url = "mqtt://user:password@host:1883", or host = "..."')
    if "username" in body:
        if username is not None:
            raise Invalid((*key, "username"), "the url already has a user: set it in one place")
        username = validate.text(body["username"], (*key, "username"), 256)
    if "password" in body:
        if password is not None:
            raise Invalid((*key, "password"), "the url already has a password: set it in one place")
        password = parse_password(body["password"], (*key, "password"))
    if password is not None and username is None:
        raise Invalid((*key, "password"), "a password needs a user name (username, or user:password@ in the url)")
    ca_file = None
    if "ca_file" in body:
        ca_file = validate.text(body["ca_file"], (*key, "ca_file"), 4096)
        if not ca_file.startswith("/"):
            raise Invalid((*key, "ca_file"), f"must be an absolute path inside the container, got {ca_file!r}")
        if not tls:
            raise Invalid((*key, "ca_file"), "is for TLS: use an mqtts:// url (or tls = true)")
    protocol = validate.one_of(str(body.get("protocol", "3.1.1")), (*key, "protocol"), PROTOCOLS)
    discovery_prefix = parse_topic_prefix(body.get("discovery_prefix", "homeassistant"), (*key, "discovery_prefix"))
    base_topic = parse_topic_prefix(body.get("base_topic", "frostserver"), (*key, "base_topic"))
    min_interval = parse_interval(body.get("min_interval", MIN_INTERVAL), (*key, "min_interval"))
    max_interval = parse_interval(body.get("max_interval", MAX_INTERVAL), (*key, "max_interval"))
    if max_interval < min_interval:
        raise Invalid(
            (*key, "max_interval"), f"must be at least min_interval ({min_interval:g} s), got {max_interval:g} s"
        )
    device_id = None
    if "device_id" in body:
        device_id = body["device_id"]
        if not isinstance(device_id, str) or not DEVICE_ID.fullmatch(device_id):
            raise Invalid(
                (*key, "device_id"),
                f"must be 1 to 32 letters, digits, '_' or '-' (unique per broker), got {validate.show(device_id)}",
            )
    return MqttConfig(
        host=host,
        port=port,
        tls=tls,
        username=username,
        password=password,
        ca_file=ca_file,
        protocol=protocol,
        discovery_prefix=discovery_prefix,
        base_topic=base_topic,
        min_interval=min_interval,
        max_interval=max_interval,
        device_id=device_id,
        enabled=enabled,
    )


def parse_url(value: Any, key: KeyPath) -> tuple[str, int, bool, str | None, str | None]:
    """Parse a broker URL into host, port, TLS, user and password; never quote it (it may hold the password)."""
    example = "like 'mqtt://user:password@host:1883' or 'mqtts://host:8883'"
    if not isinstance(value, str) or not value or len(value) > 2048 or any(c.isspace() or c == "\0" for c in value):
        raise Invalid(key, f"must be a broker URL {example}")
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port
    except ValueError:  # a port that is no number or out of range, a bracket left open
        raise Invalid(key, f"must be a broker URL {example} (its host or port cannot be read)") from None
    if parts.scheme not in SCHEMES:
        shown = parts.scheme if re.fullmatch(r"[a-z][a-z0-9+.-]{0,15}", parts.scheme) else "?"
        raise Invalid(key, f"must start with mqtt:// or mqtts://, not {shown}:// ({example})")
    tls = SCHEMES[parts.scheme]
    if not parts.hostname:
        raise Invalid(key, f"has no host ({example})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise Invalid(key, f"must be only scheme://[user[:password]@]host[:port] ({example})")
    host = parse_host(parts.hostname, key)
    username = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    if password is not None and username is None:
        raise Invalid(key, "has a password but no user name")
    return host, port or DEFAULT_PORTS[tls], tls, username, password


def parse_host(value: Any, key: KeyPath) -> str:
    """Validate a broker's host name or address."""
    if not isinstance(value, str) or not HOST.fullmatch(value):
        raise Invalid(key, f"must be a host name or an IP address like 'broker.local', got {validate.show(value)}")
    return value


def parse_port(value: Any, key: KeyPath) -> int:
    """Validate a TCP port."""
    port = validate.number(value, key, 1, 65535)
    if port != int(port):
        raise Invalid(key, f"must be a whole port number between 1 and 65535, got {validate.show(value)}")
    return int(port)


def parse_password(value: Any, key: KeyPath) -> str:
    """Validate a password without ever showing it."""
    if not isinstance(value, str) or not value or len(value) > 1024 or "\0" in value:
        raise Invalid(key, "must be a string of 1 to 1024 characters (not shown here: it is a secret)")
    return value


def parse_topic_prefix(value: Any, key: KeyPath) -> str:
    """Validate a topic prefix: levels of letters, digits, '_' and '-', separated by '/'."""
    if not isinstance(value, str) or len(value) > 64 or not TOPIC_PREFIX.fullmatch(value):
        raise Invalid(
            key,
            f"must be MQTT topic levels of letters, digits, '_' or '-' like 'homeassistant', "
            f"got {validate.show(value)}",
        )
    return value


def parse_interval(value: Any, key: KeyPath) -> float:
    """Validate how often a state may, or must, be published."""
    seconds = validate.duration(value, key, LONGEST_INTERVAL)
    if seconds < SHORTEST_INTERVAL:
        raise Invalid(key, f"must be at least {SHORTEST_INTERVAL:g} s, got {validate.show(value)}")
    return seconds
