"""[alerts]: the device's name, its dashboard's address, where to notify, and the rules (alert_rules.py).

Notification URLs carry secrets (tokens, passwords): no message here ever quotes one, only its
position and scheme, and display_target() is the one way to show one.

    [alerts]
    device_name = "Greenhouse"
    dashboard_url = "http://greenhouse.local:8080/"
    notify = ["ntfy://ntfy.example/greenhouse-frost", "json://hooks.example:8000/frost"]
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from . import validate
from .alert_rules import BUILTIN_RULES, AlertRule, parse_rules
from .errors import Invalid, KeyPath

ALERTS_KEYS = ("device_name", "dashboard_url", "notify", "rules")
MAX_TARGETS = 16
URL_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
DEFAULT_DEVICE_NAME = "FrostServer"
# Generic webhooks: their host is an address, not a token, so it may be shown.
WEBHOOK_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})


@dataclass(frozen=True)
class AlertsConfig:
    """The [alerts] table, validated, with the built-in rules merged in."""

    device_name: str = DEFAULT_DEVICE_NAME
    dashboard_url: str | None = None
    # Apprise URLs: secrets, never logged or shown whole; out of repr, so that no log line or
    # traceback that prints a Settings or an AlertsConfig carries them.
    targets: tuple[str, ...] = field(default=(), repr=False)
    rules: tuple[AlertRule, ...] = BUILTIN_RULES

    @property
    def enabled_rules(self) -> tuple[AlertRule, ...]:
        """Return the rules that are on."""
        return tuple(rule for rule in self.rules if rule.enabled)


def parse_alerts(value: Any) -> AlertsConfig:
    """Parse the [alerts] table (absent: the built-in rules, no notification targets)."""
    key: KeyPath = ("alerts",)
    body = validate.table(value, key)
    validate.reject_unknown(body, ALERTS_KEYS, key)
    device_name = validate.text(body.get("device_name", DEFAULT_DEVICE_NAME), (*key, "device_name"), 64)
    dashboard_url = body.get("dashboard_url")
    if dashboard_url is not None:
        dashboard_url = parse_dashboard_url(dashboard_url, (*key, "dashboard_url"))
    targets = parse_targets(body.get("notify", []), (*key, "notify"))
    rules = parse_rules(body.get("rules", {}), (*key, "rules"))
    return AlertsConfig(device_name, dashboard_url, targets, rules)


def display_target(url: str) -> str:
    """Show a notification URL without its secrets: the scheme, and the host of plain webhooks."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() in WEBHOOK_SCHEMES:
        # A generic webhook's host is an address, not a token: show it so two can be told apart.
        host = urllib.parse.urlsplit(f"http://{rest}").hostname or ""
        return f"{scheme}://{host}/…"
    return f"{scheme}://…"


def parse_dashboard_url(value: Any, key: KeyPath) -> str:
    """Validate the dashboard's address that notifications link to."""
    url = validate.text(value, key, 200)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid(key, f"must be an http:// or https:// URL like 'http://greenhouse.local:8080/', got {url!r}")
    return url


def parse_targets(value: Any, key: KeyPath) -> tuple[str, ...]:
    """Validate the list of notification URLs."""
    if not isinstance(value, list):
        raise Invalid(key, 'must be a list of notification URLs like ["ntfy://ntfy.example/topic"]')
    if len(value) > MAX_TARGETS:
        raise Invalid(key, f"at most {MAX_TARGETS} targets, got {len(value)}")
    return tuple(parse_target(url, (*key, index)) for index, url in enumerate(value))


def parse_target(value: Any, key: KeyPath) -> str:
    """Validate one notification URL's shape, never quoting it (it holds a secret)."""
    # Apprise knows each service's URL form; it is imported only by the notifier, which reports
    # the URLs it cannot use. Here, the shape every one of them has, without quoting the secret.
    if not isinstance(value, str):
        raise Invalid(key, "must be a notification URL string like 'ntfy://ntfy.example/topic'")
    scheme, separator, rest = value.partition("://")
    if not separator or not URL_SCHEME.fullmatch(scheme.lower()):
        raise Invalid(key, "must be a notification URL like 'ntfy://ntfy.example/topic' (scheme://...)")
    if not rest or any(char.isspace() or char in "\0" for char in value) or len(value) > 2048:
        raise Invalid(key, f"a {scheme}:// URL with nothing after '://', spaces or control characters")
    return value
