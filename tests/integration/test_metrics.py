"""/metrics through nginx: node_exporter's hwmon series and frost_*, whichever worker answers."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import REPO
from waiting import eventually

CORE_PACKAGE = 'node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp1"}'
# What node_exporter printed for each fixture tree (tests/unit/test_metrics.py diffs the app's
# exposition against them in-process). Here: fixtures the session stack's tree carries as they
# are, none of whose node_exporter series FrostServer leaves out on purpose.
GOLDEN = REPO / "tests" / "unit" / "golden"
GOLDEN_FIXTURES = ("coretemp", "nvme", "amdgpu", "ds18b20")


def scrape(stack) -> tuple[dict[str, float], str]:
    """Return ({'name{labels}': value}, the answering worker) of one scrape."""
    response = requests.get(stack.url("/metrics"), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found, response.headers["X-Frost-Worker"]


def golden_series(fixture: str) -> dict[str, float]:
    """Return node_exporter's node_hwmon_* series for one fixture tree, keyed like scrape()."""
    found = {}
    for family in text_string_to_metric_families((GOLDEN / f"node_exporter-{fixture}.prom").read_text()):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def scrape_every_worker(stack) -> dict[str, dict[str, float]]:
    """Scrape until at least two workers have answered; return the last scrape of each by worker."""
    by_worker = {}
    # Concurrent bursts make nginx open several upstream connections, which the workers race
    # to accept; sequential scrapes would all ride one kept-alive connection to one worker.
    with ThreadPoolExecutor(max_workers=16) as pool:
        for _ in range(20):
            for found, worker in pool.map(lambda _: scrape(stack), range(32)):
                by_worker[worker] = found
            if len(by_worker) >= 2:
                return by_worker
    raise AssertionError("every scrape went to one worker; cannot compare")


@pytest.mark.smoke
@pytest.mark.parametrize("fixture", GOLDEN_FIXTURES)
def test_hwmon_series_through_nginx_are_node_exporters_golden(stack, fixture):
    expected = golden_series(fixture)
    assert expected, "an empty golden proves nothing"

    differ: dict[str, tuple] = {}

    def same_as_golden() -> bool:
        found, _ = scrape(stack)
        differ.clear()
        differ.update({key: (value, found.get(key)) for key, value in expected.items() if found.get(key) != value})
        return not differ

    # On a busy machine a sample may lack a read cut off at its deadline: wait for one with them all.
    try:
        eventually(same_as_golden, f"the series of node_exporter's {fixture} golden")
    except BaseException:
        print(f"(golden, served) where they differ: {differ}")
        raise


@pytest.mark.smoke
def test_hwmon_series_and_build_info(stack):
    found, _ = scrape(stack)
    assert found[CORE_PACKAGE] == 45.0
    assert found['node_hwmon_chip_names{chip="platform_coretemp_0",chip_name="coretemp"}'] == 1
    assert found['node_hwmon_sensor_label{chip="platform_coretemp_0",label="Package id 0",sensor="temp1"}'] == 1
    assert any(key.startswith("frost_build_info{") for key in found)
    # the broken chip: the faulted sensor's value is left out, its fault flag is not
    assert 'node_hwmon_temp_celsius{chip="platform_broken_0",sensor="temp6"}' not in found
    assert found['node_hwmon_temp_fault{chip="platform_broken_0",sensor="temp6"}'] == 1
    # the FIFO attribute that blocks every read: timed out, counted, and its chip's other sensors served
    assert found['node_hwmon_temp_celsius{chip="platform_broken_0",sensor="temp9"}'] == 40.0
    assert 'node_hwmon_temp_celsius{chip="platform_broken_0",sensor="temp11"}' not in found
    assert found["frost_hwmon_read_timeouts_total{}"] >= 1
    assert found['frost_sensor_read_errors_total{chip="broken-isa-0000"}'] >= 1


def test_every_worker_serves_the_samplers_counters(stack):
    # The sampler runs in one worker; its counters reach the others through the store.
    by_worker = scrape_every_worker(stack)
    assert all(found["frost_samples_total{}"] > 0 for found in by_worker.values())
    assert all(found["frost_sample_duration_seconds_count{}"] > 0 for found in by_worker.values())


def test_stream_clients_are_counted_whichever_worker_is_scraped(stack):
    with requests.get(stack.url("/api/v1/stream"), stream=True, timeout=10) as stream:
        assert stream.status_code == 200
        worker = stream.headers["X-Frost-Worker"]
        key = f'frost_stream_clients{{worker="{worker}"}}'

        def counted_by_every_worker():
            by_worker = scrape_every_worker(stack)
            return all(found.get(key, 0) >= 1 for found in by_worker.values())

        # each worker publishes its count within a second of a change
        eventually(counted_by_every_worker, "every worker reporting the open stream", interval=0.5)
