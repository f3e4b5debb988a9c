"""Read the config file's [alerts] table: the device's name, where to notify, and the rules.

Part of reading the config file (configfile.py calls parse_alerts and uses its helpers, so errors
read like every other: the file, the key, the problem). Notification URLs carry secrets (tokens,
passwords): no message here ever quotes one, only its position and scheme.

    [alerts]
    device_name = "Greenhouse"
    dashboard_url = "http://greenhouse.local:8080/"
    notify = ["ntfy://ntfy.example/greenhouse-frost", "json://hooks.example:8000/frost"]

    [alerts.rules.frost]          # a built-in rule: change any key, or enabled = false
    for = "10m"

    [alerts.rules.cellar_damp]    # a rule of your own
    sensors = ["sht3x-i2c-1-44/humidity1"]
    above = 85
    for = "30m"
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, replace
from typing import Any

from ..configfile import (
    KeyPath,
    _did_you_mean,
    _Invalid,
    _number,
    _pattern,
    _reject_unknown,
    _show,
    _table,
    _text,
)
from ..model import UNITS
from .rules import (
    BUILTIN_RULES,
    HIGH_LIMIT_NAMES,
    LOW_LIMIT_NAMES,
    RULE_STATUSES,
    SAMPLING_STOPPED,
    SEVERITIES,
    AlertRule,
)

ALERTS_KEYS = ("device_name", "dashboard_url", "notify", "rules")
RULE_KEYS = ("enabled", "sensors", "kinds", "above", "below", "status", "for", "hysteresis", "stale_after", "severity")
RULE_NAME = re.compile(r"[a-z0-9_]{1,40}")
MAX_TARGETS = 16
MAX_HOLD = 7 * 86400.0  # s: a week; `for` longer than that is a typo
DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")
URL_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
DEFAULT_DEVICE_NAME = "FrostServer"
KINDS = ("temperature", *sorted(set(UNITS) - {"temperature"}))  # the likeliest first, for the example


@dataclass(frozen=True)
class AlertsConfig:
    """The [alerts] table, validated, with the built-in rules merged in."""

    device_name: str = DEFAULT_DEVICE_NAME
    dashboard_url: str | None = None
    targets: tuple[str, ...] = ()  # Apprise URLs: secrets, never logged or shown whole
    rules: tuple[AlertRule, ...] = BUILTIN_RULES

    @property
    def enabled_rules(self) -> tuple[AlertRule, ...]:
        """Return the rules that are on."""
        return tuple(rule for rule in self.rules if rule.enabled)


def parse_alerts(value: Any) -> AlertsConfig:
    """Parse the [alerts] table (absent: the built-in rules, no notification targets)."""
    key: KeyPath = ("alerts",)
    table = _table(value, key)
    _reject_unknown(table, ALERTS_KEYS, key)
    device_name = _text(table.get("device_name", DEFAULT_DEVICE_NAME), (*key, "device_name"), 64)
    dashboard_url = table.get("dashboard_url")
    if dashboard_url is not None:
        dashboard_url = _parse_dashboard_url(dashboard_url, (*key, "dashboard_url"))
    targets = _parse_targets(table.get("notify", []), (*key, "notify"))
    rules = _parse_rules(table.get("rules", {}), (*key, "rules"))
    return AlertsConfig(device_name, dashboard_url, targets, rules)


def parse_duration(value: Any, key: KeyPath) -> float:
    """Return a duration in seconds: a number of seconds, or a string like "90s", "5m", "1h30m"."""
    seconds: float | None = None
    if isinstance(value, str):
        match = DURATION.fullmatch(value.strip())
        if match and any(match.groups()):
            hours, minutes, secs = (float(group or 0) for group in match.groups())
            seconds = hours * 3600 + minutes * 60 + secs
    elif not isinstance(value, bool) and isinstance(value, (int, float)):
        seconds = float(value)
    if seconds is None or not 0 <= seconds <= MAX_HOLD:
        raise _Invalid(key, f'must be a duration like "90s", "5m" or "1h30m" (at most 7 days), got {_show(value)}')
    return seconds


def display_target(url: str) -> str:
    """Show a notification URL without its secrets: the scheme, and the host of plain webhooks."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() in {"json", "jsons", "xml", "xmls", "form", "forms"}:
        # A generic webhook's host is an address, not a token: show it so two can be told apart.
        host = urllib.parse.urlsplit(f"http://{rest}").hostname or ""
        return f"{scheme}://{host}/…"
    return f"{scheme}://…"


def _parse_dashboard_url(value: Any, key: KeyPath) -> str:
    text = _text(value, key, 200)
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Invalid(key, f"must be an http:// or https:// URL like 'http://greenhouse.local:8080/', got {text!r}")
    return text


def _parse_targets(value: Any, key: KeyPath) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid(key, 'must be a list of notification URLs like ["ntfy://ntfy.example/topic"]')
    if len(value) > MAX_TARGETS:
        raise _Invalid(key, f"at most {MAX_TARGETS} targets, got {len(value)}")
    return tuple(_parse_target(url, (*key, index)) for index, url in enumerate(value))


def _parse_target(value: Any, key: KeyPath) -> str:
    # Apprise knows each service's URL form; it is imported only by the notifier, which reports
    # the URLs it cannot use. Here, the shape every one of them has, without quoting the secret.
    if not isinstance(value, str):
        raise _Invalid(key, "must be a notification URL string like 'ntfy://ntfy.example/topic'")
    scheme, separator, rest = value.partition("://")
    if not separator or not URL_SCHEME.fullmatch(scheme.lower()):
        raise _Invalid(key, "must be a notification URL like 'ntfy://ntfy.example/topic' (scheme://...)")
    if not rest or any(char.isspace() or char in "\0" for char in value) or len(value) > 2048:
        raise _Invalid(key, f"a {scheme}:// URL with nothing after '://', spaces or control characters")
    return value


def _parse_rules(value: Any, key: KeyPath) -> tuple[AlertRule, ...]:
    table = _table(value, key)
    builtins = {rule.name: rule for rule in BUILTIN_RULES}
    rules = dict(builtins)
    for name, body in table.items():
        rule_key = (*key, name)
        if not RULE_NAME.fullmatch(name):
            raise _Invalid(rule_key, "a rule name is 1 to 40 lowercase letters, digits or '_'")
        rules[name] = _parse_rule(name, _table(body, rule_key), builtins.get(name), rule_key)
    return tuple(rules.values())


def _parse_rule(name: str, body: dict[str, Any], builtin: AlertRule | None, key: KeyPath) -> AlertRule:
    _reject_unknown(body, RULE_KEYS, key)
    if builtin is not None and builtin.device_wide:
        extra = sorted(set(body) - {"enabled", "for", "severity"})
        if extra:
            raise _Invalid(
                (*key, extra[0]), f"{SAMPLING_STOPPED} judges the device, not sensors: set only enabled, for"
            )
    changes: dict[str, Any] = {}
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise _Invalid((*key, "enabled"), f"must be true or false, got {_show(body['enabled'])}")
        changes["enabled"] = body["enabled"]
    if "sensors" in body:
        changes["sensors"] = _sensor_patterns(body["sensors"], (*key, "sensors"))
    if "kinds" in body:
        changes["kinds"] = _choices(body["kinds"], (*key, "kinds"), KINDS, "kinds")
    condition = [name for name in ("above", "below", "status") if name in body]
    if len(condition) > 1:
        raise _Invalid(
            (*key, condition[1]), f"a rule has one condition: set one of above, below, status, not {condition}"
        )
    if condition:
        # A new condition replaces the built-in's whole condition.
        changes.update(above=None, below=None, statuses=())
        which = condition[0]
        if which == "status":
            changes["statuses"] = _choices(body["status"], (*key, "status"), RULE_STATUSES, "statuses")
        else:
            names = HIGH_LIMIT_NAMES if which == "above" else LOW_LIMIT_NAMES
            changes[which] = _limit(body[which], names, (*key, which))
    if "for" in body:
        changes["hold"] = parse_duration(body["for"], (*key, "for"))
    if "hysteresis" in body:
        changes["hysteresis"] = _number(body["hysteresis"], (*key, "hysteresis"), 0, 1000)
    if "stale_after" in body:
        stale_after = _number(body["stale_after"], (*key, "stale_after"), 1, 100000)
        if stale_after != int(stale_after):
            raise _Invalid((*key, "stale_after"), f"must be a whole number of sampling intervals, got {stale_after:g}")
        changes["stale_after"] = int(stale_after)
    if "severity" in body:
        severity = body["severity"]
        if severity not in SEVERITIES:
            raise _Invalid((*key, "severity"), f"must be one of {', '.join(SEVERITIES)}, got {_show(severity)}")
        changes["severity"] = severity
    rule = replace(builtin, **changes) if builtin is not None else AlertRule(name, **changes)
    if not rule.device_wide and rule.above is None and rule.below is None and not rule.statuses:
        raise _Invalid(key, "needs a condition: above = <number or limit>, below = ..., or status = [...]")
    return rule


def _sensor_patterns(value: Any, key: KeyPath) -> tuple[Any, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _Invalid(key, 'must be a list of sensor ids or globs like ["coretemp-*/temp*"]')
    return tuple(_pattern(glob, (*key, index)) for index, glob in enumerate(value))


def _choices(value: Any, key: KeyPath, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Validate a list of names from `allowed` (one name alone is a list of one)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _Invalid(key, f'must be a list of {what} like ["{allowed[0]}"] (of {", ".join(allowed)})')
    for index, name in enumerate(value):
        if name not in allowed:
            raise _Invalid((*key, index), f"must be one of {', '.join(allowed)}{_did_you_mean(name, allowed)}")
    return tuple(value)


def _limit(value: Any, names: tuple[str, ...], key: KeyPath) -> float | str:
    if isinstance(value, str):
        if value not in names:
            choices = ", ".join(names)
            raise _Invalid(key, f"must be a number or one of {choices}{_did_you_mean(value, names)}, got {value!r}")
        return value
    return _number(value, key)
