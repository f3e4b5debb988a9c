"""The exposition of /metrics (metrics.py serves it): node_exporter's hwmon series plus FrostServer's own.

Everything comes from what the sampler published (the newest sample and its counters, see
store/), so a scrape never reads sysfs. Two collectors on their own CollectorRegistry: one over the
newest sample, whose exposition each worker renders once per sample and keeps; one over the
workers' own counters (open streams), rendered again only when those change.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from ..alerts.notifier_status import NotifierStatus
from ..model import Reading, Sensor
from ..store.counters import Counters
from ..store.files import Refusals
from ..store.reader import StoreReader
from .alerts import AlertsReader
from .node_exporter import hwmon_metrics
from .sample_events import SampleWatcher
from .workers import WorkerCounters, WorkerPublisher, read_worker_counters

# ---------------------------------------------------------------------------------------------
# FrostServer's own series.


def sensor_metrics(pairs: Iterable[tuple[Sensor, Reading]], frost_threshold: float) -> list[Metric]:
    """Render frost_sensor_* families: every sensor's value and status, as the API shows them."""
    # Values as `sensors` shows them (lm-sensors' computes applied, its labels and [relabel]'s),
    # where node_hwmon_* keeps node_exporter's raw numbers; sensors.conf's `ignore` leaves a
    # sensor out here and keeps it there.
    # label and place are what a person typed ([customize], the browser): prometheus_client escapes
    # them in the exposition (backslash, double quote, newline), as it must any label value.
    values = GaugeMetricFamily(
        "frost_sensor_value",
        "Latest value of a sensor, in its unit (lm-sensors computes and calibration applied)",
        labels=("sensor", "chip", "kind", "unit", "label", "place"),
    )
    status = GaugeMetricFamily(
        "frost_sensor_status",
        "1 for the current status of each sensor (ok, alarm, disabled, fault, error)",
        labels=("sensor", "chip", "source", "status"),
    )
    sources: dict[str, int] = {}
    for sensor, reading in pairs:
        if sensor.ignored:
            continue
        sources[sensor.source] = sources.get(sensor.source, 0) + 1
        status.add_metric([sensor.id, sensor.chip, sensor.source, reading.status], 1.0)
        # No value, no sample (never NaN); an infinity the sampler let through is no value either.
        if reading.value is not None and math.isfinite(reading.value):
            labels = [sensor.id, sensor.chip, sensor.kind, sensor.unit, sensor.label, sensor.place or ""]
            values.add_metric(labels, reading.value)
    count = GaugeMetricFamily("frost_sensors", "Sensors in the latest sample", labels=("source",))
    for source in sorted(sources):
        count.add_metric([source], sources[source])
    threshold = GaugeMetricFamily(
        "frost_threshold_celsius",
        "A temperature at or below this is frost (frost_threshold: the config file, or set in the browser)",
        value=frost_threshold,
    )
    return [values, status, count, threshold]


def sampler_metrics(stats: Counters | None, sampled_at: float | None) -> list[Metric]:
    """Render the sampler's counters (store/counters.py) and when it took the newest sample."""
    out: list[Metric] = []
    if sampled_at is not None:
        out.append(
            GaugeMetricFamily(
                "frost_last_sample_timestamp_seconds", "When the latest sample was taken", value=sampled_at
            )
        )
    if stats is None:
        return out
    out.append(
        CounterMetricFamily("frost_samples", "Samples taken by the current sampler process", value=stats.samples)
    )
    buckets, cumulative = [], 0
    for bound, count in zip(stats.duration_bounds, stats.duration_buckets, strict=True):
        cumulative += count
        label = floatToGoString(bound)  # type: ignore[no-untyped-call]  # untyped in the library
        buckets.append((label, cumulative))
    buckets.append(("+Inf", stats.samples))
    out.append(
        HistogramMetricFamily(
            "frost_sample_duration_seconds",
            "Time to read every sensor once and publish the sample",
            buckets=buckets,
            sum_value=stats.durations_sum,
        )
    )
    errors = CounterMetricFamily(
        "frost_sensor_read_errors", "Readings that failed (status error), by chip", labels=("chip",)
    )
    for chip, count in sorted(stats.read_errors_by_chip.items()):
        errors.add_metric([chip], count)
    out.append(errors)
    failures = CounterMetricFamily(
        "frost_source_failures", "Samples in which a whole sensor source failed", labels=("source",)
    )
    for source, count in sorted(stats.source_failures.items()):
        failures.add_metric([source], count)
    out.append(failures)
    out.append(
        GaugeMetricFamily(
            "frost_dropped_sensors",
            "Sensors the history has no room for (FROST_MAX_SENSORS)",
            value=stats.dropped_sensors,
        )
    )
    history = stats.history
    if history is not None:
        out += [
            CounterMetricFamily(
                "frost_history_write_errors",
                "Writes to the history on disk that failed (full or read-only disk, broken file)",
                value=history.write_errors,
            ),
            GaugeMetricFamily(
                "frost_history_pending_minutes",
                "Minutes of history held in memory, not yet on disk",
                value=history.pending_minutes,
            ),
        ]
    hwmon = stats.hwmon
    if hwmon is not None:
        out += [
            CounterMetricFamily(
                "frost_hwmon_attribute_reads", "sysfs attribute reads issued", value=hwmon.attribute_reads
            ),
            CounterMetricFamily(
                "frost_hwmon_slow_reads", "sysfs attribute reads slower than 50 ms", value=hwmon.slow_reads
            ),
            CounterMetricFamily(
                "frost_hwmon_read_timeouts",
                "sysfs attribute reads abandoned at the read timeout (FROST_READ_TIMEOUT)",
                value=hwmon.timeouts,
            ),
            GaugeMetricFamily(
                "frost_hwmon_stuck_reads",
                "sysfs attribute reads still blocked in the kernel",
                value=hwmon.stuck_reads,
            ),
        ]
    return out


def alert_metrics(firing_by_rule: dict[str, int], notifier: NotifierStatus) -> list[Metric]:
    """Render the alerts firing, by rule, and what the notifier sent."""
    firing = GaugeMetricFamily("frost_alerts_firing", "Alerts firing now, by rule", labels=("rule",))
    for rule, count in sorted(firing_by_rule.items()):
        firing.add_metric((rule,), count)
    sent = CounterMetricFamily(
        "frost_notifications",
        "Attempts to send a notification to one target, by result (failed ones are retried; dropped: given up)",
        labels=("result",),
    )
    for result, count in notifier.results.items():
        sent.add_metric((result,), count)
    return [firing, sent]


def worker_metrics(workers: dict[int, WorkerCounters], version: str) -> list[Metric]:
    """Render the per-worker part: build info and every live worker's open streams."""
    info = InfoMetricFamily("frost_build", "FrostServer's version", value={"version": version})
    streams = GaugeMetricFamily(
        "frost_stream_clients", "Open event streams (/api/v1/stream), by Gunicorn worker", labels=("worker",)
    )
    for pid in sorted(workers):
        streams.add_metric([str(pid)], workers[pid].streams)
    return [info, streams]


# ---------------------------------------------------------------------------------------------
# The collectors and the renderer.


class SampleCollector:
    """Collect every series of the newest sample: node_exporter's, then FrostServer's own."""

    def __init__(self, store: StoreReader, frost_threshold: float):
        self.store = store
        self.frost_threshold = frost_threshold  # the config file's, until the sampler says what it applies

    def collect(self) -> Iterator[Metric]:
        sample = self.store.latest_sample()
        pairs = sample.pairs if sample else ()
        applied = self.store.applied.current()
        yield from hwmon_metrics(pairs, self.store.chips.current().chips)
        yield from sensor_metrics(pairs, self.frost_threshold if applied is None else applied.frost_threshold)
        yield from sampler_metrics(self.store.counters.current(), sample.sampled_at if sample else None)


class WorkersCollector:
    """Collect the build info and every live worker's own counters."""

    def __init__(self, run_dir: Path, own: WorkerPublisher, version: str):
        self.run_dir = run_dir
        self.own = own
        self.version = version
        self.workers: dict[int, WorkerCounters] = {}
        self.refusals = Refusals()  # of other workers' files, said once in a while: /metrics is polled

    def refresh(self) -> tuple[object, ...]:
        """Read every worker's counters (this worker's live); return a key that changes with them."""
        workers = read_worker_counters(self.run_dir, self.refusals)
        workers[os.getpid()] = self.own.counters()
        self.workers = workers
        return tuple(sorted((pid, counters.streams) for pid, counters in workers.items()))

    def collect(self) -> Iterator[Metric]:
        yield from worker_metrics(self.workers, self.version)


class AlertsCollector:
    """Collect the alert series: small, and collected at every scrape (sampling_stopped ages with time)."""

    def __init__(self, alerts: AlertsReader):
        self.alerts = alerts

    def collect(self) -> Iterator[Metric]:
        yield from alert_metrics(self.alerts.firing_by_rule(), self.alerts.notifier_status.current())


class MetricsRenderer:
    """Render /metrics for one worker: the sample's part once per sample, the workers' part when it changes."""

    def __init__(
        self, store: StoreReader, frost_threshold: float, watcher: SampleWatcher, version: str, alerts: AlertsReader
    ):
        self.store = store
        self.publisher = WorkerPublisher(store.run_dir, lambda: WorkerCounters(streams=watcher.streams))
        self.samples = CollectorRegistry(auto_describe=False)
        self.samples.register(SampleCollector(store, frost_threshold))
        self.workers_collector = WorkersCollector(store.run_dir, self.publisher, version)
        self.workers = CollectorRegistry(auto_describe=False)
        self.workers.register(self.workers_collector)
        self.alerts = CollectorRegistry(auto_describe=False)
        self.alerts.register(AlertsCollector(alerts))
        self._sample_part: tuple[object, bytes] = (object(), b"")
        self._workers_part: tuple[object, bytes] = (object(), b"")
        self._lock = threading.Lock()  # gthread: one render per sample even when scrapes overlap

    def render(self) -> bytes:
        """Return the whole exposition (text format 0.0.4, as node_exporter serves)."""
        with self._lock:
            key = (
                self.store.latest.identity(),
                self.store.counters.identity(),
                self.store.chips.identity(),
                self.store.applied.identity(),
            )
            if key != self._sample_part[0]:
                self._sample_part = (key, generate_latest(self.samples))
            workers_key = self.workers_collector.refresh()
            if workers_key != self._workers_part[0]:
                self._workers_part = (workers_key, generate_latest(self.workers))
            return self._sample_part[1] + generate_latest(self.alerts) + self._workers_part[1]
