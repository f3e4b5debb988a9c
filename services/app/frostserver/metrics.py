"""Prometheus metrics at /metrics: node_exporter's hwmon series plus FrostServer's own.

Everything comes from what the sampler already published (the latest document, the node_exporter
labels and raw values in exporter.json, its counters in stats.json, each worker's counters in
workers/): a scrape never reads sysfs.  Each worker
renders the sample-dependent part once per sample and keeps it; only its small per-worker part
is rendered on every scrape.

Hardware series follow node_exporter's hwmon collector (collector/hwmon_linux.go, 1.9 as
Debian 13 ships it) name for name, label for label and value for value, quirks included, so
dashboards and alerts written for node_exporter keep working.  Deliberate differences (see
tests/unit/test_metrics.py, which diffs against node_exporter's own output):
- a reading that is faulted, disabled, unreadable or implausible is left out instead of exported;
- limits and other attributes are read with the chip metadata (every 60 s), not at every scrape;
- chip-wide attributes (beep_enable, update_interval, vrm) and files of the parent device that
  are not hwmon attributes (a thermal zone's `temp`) are not exported;
- several hwmon devices on one parent device get distinct `chip` labels ("...~2"), where
  node_exporter fails on the colliding series;
- sensors excluded in the config file are not exported.
"""
from __future__ import annotations

import os
import threading
import time

from flask import Blueprint, Response, current_app
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily,
                                    InfoMetricFamily, Metric)
from prometheus_client.utils import floatToGoString

from .exporter_names import clean_metric_name
from .store import publish_worker_stats, read_worker_stats

bp = Blueprint("metrics", __name__)
_LABELS = ("chip", "sensor")
_FLAGS = ("fault", "enable")  # with *alarm: read per sample, exported even without a value


@bp.get("/metrics")
def metrics():
    """Serve every metric in Prometheus's text format."""
    renderer: MetricsRenderer = current_app.extensions["frost.metrics"]
    response = Response(renderer.render(), mimetype=None, content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_app_request
def _publish_this_worker():
    current_app.extensions["frost.metrics"].publisher.ensure_running()


def init_app(app, version: str) -> None:
    """Create this worker's renderer (called by create_app)."""
    app.extensions["frost.metrics"] = MetricsRenderer(
        app.extensions["frost.store"], app.extensions["frost.latest"], app.extensions["frost.settings"],
        app.extensions["frost.frost_threshold"], app.extensions["frost.notifier"], version)
    app.register_blueprint(bp)


# ---------------------------------------------------------------------------------------------
# node_exporter's hwmon series.


def hwmon_series(sensor_type: str, element: str, raw: float, has_bare_value: bool, label: str | None):
    """Name, help, type and value of one hwmon attribute as node_exporter exports it, or None.

    `element` is the attribute's property ("input", "max", "crit_alarm", "" for pwmN);
    `raw` its number in sysfs units. Returns (name, help, type, value, sensor label or None).
    """
    # Same order of checks and the same float arithmetic as hwmon_linux.go, so values match to
    # the last bit (84850 * 0.001 is 84.85000000000001 there too).
    name = "node_hwmon_" + sensor_type
    if element == "input":
        if has_bare_value:
            name += "_input"
    elif element:
        name += "_" + clean_metric_name(element)
    if element in ("fault", "alarm"):
        return name, f"Hardware sensor {element} status ({sensor_type})", "gauge", raw, None
    if element == "beep":
        return name + "_enabled", "Hardware monitor sensor has beeping enabled", "gauge", raw, None
    # Everything else gets a unit -- including *_crit_alarm, *_enable and *_offset: node_exporter's
    # quirk, kept so that existing queries see the same numbers (temp1_crit_alarm=1 is 0.001).
    if sensor_type in ("in", "cpu"):
        return name + "_volts", f"Hardware monitor for voltage ({element})", "gauge", raw * 0.001, None
    if sensor_type == "temp" and element != "type":
        element = element or "input"
        return name + "_celsius", f"Hardware monitor for temperature ({element})", "gauge", raw * 0.001, None
    if sensor_type == "curr":
        return name + "_amps", f"Hardware monitor for current ({element})", "gauge", raw * 0.001, None
    if sensor_type == "energy":
        return (name + "_joule_total", f"Hardware monitor for joules used so far ({element})", "counter",
                raw / 1000000.0, None)
    if sensor_type == "power" and element == "accuracy":
        return name, "Hardware monitor power meter accuracy, as a ratio", "gauge", raw / 1000000.0, None
    if sensor_type == "power" and element in ("average_interval", "average_interval_min", "average_interval_max"):
        return (name + "_seconds", f"Hardware monitor power usage update interval ({element})", "gauge",
                raw * 0.001, None)
    if sensor_type == "power":
        return name + "_watt", f"Hardware monitor for power usage in watts ({element})", "gauge", raw / 1000000.0, None
    if sensor_type == "humidity":
        # Milli-percent divided by 1e6: a tenth of the true ratio (45.2 %RH -> 0.0452).  Kept as
        # node_exporter has it; frost_sensor_value is not affected.
        return (name, "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a "
                f"percentage) ({element})", "gauge", raw / 1000000.0, None)
    if sensor_type == "fan" and element in ("input", "min", "max", "target"):
        return name + "_rpm", f"Hardware monitor for fan revolutions per minute ({element})", "gauge", raw, None
    if sensor_type == "freq":
        # Only labelled clocks, and the cleaned label replaces the sensor name (amdgpu sclk, mclk).
        if element == "input" and label is not None:
            return name + "_freq_mhz", "Hardware monitor for GPU frequency in MHz", "gauge", raw / 1000000.0, clean_metric_name(label)
        return None
    return name, f"Hardware monitor {sensor_type} element {element}", "gauge", raw, None


def _is_flag(element: str) -> bool:
    return element in _FLAGS or element == "alarm" or element.endswith("_alarm")


class _Families:
    """Collect samples by metric name, first one of a series wins (as in node_exporter)."""

    def __init__(self):
        self.families: dict[str, tuple[str, str, dict]] = {}

    def add(self, name: str, help_text: str, kind: str, labels: tuple, value: float) -> None:
        _, _, samples = self.families.setdefault(name, (kind, help_text, {}))
        samples.setdefault(labels, value)

    def metrics(self, label_names: dict[str, tuple[str, ...]]) -> list[Metric]:
        out = []
        for name in sorted(self.families):
            kind, help_text, samples = self.families[name]
            names = label_names.get(name, _LABELS)
            family = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(name, help_text, labels=names)
            for labels in sorted(samples):
                family.add_metric(list(labels), samples[labels])
            out.append(family)
        return out


def hwmon_metrics(sensors: list[dict]) -> list[Metric]:
    """Render node_exporter's node_hwmon_* families from the latest document's sensors."""
    families = _Families()
    for doc in sensors:
        exporter = doc.get("exporter")
        if not exporter:
            continue
        chip, sensor = exporter["chip"], exporter["sensor"]
        if exporter["chip_name"]:
            families.add("node_hwmon_chip_names", "Annotation metric for human-readable chip names", "gauge",
                         (chip, exporter["chip_name"]), 1.0)
        if exporter["label"] is not None:
            families.add("node_hwmon_sensor_label", "Label for given chip and sensor", "gauge",
                         (chip, sensor, exporter["label"]), 1.0)
        elements = dict(exporter["attributes"])
        for element, raw in doc.get("raw", {}).items():
            # The reading itself only when FrostServer trusts it; flags always.
            if doc["value"] is not None or _is_flag(element):
                elements[element] = raw
        sensor_type = sensor.rstrip("0123456789")
        has_bare_value = "" in elements
        for element, raw in elements.items():
            series = hwmon_series(sensor_type, element, float(raw), has_bare_value, exporter["label"])
            if series is not None:
                name, help_text, kind, value, renamed = series
                families.add(name, help_text, kind, (chip, renamed or sensor), value)
    return families.metrics({"node_hwmon_chip_names": ("chip", "chip_name"),
                             "node_hwmon_sensor_label": ("chip", "sensor", "label")})


# ---------------------------------------------------------------------------------------------
# FrostServer's own series.


def sensor_metrics(sensors: list[dict], frost_threshold: float) -> list[Metric]:
    """Render frost_sensor_* families: config-file sensors' values, every sensor's status."""
    values = GaugeMetricFamily("frost_sensor_value", "Latest value of a config-file sensor, in its unit",
                               labels=("sensor", "chip", "kind", "unit"))
    status = GaugeMetricFamily("frost_sensor_status", "1 for the current status of each sensor "
                               "(ok, alarm, disabled, fault, error)", labels=("sensor", "chip", "source", "status"))
    sources: dict[str, int] = {}
    for doc in sensors:
        sources[doc["source"]] = sources.get(doc["source"], 0) + 1
        status.add_metric([doc["id"], doc["chip"], doc["source"], doc["status"]], 1.0)
        if doc["source"] != "hwmon" and doc["value"] is not None:
            values.add_metric([doc["id"], doc["chip"], doc["kind"], doc["unit"]], doc["value"])
    count = GaugeMetricFamily("frost_sensors", "Sensors in the latest sample", labels=("source",))
    for source in sorted(sources):
        count.add_metric([source], sources[source])
    threshold = GaugeMetricFamily("frost_threshold_celsius", "A temperature at or below this is frost "
                                  "(frost_threshold in the config file)", value=frost_threshold)
    return [values, status, count, threshold]


def sampler_metrics(stats: dict, header) -> list[Metric]:
    """Render the sampler's counters, as published in stats.json, and the store's clock."""
    out: list[Metric] = []
    if header is not None and header.seq:
        out.append(GaugeMetricFamily("frost_last_sample_timestamp_seconds", "When the latest sample was taken",
                                     value=header.last_timestamp))
    if not stats:
        return out
    out.append(CounterMetricFamily("frost_samples", "Samples taken by the current sampler process",
                                   value=stats["samples"]))
    buckets, cumulative = [], 0
    for bound, count in zip(stats["duration_bounds"], stats["duration_buckets"]):
        cumulative += count
        buckets.append((floatToGoString(bound), cumulative))
    buckets.append(("+Inf", stats["samples"]))
    out.append(HistogramMetricFamily("frost_sample_duration_seconds", "Time to read every sensor once and "
                                     "publish the sample", buckets=buckets, sum_value=stats["durations_sum"]))
    errors = CounterMetricFamily("frost_sensor_read_errors", "Readings that failed (status error), by chip",
                                 labels=("chip",))
    for chip, count in sorted(stats["read_errors_by_chip"].items()):
        errors.add_metric([chip], count)
    out.append(errors)
    failures = CounterMetricFamily("frost_source_failures", "Samples in which a whole sensor source failed",
                                   labels=("source",))
    for source, count in sorted(stats["source_errors"].items()):
        failures.add_metric([source], count)
    out.append(failures)
    out.append(GaugeMetricFamily("frost_dropped_sensors", "Sensors the history has no room for "
                                 "(FROST_MAX_SENSORS)", value=stats["dropped_sensors"]))
    hwmon = stats.get("sources", {}).get("hwmon")
    if hwmon:
        out += [
            CounterMetricFamily("frost_hwmon_attribute_reads", "sysfs attribute reads issued",
                                value=hwmon["attribute_reads"]),
            CounterMetricFamily("frost_hwmon_slow_reads", "sysfs attribute reads slower than 50 ms",
                                value=hwmon["slow_reads"]),
            CounterMetricFamily("frost_hwmon_read_timeouts", "sysfs attribute reads abandoned at the "
                                "read timeout (FROST_READ_TIMEOUT)", value=hwmon["timeouts"]),
            GaugeMetricFamily("frost_hwmon_stuck_reads", "sysfs attribute reads still blocked in the kernel",
                              value=hwmon.get("stuck_reads", 0)),
        ]
    return out


def worker_metrics(workers: dict[int, dict], version: str) -> list[Metric]:
    """Render the per-worker part: build info and every live worker's open streams."""
    info = InfoMetricFamily("frost_build", "FrostServer's version", value={"version": version})
    streams = GaugeMetricFamily("frost_stream_clients", "Open event streams (/api/v1/stream), by Gunicorn worker",
                                labels=("worker",))
    for pid in sorted(workers):
        streams.add_metric([str(pid)], workers[pid].get("streams", 0))
    return [info, streams]


class _Metrics:
    """A collector of families computed beforehand, for the client library's text renderer."""

    def __init__(self, metrics: list[Metric]):
        self.metrics = metrics

    def collect(self):
        return iter(self.metrics)


def render_text(metrics: list[Metric]) -> bytes:
    """Render families in the text format every Prometheus reads (0.0.4, as node_exporter serves)."""
    return generate_latest(_Metrics(metrics))


class WorkerPublisher:
    """Publish this worker's own counters (open streams) to the run directory when they change."""

    def __init__(self, run_dir, notifier, every: float = 1.0):
        self.run_dir = run_dir
        self.notifier = notifier
        self.every = every
        self._pid = None
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        """Start the publishing thread once per process (a no-op on every later request)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self.publish()
            threading.Thread(target=self._run, name="frost-worker-stats", daemon=True).start()

    def current(self) -> dict:
        return {"streams": self.notifier.streams}

    def publish(self) -> dict:
        current = self.current()
        try:
            publish_worker_stats(self.run_dir, os.getpid(), current)
        except OSError:
            pass  # the run directory is the sampler's to create; the next change retries
        return current

    def _run(self) -> None:
        published = self.current()
        while True:
            time.sleep(self.every)
            if self.current() != published:
                published = self.publish()


class MetricsRenderer:
    """Render /metrics for one worker, re-rendering the sample-dependent part once per sample."""

    def __init__(self, store, latest, settings, frost_threshold: float, notifier, version: str):
        self.store = store
        self.latest = latest
        self.frost_threshold = frost_threshold
        self.version = version
        self.publisher = WorkerPublisher(settings.run_dir, notifier)
        self._key: tuple | None = None
        self._sample_text = b""
        self._lock = threading.Lock()

    def render(self) -> bytes:
        """Return the whole exposition: the cached sample part, then this scrape's worker part."""
        header = self.store.header()
        stats = self.store.stats()
        key = (header.seq if header else 0, stats.get("seq"), stats.get("pid"))
        with self._lock:  # gthread: one render per sample even when scrapes overlap
            if key != self._key:
                extras = self.store.exporter()
                sensors = [dict(doc, **extras.get(doc["id"], {})) for doc in self.latest.get().values()]
                self._sample_text = render_text(
                    hwmon_metrics(sensors) + sensor_metrics(sensors, self.frost_threshold)
                    + sampler_metrics(stats, header))
                self._key = key
            workers = read_worker_stats(self.store.run_dir)
            workers[os.getpid()] = self.publisher.current()  # our own, live
            return self._sample_text + render_text(worker_metrics(workers, self.version))
