"""The sampling process: read every sensor once per interval and publish each sample to the store.

`python -m frostserver.sampler` runs it; in the container the supervisor (supervisor.py) starts it
beside Gunicorn and restarts it if it dies. It is the store's only writer and holds the sampler's
lock while it runs, so a second sampler on the same run directory refuses to start. It speaks in
sensors and readings: the JSON API, the event stream and /metrics render them in the workers.

Settings set in the browser apply without a restart: before each sample it asks its LiveSettings
(settings/live.py) whether settings.db changed, which costs a stat and a PRAGMA, and when it did it
takes the new sensor overrides (names, places, calibrations, limits: overrides.py) and alert rules
(alerts/engine.py reconfigure, which keeps what unchanged rules know) for that very sample: no new
process, no gap in the samples' numbers. Once that sample is published it writes the device-wide
settings it applied to the store (store/applied.py), which the workers render and announce.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .alerts.engine import AlertEngine
from .alerts.journal import AlertJournal, journal_directory
from .config import Settings, SettingsError
from .config.alert_rules import FROST, AlertRule
from .config_sensors import ConfigSensors
from .derived.sensors import DerivedSensors
from .finite import FiniteGuard
from .forecast.frost import FrostForecaster
from .heartbeat import Heartbeat
from .history import HistoryReader, configured_tiers
from .history.writer import HistoryWriter
from .hwmon import HwmonReader
from .hwmon.reader import ReaderStats
from .lmsensors import EMPTY as NO_SENSORS_CONFIG
from .lmsensors import SensorsConfig, describe, load_sensors_config
from .logs import RepeatLimiter, configure_logging
from .model import ERROR, Chip, FrostForecast, Reading, Sensor
from .overrides import OverrideApplier
from .settings.live import Current, LiveSettings
from .store import LOCK_FILE
from .store.applied import AppliedSettings
from .store.counters import Counters, HwmonCounters
from .store.liveness import SamplerAlreadyRunning, SamplerLock
from .store.reader import StoreReader
from .store.writer import StoreWriter
from .supervisor import EXIT_CONFIG

log = logging.getLogger("frostserver.sampler")  # not __name__: run as __main__
# What can fail at every sample is logged at most once per 5 minutes, with a count of the rest.
repeats = RepeatLimiter(log)

# Upper bounds (seconds) of the sample-duration histogram /metrics exports; a sample is all reads
# of all sources, bounded by the read timeout (0.5 s by default), plus publishing it.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Exit status of a sampler whose watchdog found it hung (sysexits' EX_SOFTWARE): the supervisor
# restarts it like any sampler that died.
EXIT_STALLED = 70


class SensorSource(Protocol):
    """Where sensors come from: the hwmon reader, the config file's sensors."""

    def sample(self) -> list[tuple[Sensor, Reading]]: ...

    def close(self) -> None: ...


# Applies the sensor overrides (overrides.py) to one sample's pairs.
ApplyOverrides = Callable[[list[tuple[Sensor, Reading]]], list[tuple[Sensor, Reading]]]


@dataclass
class SamplerCounters:
    """What the sampler counts about its own work (for /metrics)."""

    samples: int = 0
    durations_sum: float = 0.0
    duration_buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))  # not cumulative
    dropped_sensors: int = 0  # sensors the history has no column for (FROST_MAX_SENSORS)
    source_failures: dict[str, int] = field(default_factory=dict)  # samples in which a whole source failed
    read_errors_by_chip: dict[str, int] = field(default_factory=dict)  # readings with status "error"

    def observe(self, duration: float) -> None:
        """Count one sample of the given duration."""
        self.samples += 1
        self.durations_sum += duration
        for number, bound in enumerate(DURATION_BUCKETS):
            if duration <= bound:
                self.duration_buckets[number] += 1
                break


class Sampler:
    """Take one sample from every source and publish it to the store."""

    def __init__(
        self,
        sources: dict[str, SensorSource],
        store: StoreWriter,
        *,
        overrides: ApplyOverrides | None = None,
        clock: Callable[[], float] = time.time,
        history: HistoryWriter | None = None,
        alerts: tuple[AlertEngine, AlertJournal] | None = None,
        derived: DerivedSensors | None = None,
        forecaster: FrostForecaster | None = None,
        live: LiveSettings | None = None,
    ):
        self.sources = sources
        self.store = store
        self.overrides = overrides
        self.clock = clock
        self.counters = SamplerCounters()
        self.history = history  # the history on disk (history/); None: off
        self.alerts = alerts  # the alert rules and their journal (alerts/); None: off
        self.finite = FiniteGuard()
        self.derived = derived  # the [derived.<name>] pairs' sensors; None: none
        self.forecaster = forecaster  # the frost forecasts (forecast/); None: off
        self.live = live  # the settings, followed while it runs (None: those it was built with, for good)
        self.settings: Settings | None = None  # those its overrides and rules are from (build_sampler's)
        self._applied: Current | None = None  # the settings last announced
        self._announce: AppliedSettings | None = None  # to publish after the next sample

    def follow_settings(self) -> None:
        """Take the settings in force now, if they changed (see the module's docstring)."""
        if self.live is None:
            return
        current = self.live.current()
        if current is self._applied:
            return
        settings = current.settings
        if settings is not self.settings:
            self.overrides = overrides_of(settings)
            if self.alerts is not None:
                self.alerts[0].reconfigure(settings.alerts.rules, settings.frost_threshold, settings.forecast.lead_time)
            self._follow_forecast(settings)
            self.settings = settings
            log.info("settings: applying revision %d", current.revision)
        self._applied = current
        self._announce = AppliedSettings(
            revision=current.revision,
            device_name=settings.device.name,
            units=settings.device.units,
            frost_threshold=settings.frost_threshold,
            state=current.status.state,
            message=current.status.message,
        )

    def _follow_forecast(self, settings: Settings) -> None:
        """Take new derived pairs and forecast settings; the forecaster is built again, from the ring."""

        def inputs(of: Settings) -> tuple[object, ...]:
            return of.derived, of.forecast, of.frost_threshold, _frost_rule(of)

        if self.settings is not None and inputs(settings) == inputs(self.settings):
            return
        self.derived = derived_of(settings)
        self.forecaster = build_forecaster(settings, StoreReader(settings.run_dir))

    def sample_once(self) -> int:
        """Read all sources once and publish the sample; return its number."""
        started = time.perf_counter()
        try:
            self.follow_settings()
        except Exception:  # settings that cannot be followed now: the sample goes on with those in force
            repeats.exception("the settings could not be followed", key="follow_settings")
        sampled_at = self.clock()
        pairs: list[tuple[Sensor, Reading]] = []
        for name, source in self.sources.items():
            try:
                pairs.extend(source.sample())
            except Exception:  # a source's bug must not stop the other sources or the loop
                repeats.exception("sensor source %s failed", name, key=("source", name))
                self.counters.source_failures[name] = self.counters.source_failures.get(name, 0) + 1
        # The order of a sample, each step on what the one before gave: the sources' readings; the
        # overrides (filter, names, places, limits and calibration: what is derived must see
        # calibrated inputs); the derived sensors, from those readings, with their own overrides;
        # the finite guard; then the forecasts, the alerts, the store.
        read = pairs
        if self.overrides is not None:
            pairs = self.overrides(pairs)
        if self.derived is not None:
            # A sensor the filter leaves out can still be a derived sensor's input (raw RH hidden,
            # its dew point kept): it is derived from as it was read. A kept one comes twice, and
            # its calibrated pair, the later, is the one derive() takes.
            derived = self._derive(pairs if read is pairs else itertools.chain(read, pairs))
            pairs.extend(derived if self.overrides is None else self.overrides(derived))
        pairs = self.finite.check(pairs)  # NaN and infinity end here, whatever their source
        pairs.sort(key=lambda pair: pair[0].id)
        forecasts = self._forecast(sampled_at, pairs)
        # Before publishing: a stream that sees sample N finds the alerts N raised already there.
        self._judge_alerts(self.store.ring.next_seq, sampled_at, pairs, forecasts)
        seq = self._publish(sampled_at, pairs, forecasts)
        if self._announce is not None:
            # After the sample that first used them: a reader that sees this revision finds the
            # catalog already saying what it says of the sensors.
            self.store.applied.write(self._announce)
            self._announce = None
        self._record_history(sampled_at, pairs)
        errors = self.counters.read_errors_by_chip
        for sensor, reading in pairs:
            if reading.status == ERROR:
                errors[sensor.chip] = errors.get(sensor.chip, 0) + 1
        self.counters.observe(time.perf_counter() - started)
        self.store.counters.write(self.published_counters(seq))
        return seq

    def _derive(self, pairs: Iterable[tuple[Sensor, Reading]]) -> list[tuple[Sensor, Reading]]:
        assert self.derived is not None
        try:
            return self.derived.derive(pairs)
        except Exception:  # a bug in a formula must not stop sampling
            repeats.exception("the derived sensors failed on a sample")
            return []

    def _forecast(self, sampled_at: float, pairs: list[tuple[Sensor, Reading]]) -> Mapping[str, FrostForecast]:
        if self.forecaster is None:
            return {}
        try:
            return self.forecaster.observe(sampled_at, pairs)
        except Exception:  # a bug in the forecast must not stop sampling
            repeats.exception("the frost forecast failed on a sample")
            return {}

    def _publish(
        self, sampled_at: float, pairs: list[tuple[Sensor, Reading]], forecasts: Mapping[str, FrostForecast]
    ) -> int:
        # Metadata first, then the readings (and forecasts) that refer to it, then the history row
        # whose new number tells readers that a sample is complete.
        store = self.store
        store.chips.update(self.chips())
        store.catalog.update(sensor for sensor, _ in pairs)
        dropped = store.catalog.dropped
        if len(dropped) > self.counters.dropped_sensors:
            log.error(
                "the history has no room for %d sensors (FROST_MAX_SENSORS); one of them: %s",
                len(dropped),
                min(dropped),
            )
        self.counters.dropped_sensors = len(dropped)
        # Written without a forecaster too (empty, once): a file an earlier sampler left says nothing then.
        forecaster = self.forecaster
        lead_time, threshold = (forecaster.config.lead_time, forecaster.threshold) if forecaster else (0.0, 0.0)
        store.forecasts.write(forecasts, lead_time, threshold)
        store.latest.write(store.ring.next_seq, sampled_at, pairs)
        columns = store.catalog.columns
        cells = (
            (columns[sensor.id], reading.value, reading.status)
            for sensor, reading in pairs
            if sensor.id in columns and not sensor.ignored  # ignored since its column was given
        )
        return store.ring.append(sampled_at, cells, len(columns))

    def chips(self) -> list[Chip]:
        """Return the chips of the sources that describe theirs (the hwmon reader)."""
        chips: list[Chip] = []
        for name, source in self.sources.items():
            chips_of = getattr(source, "chips", None)
            if chips_of is not None:
                try:
                    chips.extend(chips_of())
                except Exception:  # the sample goes on without them
                    repeats.exception("sensor source %s failed to describe its chips", name, key=("chips", name))
        return chips

    def _record_history(self, sampled_at: float, pairs: list[tuple[Sensor, Reading]]) -> None:
        # After the ring: the history on disk aggregates what was published. It never raises for
        # its disk (it degrades and says so); a bug of its own must not stop sampling either.
        if self.history is None:
            return
        try:
            # sensors.conf's `ignore`: nothing shows the sensor, so no history keeps it either.
            self.history.observe(sampled_at, [pair for pair in pairs if not pair[0].ignored])
        except Exception:
            repeats.exception("the history failed to record a sample")

    def _judge_alerts(
        self,
        seq: int,
        sampled_at: float,
        pairs: list[tuple[Sensor, Reading]],
        forecasts: Mapping[str, FrostForecast],
    ) -> None:
        if self.alerts is None:
            return
        engine, journal = self.alerts
        try:
            journal.record(seq, engine.observe(sampled_at, pairs, forecasts))
        except Exception:  # a bug in a rule must not stop sampling
            repeats.exception("the alert rules failed on a sample")

    def prepare(self, at: float) -> None:
        """Let the sources that can start the next sample's reads at `at` (time.monotonic())."""
        for name, source in self.sources.items():
            prepare = getattr(source, "prepare", None)
            if prepare is not None:
                try:
                    prepare(at)
                except Exception:  # it reads at sample() then, as without
                    repeats.exception("sensor source %s failed to prepare", name, key=("prepare", name))

    def published_counters(self, seq: int) -> Counters:
        """Return the sampler's and its sources' counters as of sample `seq` (store/counters.py)."""
        counters = self.counters
        stats = getattr(self.sources.get("hwmon"), "stats", None)
        return Counters(
            pid=os.getpid(),
            seq=seq,
            samples=counters.samples,
            durations_sum=counters.durations_sum,
            duration_bounds=DURATION_BUCKETS,
            duration_buckets=tuple(counters.duration_buckets),
            dropped_sensors=counters.dropped_sensors,
            source_failures=dict(counters.source_failures),
            read_errors_by_chip=dict(counters.read_errors_by_chip),
            hwmon=None
            if not isinstance(stats, ReaderStats)
            else HwmonCounters(stats.attribute_reads, stats.slow_reads, stats.timeouts, stats.stuck_reads),
            history=self.history.state() if self.history is not None else None,
            alert_journal=self.alerts[1].state() if self.alerts is not None else "off",
        )

    def close(self) -> None:
        for source in self.sources.values():
            source.close()
        if self.history is not None:
            self.history.close()  # writes the minutes held, the open one included
        self.store.close()


def build_sampler(settings: Settings, live: LiveSettings | None = None) -> Sampler:
    """Build the Sampler over every configured sensor source and the store in settings.run_dir.

    live: the settings to follow while it runs (settings is what they say now).
    """
    sensors_config = read_sensors_config(settings.lm_sensors_etc)
    sources: dict[str, SensorSource] = {
        "hwmon": HwmonReader(settings.sysfs_root, read_timeout=settings.read_timeout, sensors_config=sensors_config)
    }
    if settings.sensors:
        sources["config"] = ConfigSensors(settings.sensors)
    store = StoreWriter.open(settings.run_dir, settings.ring_capacity, settings.max_sensors, settings.sample_interval)
    history = (
        None
        if settings.history_dir is None
        else HistoryWriter(settings.history_dir, configured_tiers(settings), pending_dir=settings.run_dir)
    )
    sampler = Sampler(
        sources,
        store,
        overrides=overrides_of(settings),
        history=history,
        alerts=build_alerts(settings, always=live is not None),
        derived=derived_of(settings),
        forecaster=build_forecaster(settings, None if store.ring.recreated else StoreReader(settings.run_dir)),
        live=live,
    )
    sampler.settings = settings
    return sampler


def overrides_of(settings: Settings) -> ApplyOverrides | None:
    """The sensor overrides a sample goes through (None: none configured), at start and on a new revision."""
    overrides = settings.sensor_overrides
    return None if overrides.is_empty else OverrideApplier(overrides).apply


def derived_of(settings: Settings) -> DerivedSensors | None:
    """The [derived.<name>] pairs' sensors (None: no pair), at start and on a new revision."""
    return DerivedSensors(settings.derived) if settings.derived else None


def build_forecaster(settings: Settings, ring: StoreReader | None = None) -> FrostForecaster | None:
    """Build the frost forecast (None: [forecast] enabled = false).

    Its window is filled from what an earlier sampler left: the ring of recent samples, if `ring`
    is given (a sampler restarted within the container), else the minute tier of the history on
    disk, as each sensor is first seen (the container restarted: the ring was in its tmpfs).
    """
    config = settings.forecast
    if not config.enabled:
        return None
    frost = _frost_rule(settings)

    def selects(sensor: Sensor) -> bool:
        return config.selects(sensor, frost is not None and frost.selects(sensor))

    floors = {pair.temperature: pair.sensor_id("frost_point") for pair in settings.derived}
    backfill = None if settings.history_dir is None else MinuteBackfill(settings.history_dir, config.window)
    forecaster = FrostForecaster(config, settings.frost_threshold, selects, floors, backfill)
    if ring is not None:
        seed_forecaster(forecaster, ring, selects)
    return forecaster


class MinuteBackfill:
    """The minute tier's means of one sensor over the forecast's window, for a sensor first seen."""

    def __init__(self, history_dir: Path, window: float):
        self.history_dir = history_dir
        self.window = window
        self._reader: HistoryReader | None = None

    def __call__(self, sensor_id: str, now: float) -> list[tuple[float, float]]:
        try:
            if self._reader is None:
                self._reader = HistoryReader(self.history_dir)
            buckets = self._reader.buckets("minute", [sensor_id], now - self.window, now).get(sensor_id, [])
        except Exception:  # no history (yet), or a broken one: the forecast starts from nothing
            repeats.exception("could not read the history's minutes for the frost forecast", key="backfill")
            return []
        finally:
            # No connection kept open between calls (a sensor first seen is rare): an open reader in
            # the writer's own process would keep the WAL file after the writer's last close, and a
            # WAL that outlives its database file can make a file that was replaced look valid.
            if self._reader is not None:
                self._reader.close()
        return [(bucket.start + bucket.seconds / 2, bucket.mean) for bucket in buckets if bucket.mean is not None]


def seed_forecaster(forecaster: FrostForecaster, ring: StoreReader, selects: Callable[[Sensor], bool]) -> None:
    """Fill the forecast's window from the ring a sampler before this one wrote (a restart within the container)."""
    try:
        header = ring.header()
        sensors = [sensor for sensor in ring.catalog.current().sensors.values() if sensor.kind == "temperature"]
        chosen = [sensor.id for sensor in sensors if selects(sensor)]
        if header is None or header.seq == 0 or not chosen:
            return
        series = ring.window(chosen, max(1, header.seq - header.capacity + 1))
        if series is None:
            return
        oldest = header.last_timestamp - forecaster.config.window
        for sensor_id in chosen:
            if sensor_id not in series.values:
                continue
            points = [
                (when, value)
                for index, when in enumerate(series.timestamps)
                if when >= oldest and (value := series.value(sensor_id, index)) is not None
            ]
            forecaster.seed(sensor_id, points)
    except Exception:  # the forecast then starts from nothing, as on a first start
        log.exception("could not read the ring of recent samples for the frost forecast")


def _frost_rule(settings: Settings) -> AlertRule | None:
    return next((rule for rule in settings.alerts.rules if rule.name == FROST), None)


def build_alerts(settings: Settings, *, always: bool = False) -> tuple[AlertEngine, AlertJournal] | None:
    """Build the alert engine over the journal of the alerts firing before (None: no rule is on).

    always: even without a rule on now, since the browser may turn one on while it runs.
    """
    if not settings.alerts.enabled_rules and not always:
        return None
    directory = journal_directory(settings.history_dir, settings.run_dir)
    journal = AlertJournal.open(directory, durable=settings.history_dir is not None)
    engine = AlertEngine(
        settings.alerts.rules,
        frost_threshold=settings.frost_threshold,
        interval=settings.sample_interval,
        firing=journal.firing(),
        lead_time=settings.forecast.lead_time,
    )
    return engine, journal


def read_sensors_config(etc_dir: Path | None) -> SensorsConfig:
    """Read lm-sensors' configuration from etc_dir (None: none), logging what it cannot apply."""
    if etc_dir is None:
        return NO_SENSORS_CONFIG
    config = load_sensors_config(etc_dir)
    errors, notices = describe(config.problems)
    for line in errors:
        log.warning("lm-sensors configuration: %s", line)
    for line in notices:
        log.info("lm-sensors configuration: %s", line)
    log.info(
        "lm-sensors configuration: %s",
        ", ".join(config.files) if config.files else f"none found in {etc_dir}",
    )
    return config


def sample_forever(
    sampler: Sampler, interval: float, stopping: threading.Event, beat: Callable[[float], None] | None = None
) -> None:
    """Sample on a fixed grid until `stopping` is set; skip the ticks a slow sample overran.

    `beat(due)` is called after each sample published, with the seconds until the next is due:
    the supervisor and /readyz know from it that sampling goes on (heartbeat.py, store/liveness.py).
    """
    next_tick = time.monotonic()
    while not stopping.is_set():
        published = False
        try:
            sampler.sample_once()
            published = True
        except Exception:
            repeats.exception("sample failed")
        next_tick += interval
        now = time.monotonic()
        if next_tick < now:
            missed = int((now - next_tick) / interval) + 1
            repeats.warning("sampling is %d interval(s) behind; skipping them", missed)
            next_tick += missed * interval
        if published and beat is not None:
            beat(next_tick - now)
        sampler.prepare(next_tick)
        stopping.wait(next_tick - now)


class Watchdog(threading.Thread):
    """End the process when sampling stops making progress, so that the supervisor restarts it.

    Reads have deadlines, so the loop cannot block on hardware; this is for what nobody foresaw
    (a deadlock, a bug that fails every sample). A thread of its own, so a stuck loop cannot stop it.
    """

    def __init__(
        self, progress: Callable[[], int], stall_after: float, on_stall: Callable[[float], None] | None = None
    ):
        super().__init__(name="frost-watchdog", daemon=True)
        self.progress = progress
        self.stall_after = stall_after
        self.on_stall = on_stall or self._exit
        self.stopping = threading.Event()

    def run(self) -> None:
        last, since = self.progress(), time.monotonic()
        while not self.stopping.wait(self.stall_after / 4):
            now, current = time.monotonic(), self.progress()
            if current != last:
                last, since = current, now
            elif now - since > self.stall_after:
                self.on_stall(now - since)
                return

    @staticmethod
    def _exit(stalled_for: float) -> None:
        log.critical("no sample for %.0f s: the sampler is hung; exiting so that it is restarted", stalled_for)
        os._exit(EXIT_STALLED)  # not sys.exit: the stuck thread would keep the process alive


def main() -> int:
    """Run the sampling process until SIGTERM or SIGINT."""
    try:
        live = LiveSettings(log_changes=True)  # the file's mistakes stop it here; the browser's never do
    except SettingsError as error:
        configure_logging("info")
        log.critical("configuration error, not sampling: %s", error)
        return EXIT_CONFIG
    configure_logging(live.file.settings.log_level)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    live.file.settings.run_dir.mkdir(parents=True, exist_ok=True)  # settings.db's, in dev mode and tests
    settings = live.current().settings
    try:
        lock = SamplerLock(settings.run_dir / LOCK_FILE)
    except SamplerAlreadyRunning as error:
        log.critical("%s", error)
        return 1
    sampler = build_sampler(settings, live)
    log.info(
        "sampling every %g s into %s (%d sources)", settings.sample_interval, settings.run_dir, len(sampler.sources)
    )
    watchdog = Watchdog(lambda: sampler.counters.samples, max(60.0, 10 * settings.sample_interval))
    watchdog.start()
    pipe = Heartbeat.from_environment()  # the supervisor's watch from outside, which a frozen process cannot fool

    def beat(due: float) -> None:
        lock.beat()  # for /readyz
        pipe.beat(due + settings.read_timeout)  # for the supervisor: the next may take its whole read deadline

    try:
        sample_forever(sampler, settings.sample_interval, stopping, beat)
    finally:
        pipe.close()
        watchdog.stopping.set()
        sampler.close()
        live.close()
        lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
