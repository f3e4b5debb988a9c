"""Decide each setting's value and where it came from; build the one typed Settings from them.

Sources, lowest precedence first:

- `default`: what settings.py declares (and the built-in alert rules);
- `file`: the TOML config file FROST_CONFIG names;
- `browser`: settings set in the browser (the settings store's layer, frostserver/settings/);
- `environment`: FROST_* variables, for the settings that are not the document's (paths, workers),
  and FROST_MQTT_URL, which Compose users set in `.env`: environment_layer gives it to the document
  as [mqtt] url, above the file (and the browser);
- `override`: values a test passes (create_app(test_config)); the app itself never passes any.

Every source of the document's keys is a Layer: a partial document of the config file's shape,
made by one function from the settings known so far (file_layer reads the file FROST_CONFIG
names). The layers are merged table by table, a later layer's value winning key by key; the
merged document is validated once by the schema modules, so a new source is one more function
in `layers`, never a change to a schema. A mistake is reported by the layer that gave the key
(ConfigError: where, key, problem), so it names the file, or the browser, whichever set it.

A tolerant layer (the browser's) never stops the app: a value of it that no longer validates with
the layers below (the file changed under it) is dropped from the merge, and Resolved.dropped says
which and why, for its owner to log and show. Two merge rules make a later layer's keys mean what a
person means by them: keys of one group replace each other (a rule's condition is one of above,
below or status; a sensor's calibration is an offset or two points), and a list of notification
targets adds to the one below rather than replacing it (the browser's targets join the file's).

lm-sensors' files are not a source here: their labels and computes are per chip and apply in the
reader (hwmon/configured.py), under the document's [relabel] and [thresholds].
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from .alerts import AlertsConfig, display_target
from .document import parse_document
from .errors import ConfigError, Invalid, KeyPath, SettingsError, dotted
from .mqtt import BROKER_KEYS, display_url
from .settings import (
    STREAM_THREAD_RESERVE,
    Settings,
    check_bounds,
    env_name,
    env_settings,
    field_of_key,
    file_numbers,
    parse_env,
)
from .toml_file import read_toml

# Keys whose values are secrets (notification URLs carry tokens, a broker's URL its password): never
# shown whole. Each is masked its own way (Setting.shown).
SECRET_KEYS = ("alerts.notify", "mqtt.url", "mqtt.password", "FROST_MQTT_URL")
BROKER_URL_KEYS = ("mqtt.url", "FROST_MQTT_URL")  # shown as scheme://host:port


class Source(StrEnum):
    """Where a setting's value came from."""

    DEFAULT = "default"
    FILE = "file"
    BROWSER = "browser"  # set in the browser: the settings store's layer (frostserver/settings/)
    ENVIRONMENT = "environment"
    OVERRIDE = "override"  # a test's value


@dataclass(frozen=True)
class Layer:
    """The values one source gives: a partial document shaped like the config file."""

    source: Source
    where: str  # how its mistakes begin: the config file's path
    document: Mapping[str, Any] = field(repr=False)  # may hold secrets
    tolerant: bool = False  # a mistake drops its key (Resolved.dropped) instead of refusing to run

    def error(self, key: KeyPath, problem: str) -> ConfigError:
        """Return the one-line error for a mistake at key, naming this layer."""
        return ConfigError(self.where, dotted(key) or None, problem)


@dataclass(frozen=True)
class Dropped:
    """A value of a tolerant layer left out because it no longer validates: where, which key, why."""

    source: Source
    key: KeyPath
    problem: str

    def __str__(self) -> str:
        return f"{dotted(self.key)}: {self.problem}"


# Keys of one group replace each other across layers: a layer that sets one drops the others below
# it. Paths with "*" match any one key (a rule's or a sensor's name).
EXCLUSIVE: tuple[tuple[tuple[str, ...], frozenset[str]], ...] = (
    (("alerts", "rules", "*"), frozenset({"above", "below", "status"})),
    (("customize", "*"), frozenset({"offset", "calibration"})),
    # The broker is one thing, wherever it is said: a layer that names one (FROST_MQTT_URL, the
    # browser's host) replaces the broker below whole, its user and password with it.
    (("mqtt",), frozenset(BROKER_KEYS)),
)
# Lists a later layer adds to instead of replacing: the browser's notification targets join the file's.
APPENDED = frozenset({("alerts", "notify")})
# Tables that are one value (a calibration's two points): a mistake inside drops the whole of it.
ATOMIC: tuple[tuple[str, ...], ...] = (("customize", "*", "calibration"),)


# Makes the layer of one source from the settings known before the layers (FROST_CONFIG, ...);
# None: that source has nothing to say.
LayerSource = Callable[[Settings], "Layer | None"]


def file_layer(settings: Settings) -> Layer | None:
    """Return the config file's layer, or None when no file is configured."""
    if settings.config is None:
        return None
    return Layer(Source.FILE, str(settings.config), read_toml(settings.config))


def environment_layer(settings: Settings) -> Layer | None:
    """Return FROST_MQTT_URL as the document's [mqtt] url, or None when it is unset.

    The other FROST_* variables set settings that are not the document's; this one sets a key of
    a table, so it is a layer: validated by the table's schema and blamed on the variable.
    """
    if settings.mqtt_url is None:
        return None
    return Layer(Source.ENVIRONMENT, "FROST_MQTT_URL", {"mqtt": {"url": settings.mqtt_url}})


DEFAULT_LAYERS: tuple[LayerSource, ...] = (file_layer, environment_layer)


@dataclass(frozen=True)
class Setting:
    """One key's value in force and where it came from."""

    key: str  # a document key, dotted as in TOML ("sampling.interval"), or a variable ("FROST_WORKERS")
    value: Any  # as its source gave it: the TOML value, or the variable parsed
    source: Source

    @property
    def secret(self) -> bool:
        """Tell whether the value is a secret (a notification URL)."""
        return any(self.key == key or self.key.startswith((f"{key}.", f"{key}[")) for key in SECRET_KEYS)

    @property
    def shown(self) -> Any:
        """Return the value fit to show anyone: secrets masked."""
        if not self.secret:
            return self.value
        if self.key in BROKER_URL_KEYS:
            return display_url(self.value)
        if self.key == "mqtt.password":
            return "…"
        if isinstance(self.value, list):
            return [display_target(url) if isinstance(url, str) else "…" for url in self.value]
        return display_target(self.value) if isinstance(self.value, str) else "…"

    def __repr__(self) -> str:
        return f"Setting({self.key!r}, {self.shown!r}, {self.source.value!r})"


@dataclass(frozen=True)
class Resolved:
    """Every setting's value and source, and the typed Settings built from them."""

    settings: Settings
    entries: Mapping[str, Setting]  # by key; a document key no source set is absent: its default applies
    layers: tuple[Layer, ...] = field(default=(), repr=False)  # lowest precedence first
    dropped: tuple[Dropped, ...] = ()  # values of tolerant layers left out, and why
    merged: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the document validated (secrets too)

    def __getitem__(self, key: str) -> Setting:
        return self.entries[key]

    def source_of(self, key: str) -> Source:
        """Return where a key's value comes from: its own entry, a table set as a whole, else the default."""
        if key in self.entries:
            return self.entries[key].source
        for entry in self.entries.values():
            if key.startswith((f"{entry.key}.", f"{entry.key}[")):
                return entry.source
        return Source.DEFAULT


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None, *, read_file: bool = True
) -> Settings:
    """Build Settings from FROST_* variables, the config file they name, then overrides (tests).

    read_file=False: the environment and overrides only (Gunicorn's own settings need no file).
    """
    return resolve(environ, overrides, layers=DEFAULT_LAYERS if read_file else ()).settings


def resolve(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    layers: Sequence[LayerSource] = DEFAULT_LAYERS,
) -> Resolved:
    """Resolve every setting from the environment, the layers (lowest first) and the overrides."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    early = from_environment(environ)
    sources = dict.fromkeys(early, Source.ENVIRONMENT)
    early.update(overrides)
    sources.update(dict.fromkeys(overrides, Source.OVERRIDE))
    known = Settings(**early)
    found = tuple(layer for make in layers if (layer := make(known)) is not None)
    dropped: list[Dropped] = []
    while True:
        merged, origin = merge(found)
        try:
            document = parse_document(merged, file_numbers())
            break
        except Invalid as invalid:
            key, layer = blame_mistake(found, origin, invalid)
            if not layer.tolerant:
                raise layer.error(key, invalid.problem) from None
            # Each turn removes at least one key of a finite document: this ends.
            gone = dropped_key(layer.document, key)
            if not gone:  # the mistake is not this layer's to drop (a bug, or the defaults)
                raise layer.error(key, invalid.problem) from None
            trimmed = Layer(layer.source, layer.where, without(layer.document, key), tolerant=True)
            dropped.append(Dropped(layer.source, gone, invalid.problem))
            found = tuple(trimmed if known_layer is layer else known_layer for known_layer in found)
    by_key = field_of_key()
    values: dict[str, Any] = {by_key[key]: number for key, number in document.numbers.items()}
    values.update(
        sensors=document.sensors,
        sensor_overrides=document.sensor_overrides,
        access=document.access,
        derived=document.derived,
        forecast=document.forecast,
        device=document.device,
        # The notifier's texts name the device: the same name wherever it was said.
        alerts=document.alerts or AlertsConfig(device_name=document.device.name),
    )
    if document.mqtt is not None:
        values["mqtt"] = document.mqtt
    values.update(early)
    settings = Settings(**values)
    check_bounds(settings)
    if settings.max_streams == 0:
        settings = replace(settings, max_streams=settings.threads - STREAM_THREAD_RESERVE)
    entries = {entry.key: entry for entry in describe(settings, sources, merged, origin)}
    return Resolved(settings, MappingProxyType(entries), found, tuple(dropped), merged)


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the settings FROST_* variables set, parsed (an empty variable sets nothing)."""
    types = {f.name: str(f.type) for f in fields(Settings)}
    values: dict[str, Any] = {}
    for name in env_settings():
        raw = environ.get(env_name(name))
        if raw is not None and raw != "":
            values[name] = parse_env(name, types[name], raw)
    return values


def merge(layers: Sequence[Layer]) -> tuple[dict[str, Any], dict[tuple[str, ...], Layer]]:
    """Merge the layers' documents, tables key by key, later layers winning; say which layer gave each leaf."""
    merged: dict[str, Any] = {}
    origin: dict[tuple[str, ...], Layer] = {}
    for layer in layers:
        merge_table(merged, layer.document, (), layer, origin)
    return merged, origin


def merge_table(
    into: dict[str, Any], table: Mapping[str, Any], path: tuple[str, ...], layer: Layer, origin: dict[Any, Layer]
) -> None:
    """Merge one table of a layer into the merged document, recording the origin of what it sets."""
    for group in exclusive_groups(path):
        if group & table.keys():
            for name in group - table.keys():
                if name in into:
                    del into[name]  # replaced by its group's key this layer sets
                    forget(origin, (*path, name))
    for name, value in table.items():
        here = (*path, name)
        below = into.get(name)
        if here in APPENDED and isinstance(value, list) and isinstance(below, list):
            into[name] = below + [item for item in value if item not in below]
            origin[here] = layer
            continue
        if isinstance(value, dict):
            if not isinstance(below, dict):
                origin.pop(here, None)  # a value below becomes a table
                into[name] = {}
            if not value:
                origin[here] = layer  # an empty table is set too: a mistake in it is this layer's
            merge_table(into[name], value, here, layer, origin)
        else:
            if isinstance(below, dict):
                forget(origin, here)  # a whole table below becomes one value (a mistake, mostly)
            into[name] = value
            origin[here] = layer


def exclusive_groups(path: tuple[str, ...]) -> list[frozenset[str]]:
    """Return the groups of keys that replace each other in the table at path (EXCLUSIVE)."""
    return [group for pattern, group in EXCLUSIVE if matches(pattern, path)]


def without(document: Mapping[str, Any], key: KeyPath) -> dict[str, Any]:
    """Return a copy of a layer's document without the value dropped_key names; tables left empty go too."""
    return _without(document, dropped_key(document, key))


def _without(table: Mapping[str, Any], path: KeyPath) -> dict[str, Any]:
    copy = dict(table)  # copied along the path only: the layer's own document is never changed
    if not path or path[0] not in copy:
        return copy
    head, rest = path[0], path[1:]
    if rest and isinstance(copy[head], Mapping):
        copy[head] = _without(copy[head], rest)
        if copy[head]:
            return copy
    del copy[head]  # the value itself, or a table the removal left empty
    return copy


def dropped_key(document: Mapping[str, Any], key: KeyPath) -> KeyPath:
    """Return the key of a layer's document a mistake at key drops: the deepest the layer has (a list whole)."""
    found: list[str] = []
    table: Any = document
    for part in key:
        if not isinstance(part, str) or not isinstance(table, Mapping) or part not in table:
            break
        found.append(part)
        table = table[part]
        if any(matches(pattern, tuple(found)) for pattern in ATOMIC):
            break
    return tuple(found)


def matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """Tell whether a key path matches a pattern whose "*" parts match any one key."""
    return len(pattern) == len(path) and all(p in ("*", part) for p, part in zip(pattern, path, strict=True))


def forget(origin: dict[Any, Layer], path: tuple[str, ...]) -> None:
    """Drop the origin of path and of everything under it."""
    for known in [known for known in origin if known[: len(path)] == path]:
        del origin[known]


def blame_mistake(
    layers: Sequence[Layer], origin: Mapping[tuple[str, ...], Layer], invalid: Invalid
) -> tuple[KeyPath, Layer]:
    """Return the key and the layer a mistake belongs to: of its key and related ones, the latest layer's."""
    rank = {id(layer): index for index, layer in enumerate(layers)}
    candidates = [(key, blame(layers, origin, key)) for key in (invalid.key, *invalid.related)]
    return max(candidates, key=lambda found: rank.get(id(found[1]), -1))


def blame(layers: Sequence[Layer], origin: Mapping[tuple[str, ...], Layer], key: KeyPath) -> Layer:
    """Return the layer a mistake at key belongs to: the one that set it, else the nearest that set around it."""
    rank = {id(layer): index for index, layer in enumerate(layers)}
    for size in range(len(key), 0, -1):
        prefix = key[:size]
        if prefix in origin:
            return origin[prefix]  # type: ignore[index]  # a prefix of str parts
        near = [layer for path, layer in origin.items() if path[:size] == prefix]
        if near:
            return max(near, key=lambda layer: rank[id(layer)])
    if not layers:
        # The defaults are valid: no layer, no mistake. Say so rather than blame nobody.
        raise SettingsError(f"{dotted(key)}: the built-in defaults are invalid (a bug)")
    return layers[-1]


def describe(
    settings: Settings,
    sources: Mapping[str, Source],
    merged: Mapping[str, Any],
    origin: Mapping[tuple[str, ...], Layer],
) -> Iterator[Setting]:
    """Yield each setting's entry: the variables, the document's numbers, then every other key a layer set."""
    overridden_tables: set[str] = set()
    for declared in fields(Settings):
        name, key, tables = declared.name, declared.metadata.get("key"), declared.metadata.get("tables")
        value = getattr(settings, name)
        if declared.metadata.get("env"):
            yield Setting(env_name(name), value, sources.get(name, Source.DEFAULT))
        elif key is not None:
            layer = origin.get(tuple(key.split(".")))
            yield Setting(key, value, sources.get(name) or (layer.source if layer else Source.DEFAULT))
        elif tables and name in sources:
            # A test's object replaces whole tables: their keys are its.
            overridden_tables.update(tables)
            yield from (Setting(table, value, sources[name]) for table in tables)
    numbers = set(field_of_key())
    for path, layer in origin.items():
        value = value_at(merged, path)
        if path[0] in overridden_tables or dotted(path) in numbers or isinstance(value, dict):
            continue
        yield Setting(dotted(path), value, layer.source)


def value_at(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """Return the value at a key path of the merged document."""
    value: Any = document
    for part in path:
        value = value[part]
    return value
