"""Issue 3 through nginx: one sampler feeds every worker, and broken hardware hurts no one."""
import re
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import sensors_by_id, wait_until

PACKAGE = "coretemp-isa-0000/temp1"


def history(stack, seconds=60, sensor=PACKAGE):
    response = requests.get(stack.url("/api/v1/history"), params={"seconds": seconds, "sensor": sensor},
                            timeout=5)
    assert response.status_code == 200, response.text
    return response.headers["X-Frost-Worker"], response.json()


def test_every_worker_serves_the_same_series_from_the_one_sampler(stack):
    wait_until(lambda: len(history(stack)[1]["timestamps"]) >= 3, 10, what="three samples of history")
    series_by_worker = {}
    # Concurrent bursts make nginx open several upstream connections, which the workers race
    # to accept; sequential requests would all ride one kept-alive connection to one worker.
    with ThreadPoolExecutor(max_workers=16) as pool:
        for _ in range(20):
            for worker, body in pool.map(lambda _: history(stack), range(32)):
                series_by_worker.setdefault(worker, []).append(
                    dict(zip(body["timestamps"], body["series"][PACKAGE])))
            if len(series_by_worker) >= 2:
                break
    assert len(series_by_worker) >= 2, "all requests went to one worker; cannot compare"
    (first, *_), (second, *_) = list(series_by_worker.values())[:2]
    common = set(first) & set(second)
    # Two samplers would each have their own timestamps; one sampler gives one series.
    assert len(common) >= min(len(first), len(second)) - 2
    assert all(first[t] == second[t] for t in common)


def test_samples_keep_the_interval_and_timestamps_are_unique(stack):
    _, body = history(stack, seconds=30)
    timestamps = body["timestamps"]
    assert timestamps == sorted(set(timestamps))
    gaps = [b - a for a, b in zip(timestamps, timestamps[1:])]
    assert gaps and all(0.5 <= gap <= 2.5 for gap in gaps), gaps


def test_a_broken_chip_reports_errors_without_hurting_the_others(stack):
    sensors = sensors_by_id(stack)
    broken = {sid: s for sid, s in sensors.items() if s["chip"].startswith("broken-")}
    assert broken, "the broken chip is missing"
    by_channel = {s["channel"]: s for s in broken.values()}
    for channel in ("temp1", "temp2", "temp3", "temp4", "temp5"):
        assert by_channel[channel]["value"] is None and by_channel[channel]["status"] == "error", channel
        assert by_channel[channel]["error"], channel
    assert by_channel["temp6"]["status"] == "fault"
    assert by_channel["temp7"]["status"] == "disabled"
    assert by_channel["temp11"]["error"] == "timeout"  # a read that blocks forever
    healthy = [s for s in sensors.values() if s["chip"].startswith(("coretemp-", "nvme-", "nct6798-"))]
    assert healthy and all(s["status"] in ("ok", "alarm") and s["value"] is not None for s in healthy)


def test_a_blocked_attribute_does_not_stall_sampling(stack):
    # The history, not /api/v1/sensors: nginx may answer that from its one-second cache.
    first = history(stack, seconds=5)[1]["timestamps"][-1]
    time.sleep(2.2)
    second = history(stack, seconds=5)[1]["timestamps"][-1]
    assert 1.0 <= second - first <= 3.0
    assert requests.get(stack.url("/readyz"), timeout=5).status_code == 200
    # Samples keep their grid even if each waited out the stuck read; their duration does not:
    # the stuck attribute is not read again until its read returns, so no sample waits for it.
    metrics = requests.get(stack.url("/metrics"), timeout=5).text
    total = float(re.search(r"^frost_sample_duration_seconds_sum (\S+)$", metrics, re.M)[1])
    count = float(re.search(r"^frost_sample_duration_seconds_count (\S+)$", metrics, re.M)[1])
    assert count >= 5 and total / count < 0.25, (total, count)  # the read timeout is 0.5 s


def test_history_rejects_bad_parameters_with_a_json_400(stack):
    for params in ({"seconds": "soon"}, {"seconds": "-5"}, {"sensor": "no-such-chip/temp1"}):
        response = requests.get(stack.url("/api/v1/history"), params=params, timeout=5)
        assert response.status_code == 400, params
        assert response.json()["parameter"] in params


def test_a_chip_that_appears_or_vanishes_is_seen_without_a_restart(stack):
    chip = stack.tree.add_chip("hotplug", device="platform/hotplug.0", bus="platform", driver="hotplug")
    chip.write("temp1_input", 33000)
    wait_until(lambda: sensors_by_id(stack).get("hotplug-isa-0000/temp1", {}).get("value") == 33.0, 15,
               what="the hot-plugged chip")
    chip.remove()
    wait_until(lambda: "hotplug-isa-0000/temp1" not in sensors_by_id(stack), 15, what="the chip to vanish")
