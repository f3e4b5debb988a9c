"""Issue 3 through nginx: one sampler feeds every worker, and broken hardware hurts no one."""
import re
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import sensors_by_id
from waiting import eventually

PACKAGE = "coretemp-isa-0000/temp1"


def history(stack, seconds=60, sensor=PACKAGE):
    response = requests.get(stack.url("/api/v1/history"), params={"seconds": seconds, "sensor": sensor},
                            timeout=5)
    assert response.status_code == 200, response.text
    return response.headers["X-Frost-Worker"], response.json()


def test_every_worker_serves_the_same_series_from_the_one_sampler(stack):
    eventually(lambda: len(history(stack)[1]["timestamps"]) >= 3, "three samples of history")
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
    # Only samples taken during this test: another test may have stopped the sampler earlier.
    started = time.time()
    timestamps = eventually(lambda: (lambda ts: ts if len(ts) >= 7 else None)(
        [t for t in history(stack, seconds=30)[1]["timestamps"] if t > started]), "seven new samples")
    assert timestamps == sorted(set(timestamps))
    # Samples start on a fixed grid of one interval: a busy machine may start one late, or skip a
    # tick it overran, but never samples twice in a tick to catch up. So however loaded the
    # machine, the samples are at most one per tick of their span, and a couple more for a first
    # one that started late.
    interval = float(requests.get(stack.url("/api/v1/sensors"), timeout=5).json()["interval"])
    span = timestamps[-1] - timestamps[0]
    assert len(timestamps) <= span / interval + 3, timestamps
    # And it keeps its interval: on average at most two, which only a sampler skipping every other
    # tick, or sampling at half its rate, exceeds (a bound for the busiest machine, not a speed).
    assert span / (len(timestamps) - 1) <= 2 * interval, timestamps


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


def counter(stack, name: str) -> float:
    metrics = requests.get(stack.url("/metrics"), timeout=5).text
    return float(re.search(rf"^{name} (\S+)$", metrics, re.M)[1])


def newest_sample(stack) -> int:
    return requests.get(stack.url("/readyz"), timeout=5).json()["samples"]


def test_a_blocked_attribute_does_not_stall_sampling(stack):
    # The broken chip's temp11_input is a FIFO whose read blocks forever. Samples go on...
    start = eventually(lambda: newest_sample(stack), "the sampler to be ready")
    timeouts = counter(stack, "frost_hwmon_read_timeouts_total")
    eventually(lambda: newest_sample(stack) >= start + 3, "three more samples")
    # ...and none of them waits for it again: it was abandoned once, at a deadline, and is not
    # read again until its read returns. A sample that read it would time out on it again.
    assert counter(stack, "frost_hwmon_read_timeouts_total") == timeouts >= 1
    assert counter(stack, "frost_hwmon_stuck_reads") == 1
    assert requests.get(stack.url("/readyz"), timeout=5).status_code == 200


def test_history_rejects_bad_parameters_with_a_json_400(stack):
    for params in ({"seconds": "soon"}, {"seconds": "-5"}, {"sensor": "no-such-chip/temp1"}):
        response = requests.get(stack.url("/api/v1/history"), params=params, timeout=5)
        assert response.status_code == 400, params
        assert response.json()["parameter"] in params


def test_a_chip_that_appears_or_vanishes_is_seen_without_a_restart(stack):
    chip = stack.tree.add_chip("hotplug", device="platform/hotplug.0", bus="platform", driver="hotplug")
    chip.write("temp1_input", 33000)
    eventually(lambda: sensors_by_id(stack).get("hotplug-isa-0000/temp1", {}).get("value") == 33.0,
               "the hot-plugged chip")
    chip.remove()
    eventually(lambda: "hotplug-isa-0000/temp1" not in sensors_by_id(stack), "the chip to vanish")
