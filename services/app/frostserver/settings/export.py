"""The settings as a TOML file the config file accepts: export (GET /api/v1/settings/export) and import.

An export holds every setting in force that the browser can set too, whether the config file or
the browser set it: frost_threshold, [device], [customize."<id>"] (with [relabel]'s names as
labels), [alerts.rules.<name>], [mqtt], [forecast] and [derived.<name>]. Notification targets and
the broker's password are left out, with a comment saying so: they are secrets (a broker url is
written as host, port, tls and username). A broker FROST_MQTT_URL sets is the environment's, not
the file's or the browser's: [mqtt] is then left out, with a comment. A device can be copied to
another, or kept in git, by importing it.

An import is read with tomllib, checked to hold only those tables (and [alerts] notify, which then
replaces the targets added in the browser), then resolved above the config file exactly as a
change from the browser is (changes.py): a mistake is a 400 naming its key and line. It replaces
the browser's layer whole, in one transaction. An export imported again on its own device keeps
its broker's password (same_broker_keeps_password): the export could not hold it.

Written with tomli-w (pure Python, one module): tomllib reads TOML but does not write it, and
quoting a label a person typed (quotes, backslashes, control characters, any script) is the part a
small writer of our own would most likely get wrong.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import tomli_w

from ..config import SettingsError, Source
from ..config.errors import KeyPath as ConfigKey
from ..config.errors import dotted
from ..config.mqtt import BROKER_KEYS, DEFAULT_PORTS
from ..config.resolve import ATOMIC, matches
from .changes import BadField, field_of
from .live import Current, LiveSettings
from .store import Edit, KeyPath, Snapshot, Target, Touch

MAX_IMPORT_BYTES = 256 * 1024  # a device with hundreds of customized sensors is a few tens of KiB
ALLOWED = {
    "frost_threshold": None,
    "device": None,
    "customize": None,
    "alerts": {"rules": None, "notify": None},
    "mqtt": None,
    "forecast": None,
    "derived": None,
}
ONLY_IN_FILE = (
    "is set only in the config file (it takes a restart); an import holds frost_threshold, [device], "
    '[customize."<id>"], [alerts.rules.<name>], [alerts] notify, [mqtt], [forecast] and [derived.<name>]'
)
PASSWORD_LEFT_OUT = (
    "# [mqtt] password is left out: it is a secret. Set it again in the settings page, or in the config file."
)
ENVIRONMENT_BROKER = "# [mqtt] is left out: FROST_MQTT_URL in the environment sets the broker (the .env file keeps it)."


def export_document(current: Current) -> dict[str, Any]:
    """Return what an export holds: the browser-settable part of the document in force, secrets out."""
    merged = current.resolved.merged
    settings = current.settings
    out: dict[str, Any] = {}
    if "frost_threshold" in merged:
        out["frost_threshold"] = merged["frost_threshold"]
    device = dict(merged.get("device", {}))
    if "name" not in device and settings.device.name != "FrostServer":
        device["name"] = settings.device.name  # said as [alerts] device_name: [device] name says it now
    if device:
        out["device"] = device
    customize = {sensor_id: dict(table) for sensor_id, table in merged.get("customize", {}).items()}
    for sensor_id, label in settings.sensor_overrides.relabel.items():
        customize.setdefault(sensor_id, {}).setdefault("label", label)
    if customize:
        out["customize"] = dict(sorted(customize.items()))
    rules = merged.get("alerts", {}).get("rules", {})
    if rules:
        out["alerts"] = {"rules": rules}
    for table in ("forecast", "derived"):
        if merged.get(table):
            out[table] = merged[table]
    mqtt = exported_mqtt(current)
    if mqtt:
        out["mqtt"] = mqtt
    return out


def exported_mqtt(current: Current) -> dict[str, Any]:
    """Return [mqtt] as an export holds it: no password, a url as host, port, tls and username; {}: none."""
    if current.resolved.source_of("mqtt.url") is Source.ENVIRONMENT or current.settings.mqtt is None:
        return {}
    mqtt = {name: value for name, value in current.resolved.merged.get("mqtt", {}).items() if name != "password"}
    if "url" in mqtt:
        del mqtt["url"]
        config = current.settings.mqtt
        mqtt.update(host=config.host, port=config.port, tls=config.tls)
        if config.username is not None:
            mqtt["username"] = config.username
    return mqtt


def export_text(current: Current, clock: Callable[[], float] = time.time) -> str:
    """Return the export as TOML text, with a header of comments (what it is, what it leaves out)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock()))
    header = [
        f"# FrostServer settings, exported {stamp} at settings revision {current.revision}.",
        "# Import it in the settings page (or POST /api/v1/settings/import), or put it in the config file.",
        "# Notification targets are left out: their URLs hold secrets. Add them again in the settings page,",
        "# or as [alerts] notify = [...] in the config file.",
    ]
    if current.settings.mqtt is not None and current.resolved.source_of("mqtt.url") is Source.ENVIRONMENT:
        header.append(ENVIRONMENT_BROKER)
    elif current.settings.mqtt is not None and current.settings.mqtt.password is not None:
        header.append(PASSWORD_LEFT_OUT)
    if current.settings.sensor_overrides.thresholds:
        header.append("# [thresholds] of the config file is not exported: its patterns stay in the config file.")
    return "\n".join(header) + "\n\n" + tomli_w.dumps(export_document(current))


# --- import ------------------------------------------------------------------------------------


def read_import(text: str) -> dict[str, Any]:
    """Parse an import's TOML and check its tables (BadField naming the key and line)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BadField("body", f"invalid TOML: {error}") from None
    for key, allowed in walk_allowed(document, ALLOWED, ()):
        if not allowed:
            where = dotted(key)
            raise BadField(where, f"{where}{line_words(text, key)}: {ONLY_IN_FILE}")
    return document


def walk_allowed(table: Mapping[str, Any], allowed: Mapping[str, Any], path: KeyPath) -> Iterator[tuple[KeyPath, bool]]:
    """Yield each key of the table down to the allowed tables, and whether an import may hold it."""
    for name, value in table.items():
        key = (*path, name)
        if name not in allowed:
            yield key, False
        elif allowed[name] is not None and isinstance(value, dict):
            yield from walk_allowed(value, allowed[name], key)
        else:
            yield key, True


def entries_of(document: Mapping[str, Any], path: KeyPath = ()) -> dict[KeyPath, Any]:
    """Flatten an import into the browser layer's entries: leaves, lists and one-value tables whole."""
    found: dict[KeyPath, Any] = {}
    for name, value in document.items():
        key = (*path, name)
        if key == ("alerts", "notify"):
            continue  # targets are rows of their own
        if isinstance(value, dict) and not any(matches(pattern, key) for pattern in ATOMIC):
            found.update(entries_of(value, key))
        else:
            found[key] = value
    return found


def import_plan(live: LiveSettings, document: Mapping[str, Any], text: str) -> Callable[[Snapshot], Edit]:
    """Return the store's plan that replaces the browser's layer with an import, checked against the file."""
    imported = entries_of(document)
    alerts = document.get("alerts")
    notify = alerts.get("notify") if isinstance(alerts, dict) else None
    if notify is not None and (not isinstance(notify, list) or not all(isinstance(url, str) for url in notify)):
        where = line_words(text, ("alerts", "notify"))
        raise BadField("alerts.notify", f"alerts.notify{where}: must be a list of notification URLs")
    targets = None if notify is None else list(notify)

    def make(snapshot: Snapshot) -> Edit:
        entries = same_broker_keeps_password(dict(imported), live, snapshot)
        candidate = replace(
            snapshot,
            entries=MappingProxyType(entries),
            targets=snapshot.targets if targets is None else tuple(Target(0, url) for url in targets),
        )
        try:
            current = live.candidate(candidate)
        except SettingsError as error:
            raise BadField("body", str(error)) from None
        if current.resolved.dropped:
            dropped = current.resolved.dropped[0]
            where = dotted(dropped.key)
            raise BadField(where, f"{where}{line_words(text, dropped.key)}: {dropped.problem}")
        for key, value in entries.items():
            try:
                json.dumps(value, allow_nan=False)  # what settings.db keeps: a date or a NaN nothing checked
            except (TypeError, ValueError):
                where = dotted(key)
                raise BadField(where, f"{where}{line_words(text, key)}: not a value the settings can keep") from None
        old = dict(snapshot.entries)
        touched = [touch_of(key) for key in sorted(set(old) | set(entries)) if old.get(key) != entries.get(key)]
        if targets is not None and sorted(targets) != sorted(target.url for target in snapshot.targets):
            touched.append(Touch("targets", "", "notify"))
        return Edit(set=entries, replace_entries=True, replace_targets=targets, touched=touched)

    return make


def same_broker_keeps_password(
    entries: dict[KeyPath, Any], live: LiveSettings, snapshot: Snapshot
) -> dict[KeyPath, Any]:
    """Keep the password of the broker an import names without one (an export never holds it).

    An export of this very device, imported again, names its broker without the password: left as
    it is, it would replace the broker in force (resolve.py) and lose the password. The config
    file's broker: its keys are dropped from the import (the file's apply, password and all); the
    browser's: its password is kept.
    """
    said = {name: entries[("mqtt", name)] for name in BROKER_KEYS if ("mqtt", name) in entries}
    if not said or "password" in said or "url" in said:
        return entries
    tls = said.get("tls", False)
    named = (said.get("host"), said.get("port", DEFAULT_PORTS.get(tls, 1883)), tls, said.get("username"))
    in_file = live.file.settings.mqtt
    file_broker = None if in_file is None else (in_file.host, in_file.port, in_file.tls, in_file.username)
    if in_file is not None and in_file.password is not None and named == file_broker:
        return {key: value for key, value in entries.items() if not (key[0] == "mqtt" and key[1] in BROKER_KEYS)}
    password = snapshot.entries.get(("mqtt", "password"))
    current = {name: snapshot.entries.get(("mqtt", name)) for name in ("host", "port", "tls", "username")}
    if password is not None and named == (
        current["host"],
        current["port"] or DEFAULT_PORTS.get(bool(current["tls"]), 1883),
        bool(current["tls"]),
        current["username"],
    ):
        return {**entries, ("mqtt", "password"): password}
    return entries


def touch_of(key: KeyPath) -> Touch:
    """Return what a key's change touches: the sensor, the rule or the device it belongs to."""
    if key[0] == "customize" and len(key) > 2:
        return Touch("sensor", key[1], field_of(key))
    if key[0] == "alerts" and len(key) > 3:
        return Touch("rule", key[2], field_of(key))
    if key[0] == "derived" and len(key) > 2:
        return Touch("derived", key[1], field_of(key))
    return Touch("device", "", field_of(key))


_HEADER = re.compile(r"\s*\[\[?([^\]]*)\]\]?\s*(?:#.*)?$")
_BARE_OR_QUOTED = r"(?:[A-Za-z0-9_-]+|\"(?:[^\"\\]|\\.)*\"|'[^']*')"
_ASSIGN = re.compile(rf"\s*({_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*)\s*=")
_PART = re.compile(rf"\s*({_BARE_OR_QUOTED})\s*(\.|$)")


def split_key(text: str) -> KeyPath | None:
    """Split a TOML dotted key (a.b."c.d") into its parts; None when it is not one."""
    parts: list[str] = []
    position = 0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            return None
        part = match.group(1)
        if part.startswith('"'):
            try:
                part = tomllib.loads(f"k = {part}")["k"]  # TOML's own unescaping
            except tomllib.TOMLDecodeError:
                return None
        elif part.startswith("'"):
            part = part[1:-1]
        parts.append(part)
        position = match.end()
        if not match.group(2):
            break
    return tuple(parts)


def line_of(text: str, key: ConfigKey) -> int | None:
    """Return the line of an import that sets a key (or the table holding it), best effort; None if not found."""
    wanted = tuple(part for part in key if isinstance(part, str))
    table: KeyPath = ()
    best: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header is not None:
            table = split_key(header.group(1)) or ()
            if wanted[: len(table)] == table and table:
                best = number
            continue
        assign = _ASSIGN.match(line)
        if assign is not None:
            path = (*table, *(split_key(assign.group(1)) or ()))
            if wanted[: len(path)] == path:
                return number
    return best


def line_words(text: str, key: ConfigKey) -> str:
    """Return " (line N)" for a key of an import, or "" when its line cannot be told."""
    line = line_of(text, key)
    return "" if line is None else f" (line {line})"
