"""The publisher: Home Assistant's discovery and the device's states, from the store to the broker.

One loop, one thread (Publisher.run): once a POLL it looks at the store (the newest sample, the
alerts journal, sampling_stopped) and puts what is due into the outbox; between looks it hands the
outbox to the broker and moves the connection along (connection.py). It only reads what the
sampler wrote, as the workers and the notifier do, so a broker that is slow or away never reaches
the sampler.

What it publishes (discovery.py says each payload and where HA's schema says so):
- the configs of one `sensor` per shown sensor, one `binary_sensor` per enabled alert rule and the
  frost threshold's `sensor`, each again when it changes (a rename: the same unique id, a new
  name), and all of them on every (re)connection and when HA announces itself on its birth topic
  (`<prefix>/status` = "online", not retained: a retained one is an old announcement);
- "online" on the availability topic (retained), after the configs; the last will says "offline";
- the states (retained, so an entity HA makes later still gets one), as schedule.py decides;
- an empty retained config (and state) for an entity that is gone: a sensor absent from the newest
  samples for REMOVE_AFTER seconds, or a config of this device that no current entity has, found
  by subscribing to the device's own config topics (one the broker keeps from before, or one
  another client published), once it has been there REMOVE_AFTER seconds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..alerts.journal import JOURNAL_FILE, JournalView, decode_view, journal_directory
from ..alerts.sampling_stopped import SamplingJudge
from ..config import Settings
from ..config.alert_rules import SAMPLING_STOPPED, AlertRule
from ..config.device import CELSIUS
from ..config.mqtt import MAX_INTERVAL, MIN_INTERVAL, MqttConfig
from ..logs import RepeatLimiter
from ..model import FrostForecast, Sample, Sensor
from ..store.files import DecodedFile, FileIdentity, write_atomically
from ..store.reader import StoreReader
from ..units import CELSIUS_UNIT
from . import status as mqtt_status
from .device import board_model, device_id
from .discovery import (
    AVAILABLE,
    NOT_AVAILABLE,
    OFF,
    ON,
    Device,
    Entity,
    Topics,
    alert_entity,
    frost_eta_entity,
    frost_eta_object_id,
    object_id,
    sensor_entity,
    shown,
    state_text,
    threshold_entity,
    timestamp_text,
)
from .outbox import Message, Outbox
from .schedule import StateSchedule
from .status import MqttStatus

if TYPE_CHECKING:  # imported when a broker is set (follow): paho-mqtt and ssl cost an idle publisher ~4 MB
    from .connection import BrokerConnection

log = logging.getLogger("frostserver.mqtt")
repeats = RepeatLimiter(log)  # what can go wrong at every look is said once every 5 minutes

POLL = 1.0  # s between looks at the store
REMOVE_AFTER = 30.0  # s a sensor must be absent from the samples before its entity is removed
MAX_IN_FLIGHT = 64  # messages handed to the client and not yet acknowledged
COMPONENTS = ("sensor", "binary_sensor")

Clock = Callable[[], float]
ConnectionFactory = Callable[..., "BrokerConnection"]


class Publisher:
    """Publish one device's discovery and states to the broker the settings in force name (see the module)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        connect: ConnectionFactory | None = None,
        in_force: Callable[[], Settings] | None = None,
    ):
        """settings: those at the start; in_force: the settings in force now (LiveSettings'), asked at every look.

        connect: makes the broker connection (None: connection.BrokerConnection, paho-mqtt's).
        """
        self.settings = settings
        self.in_force: Callable[[], Settings] = in_force if in_force is not None else (lambda: settings)
        self.clock, self.wall = clock, wall
        self.connect = connect
        self.kept_in = settings.history_dir if settings.history_dir is not None else settings.run_dir
        self.board = board_model(settings.sysfs_root)
        self.store = StoreReader(settings.run_dir)
        journal_dir = Path(journal_directory(settings.history_dir, settings.run_dir))
        self.journal = DecodedFile(journal_dir / JOURNAL_FILE, decode_view, JournalView())
        self.rules: tuple[AlertRule, ...] = ()
        self.sampling = SamplingJudge(self.rules, self.store.header, wall)
        self.status_path = settings.run_dir / mqtt_status.MQTT_FILE
        self.outbox = Outbox()  # one for every broker in turn: its acknowledged_total is /metrics' counter
        self.stopping = threading.Event()
        self.config: MqttConfig | None = None  # the broker published to; None: none (idle)
        self.connection: BrokerConnection | None = None
        self.device_id = ""
        self.topics = Topics("", "", "")
        self.device = Device("", "", __version__)
        self.units = CELSIUS
        self.schedule = StateSchedule(MIN_INTERVAL, MAX_INTERVAL)
        # What the broker has of this device's configs, by config topic: the payload this
        # connection sent, or b"" for one found retained from before (to remove if nothing has it).
        self.configs: dict[str, bytes] = {}
        self.state_topics: dict[str, str] = {}  # config topic -> its entity's state topic
        self.absent_since: dict[str, float] = {}  # config topic -> when its entity went missing
        self.announce = True  # "online" is due after the configs
        self.look_now = False  # look at the store at once, not at the next POLL (after a connection)
        self._sample: Sample | None = None
        self._sample_key: FileIdentity | None = None
        # sensor id -> (its Sensor, its entities): the catalog hands back one Sensor until it changes
        self._sensor_entities: dict[str, tuple[Sensor, tuple[Entity, ...]]] = {}
        self._written: MqttStatus | None = None
        self._refused: MqttConfig | None = None  # a broker setting said to be unusable (its CA file), once
        self._since = wall()
        self.follow(settings)

    # --- the broker in force ---------------------------------------------------------------------------

    def follow(self, settings: Settings) -> None:
        """Publish to the broker these settings name: connect to a new one, leave one no longer named.

        A broker set in the browser (settings.db), in the file or in FROST_MQTT_URL is one value
        (config/resolve.py); whichever changes it, the old connection says "offline" and closes,
        and the new one starts from nothing: its own configs, states and retained leftovers.
        """
        config = settings.mqtt if settings.mqtt is not None and settings.mqtt.enabled else None
        if config == self.config and (config is None or self.connection is not None or config == self._refused):
            return
        if self.connection is not None:
            self.connection.close(Message(self.topics.availability, NOT_AVAILABLE.encode()))
            self.connection = None
            log.info("stopped publishing to %s", self.config.shown if self.config is not None else "the broker")
        self.config = config
        self.outbox.clear()
        self.configs, self.state_topics, self.absent_since, self._sensor_entities = {}, {}, {}, {}
        self._sample_key = None  # the entities are made again for the new broker's topics
        if config is None:
            log.info("no MQTT broker ([mqtt] in the settings, or FROST_MQTT_URL): nothing to publish")
            return
        if not usable_ca_file(config):
            self._refused = config
            return
        self._refused = None
        if self.connect is None:
            from .connection import BrokerConnection  # here, not above: see the TYPE_CHECKING import

            self.connect = BrokerConnection
        self.device_id = device_id(config.device_id, self.kept_in)
        self.topics = Topics(config.discovery_prefix, config.base_topic, self.device_id)
        self.schedule = StateSchedule(config.min_interval, config.max_interval)
        self.announce = True
        self.connection = self.connect(
            config,
            f"frostserver-{self.device_id}",
            self.topics.availability,
            on_connected=self.connected,
            on_message=self.message,
            on_acknowledged=self.outbox.acknowledged,
            on_lost=self.lost,
            clock=self.clock,
        )
        log.info(
            "publishing to %s as device %s (discovery under %s/)", config.shown, self.device_id, config.discovery_prefix
        )

    def _follow_device(self, settings: Settings) -> None:
        """Take the device's name, dashboard, display units and alert rules in force."""
        device = Device(
            id=self.device_id,
            name=settings.device.name,
            sw_version=__version__,
            hw_version=self.board,
            configuration_url=settings.alerts.dashboard_url,
        )
        if device != self.device or settings.device.units != self.units:
            self.device, self.units = device, settings.device.units
            self._sensor_entities = {}  # every entity says the device and the units: made again
        rules = tuple(settings.alerts.enabled_rules)
        if rules != self.rules:
            self.rules = rules
            self.sampling = SamplingJudge(self.rules, self.store.header, self.wall)

    # --- the loop ----------------------------------------------------------------------------------

    def run(self) -> None:
        """Publish until `stopping` is set; then say "offline" and disconnect."""
        next_look = self.clock()
        while not self.stopping.is_set():
            now = self.clock()
            if now >= next_look or self.look_now:
                self.look_now = False
                self.look(now)
                next_look = now + POLL
            self.drain()
            self.write_status()
            wait = max(0.05, min(POLL, next_look - self.clock()))
            if self.connection is None:
                self.stopping.wait(wait)  # no broker: one look at the settings a POLL, nothing else
            else:
                self.connection.service(wait)
        if self.connection is not None:
            self.connection.close(Message(self.topics.availability, NOT_AVAILABLE.encode()))
            self.connection = None
        self.write_status()

    def drain(self) -> None:
        """Hand waiting messages to the client while connected, one in flight per topic."""
        if self.connection is None or not self.connection.connected:
            return
        for message in self.outbox.take(MAX_IN_FLIGHT - self.outbox.in_flight):
            mid = self.connection.publish(message)
            if mid is None:  # the client did not take it (the connection just went): it waits
                self.outbox.put(message)
                return
            self.outbox.sent(message.topic, mid)

    # --- what is due ------------------------------------------------------------------------------

    def look(self, now: float) -> None:
        """Follow the settings in force, then put every config and state that is due into the outbox."""
        try:
            settings = self.in_force()
        except Exception:  # a bug in following them must not stop publishing: those in force go on
            repeats.exception("the settings could not be followed; publishing with those in force")
            settings = self.settings
        self.settings = settings
        self.follow(settings)
        if self.connection is None:
            return
        self._follow_device(settings)
        sample = self._newest_sample()
        forecasts = self.store.forecasts.current().by_sensor()
        entities, hidden = self._entities(sample, forecasts)
        for entity in entities.values():
            self._config(entity)
        self._remove_gone(entities, now, judged=sample is not None, at_once=hidden)
        if self.announce:
            self.outbox.put(Message(self.topics.availability, AVAILABLE.encode()))
            self.announce = False
        if sample is not None:
            for sensor, reading in sample.pairs:
                cached = self._sensor_entities.get(sensor.id)
                if cached is None or not shown(sensor):
                    continue
                state = state_text(reading.value, sensor.unit, self.units)
                self._state(cached[1][0].state_topic, state.encode(), now)
                forecast = forecasts.get(sensor.id)
                if forecast is not None and len(cached[1]) > 1:
                    self._state(cached[1][1].state_topic, timestamp_text(forecast.eta).encode(), now)
        self._alert_states(now)
        threshold = state_text(settings.frost_threshold, CELSIUS_UNIT, self.units)
        self._state(self.topics.threshold_state, threshold.encode(), now)

    def _newest_sample(self) -> Sample | None:
        key = self.store.latest.identity()
        if key != self._sample_key:
            self._sample_key = key
            self._sample = self.store.latest_sample() if key is not None else None
        return self._sample

    def _entities(
        self, sample: Sample | None, forecasts: Mapping[str, FrostForecast]
    ) -> tuple[dict[str, Entity], set[str]]:
        """Return every entity the device has now, by config topic; and the config topics of hidden sensors."""
        known: dict[str, tuple[Sensor, tuple[Entity, ...]]] = {}
        hidden: set[str] = set()
        for sensor, _reading in sample.pairs if sample is not None else ():
            if not shown(sensor):  # hidden in the browser: its entities go at once, not after REMOVE_AFTER
                hidden.add(self.topics.config("sensor", object_id(sensor.id)))
                hidden.add(self.topics.config("sensor", frost_eta_object_id(sensor.id)))
                continue
            cached = self._sensor_entities.get(sensor.id)
            with_eta = sensor.id in forecasts
            if cached is None or cached[0] is not sensor or (len(cached[1]) > 1) != with_eta:
                made = [sensor_entity(sensor, self.topics, self.device, self.units)]
                if with_eta:
                    made.append(frost_eta_entity(sensor, self.topics, self.device))
                cached = (sensor, tuple(made))
            known[sensor.id] = cached
        self._sensor_entities = known
        every = [entity for _, made in known.values() for entity in made]
        every += [alert_entity(rule, self.topics, self.device) for rule in self.rules]
        every.append(threshold_entity(self.topics, self.device, self.units))
        entities = {self.topics.config(entity.component, entity.object_id): entity for entity in every}
        return entities, hidden

    def _config(self, entity: Entity) -> None:
        topic = self.topics.config(entity.component, entity.object_id)
        self.state_topics[topic] = entity.state_topic
        payload = entity.payload
        if self.configs.get(topic) != payload:  # new, renamed, or the broker's copy is from before
            self.configs[topic] = payload
            self.outbox.put(Message(topic, payload))

    def _remove_gone(
        self, entities: dict[str, Entity], now: float, *, judged: bool, at_once: set[str] | frozenset[str] = frozenset()
    ) -> None:
        """Remove what the broker has of this device that no entity has now: at once if hidden, else once gone."""
        for topic in entities:
            self.absent_since.pop(topic, None)
        if not judged:  # no sample yet: which sensors exist is not known
            return
        for topic in [topic for topic in self.configs if topic not in entities]:
            since = self.absent_since.setdefault(topic, now)
            if topic not in at_once and now - since < REMOVE_AFTER:
                continue
            del self.configs[topic], self.absent_since[topic]
            self.outbox.put(Message(topic, b""))
            state_topic = self.state_topics.pop(topic, None)
            if state_topic is not None:
                self.schedule.forget(state_topic)
                self.outbox.drop(state_topic)
                self.outbox.put(Message(state_topic, b""))  # no retained state left behind either
            if topic in at_once:
                log.info("removed %s from Home Assistant: its sensor is hidden", topic)
            else:
                log.info("removed %s from Home Assistant: gone for %g s", topic, REMOVE_AFTER)

    def _alert_states(self, now: float) -> None:
        firing: dict[str, list[Any]] = defaultdict(list)
        for alert in self.journal.current().active:
            firing[alert.rule].append(alert)
        stopped = self.sampling.current()
        if stopped is not None:
            firing[SAMPLING_STOPPED].append(stopped)
        for rule in self.rules:
            alerts = firing.get(rule.name, [])
            self._state(self.topics.alert_state(rule.name), (ON if alerts else OFF).encode(), now, urgent=True)
            attributes = {
                "firing": len(alerts),
                "sensors": [alert.sensor for alert in alerts if alert.sensor],
                "summaries": [alert.summary for alert in alerts],
            }
            encoded = json.dumps(attributes, ensure_ascii=False, separators=(",", ":")).encode()
            self._state(self.topics.alert_attributes(rule.name), encoded, now, urgent=True)

    def _state(self, topic: str, payload: bytes, now: float, *, urgent: bool = False) -> None:
        if self.schedule.offer(topic, payload, now, urgent=urgent):
            self.outbox.put(Message(topic, payload))

    # --- what the connection tells ----------------------------------------------------------------

    def connected(self) -> None:
        """A (new) connection: subscribe, and publish everything again (the configs, "online", the states)."""
        if self.connection is None:
            return
        for component in COMPONENTS:
            self.connection.subscribe(self.topics.configs_of_device(component))
        self.connection.subscribe(self.topics.birth)
        self.outbox.clear()  # what waited through the outage is put again, configs first
        self._republish()

    def lost(self) -> None:
        """The connection is gone: nothing is in flight; what waits is sent once connected again."""
        self.outbox.lost()

    def message(self, topic: str, payload: bytes, retained: bool) -> None:
        """Handle HA's birth message, and this device's configs the broker kept from before."""
        if topic == self.topics.birth:
            if payload == AVAILABLE.encode() and not retained:
                log.info("Home Assistant announced itself: publishing the discovery again")
                self._republish()
            return
        # A config of this device that no entity of ours has: kept by the broker from before (it
        # comes, retained, when we subscribe), or published by another client since. Our own come
        # back through the subscription too, for topics we have: those are left alone.
        if payload and topic not in self.configs:
            self.configs[topic] = b""  # the broker's: removed unless an entity of ours has this topic
            state_topic = _state_topic_of(payload, self.topics.root)
            if state_topic is not None:
                self.state_topics.setdefault(topic, state_topic)

    def _republish(self) -> None:
        self.configs = dict.fromkeys(self.configs, b"")  # every config goes out again (b"": differs)
        self.schedule.reset()
        self.announce = True
        self.look_now = True

    # --- the status file ---------------------------------------------------------------------------

    def write_status(self) -> None:
        """Write mqtt.json when what it says changed."""
        connected = self.connection is not None and self.connection.connected
        if self._written is None or self._written.connected != connected:
            self._since = self.wall()
        broker = self.config.shown if self.config is not None else ""
        status = MqttStatus(broker, connected, self.outbox.acknowledged_total, self._since, self.config is not None)
        if status == self._written:
            return
        try:
            write_atomically(self.status_path, mqtt_status.encode(status))
        except OSError as error:
            log.warning("cannot write %s: %s", self.status_path, error.strerror or error)
            return
        self._written = status


def usable_ca_file(config: MqttConfig) -> bool:
    """Tell whether the broker's CA file (with TLS) can be read; say once why not (the caller keeps it)."""
    if config.ca_file is None:
        return True
    try:
        with open(config.ca_file, "rb"):
            return True
    except OSError as error:
        log.error(
            "mqtt.ca_file: cannot read %s (%s): mount the broker's CA certificate there, readable by the app; "
            "not publishing until it is set again",
            config.ca_file,
            error.strerror or error,
        )
        return False


def _state_topic_of(payload: bytes, root: str) -> str | None:
    """Return the state topic a retained config names, if it is one of this device's."""
    try:
        config = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    topic = config.get("state_topic") if isinstance(config, dict) else None
    return topic if isinstance(topic, str) and topic.startswith(root + "/") else None
