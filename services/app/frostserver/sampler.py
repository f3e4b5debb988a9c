"""Sample every sensor once per interval, in exactly one process, into the shared store.

Every Gunicorn worker starts a `SamplerLeader` thread; they race for an exclusive flock on a
file in the run directory. The winner samples; the others wait on the lock and take over
within an interval if the winner's process dies (the kernel drops the lock with it). So the
app has one sampling loop however many workers serve requests, needs no hook in Gunicorn's
master, and runs unchanged under `flask run`.
"""
from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol

from .model import ERROR, Reading, Sensor
from .store import StoreWriter

log = logging.getLogger(__name__)
LOCK_FILE = "sampler.lock"
# Upper bounds (seconds) of the sample-duration histogram /metrics exports; a sample is all reads
# of all sources, bounded by the read timeout (0.5 s by default) plus the store write.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class SensorSource(Protocol):
    def sample(self) -> list[tuple[Sensor, Reading]]: ...

    def close(self) -> None: ...


@dataclass
class SamplerStats:
    """What the leader publishes about its own work (for /metrics)."""

    samples: int = 0
    last_duration: float = 0.0
    durations_sum: float = 0.0
    dropped_sensors: int = 0
    source_errors: dict[str, int] = field(default_factory=dict)
    duration_buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))  # not cumulative
    read_errors_by_chip: dict[str, int] = field(default_factory=dict)  # readings with status "error"

    def observe(self, duration: float) -> None:
        """Count one sample of the given duration."""
        self.samples += 1
        self.last_duration = duration
        self.durations_sum += duration
        for number, bound in enumerate(DURATION_BUCKETS):
            if duration <= bound:
                self.duration_buckets[number] += 1
                break


def sensor_document(sensor: Sensor) -> dict:
    """Return the JSON metadata of a sensor, as the API shows it."""
    return {
        "id": sensor.id,
        "chip": sensor.chip,
        "chip_name": sensor.chip_name,
        "channel": sensor.channel,
        "kind": sensor.kind,
        "unit": sensor.unit,
        "label": sensor.label,
        "source": sensor.source,
        "thresholds": sensor.thresholds,
    }


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _reading_json(reading: Reading) -> str:
    """Encode a reading's fields (the part of a sensor's document that changes every sample)."""
    value = reading.value
    value_json = "null" if value is None or not math.isfinite(value) else repr(float(value))
    error = "null" if reading.error is None else _json(reading.error)
    alarms = _json(list(reading.alarms)) if reading.alarms else "[]"
    return f',"value":{value_json},"status":"{reading.status}","error":{error},"alarms":{alarms}}}'


class LatestRenderer:
    """Render the /api/v1/sensors document once per sample, so requests only copy bytes.

    A sensor's metadata changes rarely (the reader hands back the same Sensor object until it
    does), so its JSON is encoded once and only the reading is encoded at every sample.
    """

    def __init__(self):
        self._metadata: dict[str, tuple[Sensor, str]] = {}

    def render(self, pairs: list[tuple[Sensor, Reading]], sampled_at: float, interval: float,
               frost_threshold: float) -> bytes:
        parts = []
        for sensor, reading in pairs:
            cached = self._metadata.get(sensor.id)
            if cached is None or cached[0] is not sensor:
                cached = (sensor, _json(sensor_document(sensor))[:-1])  # without its closing brace
                self._metadata[sensor.id] = cached
            parts.append(cached[1] + _reading_json(reading))
        if len(self._metadata) > 2 * len(pairs) + 64:  # forget sensors that vanished long ago
            current = {sensor.id for sensor, _ in pairs}
            self._metadata = {sid: entry for sid, entry in self._metadata.items() if sid in current}
        head = _json({"sampled_at": sampled_at, "interval": interval, "frost_threshold": frost_threshold})
        return f'{head[:-1]},"sensors":[{",".join(parts)}]}}'.encode()


class ExporterRenderer:
    """Render what /metrics needs beyond the public document: node_exporter's labels, raw values.

    As in LatestRenderer, a sensor's labels are encoded once per Sensor object; only the raw
    attribute values read this sample are encoded every time.
    """

    def __init__(self):
        self._labels: dict[str, tuple[Sensor, str]] = {}

    def render(self, pairs: list[tuple[Sensor, Reading]]) -> bytes:
        parts = []
        for sensor, reading in pairs:
            if not sensor.exporter_chip:
                continue
            cached = self._labels.get(sensor.id)
            if cached is None or cached[0] is not sensor:
                labels = {"chip": sensor.exporter_chip, "chip_name": sensor.exporter_chip_name,
                          "sensor": sensor.exporter_sensor, "label": sensor.exporter_label,
                          "attributes": sensor.raw_attributes}
                cached = (sensor, f'{_json(sensor.id)}:{{"exporter":{_json(labels)}')
                self._labels[sensor.id] = cached
            parts.append(f'{cached[1]},"raw":{_json(dict(reading.raw or {}))}}}')
        if len(self._labels) > 2 * len(pairs) + 64:  # forget sensors that vanished long ago
            current = {sensor.id for sensor, _ in pairs}
            self._labels = {sid: entry for sid, entry in self._labels.items() if sid in current}
        return ("{" + ",".join(parts) + "}").encode()


class Sampler:
    """Take one sample from every source and write it to the store."""

    def __init__(self, sources: dict[str, SensorSource], writer: StoreWriter, *, interval: float,
                 frost_threshold: float = 0.0, rules: Callable[[list], list] | None = None,
                 clock: Callable[[], float] = time.time):
        self.sources = sources
        self.writer = writer
        self.interval = interval
        self.frost_threshold = frost_threshold
        self.rules = rules or (lambda pairs: pairs)
        self.clock = clock
        self.stats = SamplerStats()
        self._published_sensors: dict[str, Sensor] = {}
        self._renderer = LatestRenderer()
        self._exporter_renderer = ExporterRenderer()

    def sample_once(self) -> int:
        """Read all sources once and publish the sample; return its sequence number."""
        started = time.perf_counter()
        sampled_at = self.clock()
        pairs: list[tuple[Sensor, Reading]] = []
        for name, source in self.sources.items():
            try:
                pairs.extend(source.sample())
            except Exception:  # a source bug must not stop the other sources or the loop
                log.exception("sensor source %s failed", name)
                self.stats.source_errors[name] = self.stats.source_errors.get(name, 0) + 1
        pairs = sorted(self.rules(pairs), key=lambda pair: pair[0].id)
        self._publish_metadata(pairs)
        readings = {sensor.id: (reading.value, reading.status) for sensor, reading in pairs}
        body = self._renderer.render(pairs, sampled_at, self.interval, self.frost_threshold)
        seq = self.writer.append(sampled_at, readings, body, self._exporter_renderer.render(pairs))
        errors = self.stats.read_errors_by_chip
        for sensor, reading in pairs:
            if reading.status == ERROR:
                errors[sensor.chip] = errors.get(sensor.chip, 0) + 1
        self.stats.observe(time.perf_counter() - started)
        # Workers render /metrics, but these counters live in this process: publish them.
        self.writer.write_stats(self.stats_document(seq))
        return seq

    def _publish_metadata(self, pairs: Iterable[tuple[Sensor, Reading]]) -> None:
        # Metadata changes rarely: the reader hands back the same Sensor object until it does, and
        # the store rewrites its catalog only for documents that really changed.
        fresh = [sensor for sensor, _ in pairs if self._published_sensors.get(sensor.id) is not sensor]
        if not fresh:
            return
        self._published_sensors.update((sensor.id, sensor) for sensor in fresh)
        dropped = self.writer.update_catalog([sensor_document(sensor) for sensor in fresh])
        if dropped:
            self.stats.dropped_sensors = len(dropped)
            log.error("history has no room for %d sensors (FROST_MAX_SENSORS); first: %s",
                      len(dropped), dropped[0])

    def stats_document(self, seq: int | None = None) -> dict:
        """Return the sampler's and its sources' counters as plain data."""
        document = asdict(self.stats)
        document.update(seq=seq, pid=os.getpid(), duration_bounds=list(DURATION_BUCKETS), sources={})
        for name, source in self.sources.items():
            stats = getattr(source, "stats", None)
            if is_dataclass(stats) and not isinstance(stats, type):
                document["sources"][name] = asdict(stats)
        return document

    def close(self) -> None:
        for source in self.sources.values():
            source.close()
        self.writer.close()


class SamplerLeader(threading.Thread):
    """Become the one sampling process of the app when the lock is free, and sample until stopped."""

    def __init__(self, run_dir: Path, make_sampler: Callable[[], Sampler], interval: float):
        super().__init__(name="frost-sampler", daemon=True)
        self.run_dir = Path(run_dir)
        self.make_sampler = make_sampler
        self.interval = interval
        self.stopping = threading.Event()
        self.is_leader = False

    def run(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not self._acquire(fd):
                return
            self.is_leader = True
            log.info("pid %d is the sampler (interval %.3g s)", os.getpid(), self.interval)
            sampler = self.make_sampler()
            try:
                self._loop(sampler)
            finally:
                sampler.close()
        finally:
            os.close(fd)

    def _acquire(self, fd: int) -> bool:
        # Poll rather than block, so that stop() is honoured promptly.
        while not self.stopping.is_set():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                self.stopping.wait(min(self.interval, 0.5))
        return False

    def _loop(self, sampler: Sampler) -> None:
        # Keep to a fixed grid so samples don't drift; skip ticks we were too slow for.
        next_tick = time.monotonic()
        while not self.stopping.is_set():
            try:
                sampler.sample_once()
            except Exception:
                log.exception("sample failed")
            next_tick += self.interval
            now = time.monotonic()
            if next_tick < now:
                missed = int((now - next_tick) / self.interval) + 1
                log.warning("sampling is %d interval(s) behind; skipping them", missed)
                next_tick += missed * self.interval
            self.stopping.wait(next_tick - now)

    def stop(self, timeout: float = 2.0) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout)
