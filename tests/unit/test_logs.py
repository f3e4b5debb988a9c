"""The rate limit on messages that can repeat at every sample, driven by a fake clock."""

from __future__ import annotations

import logging
import threading

import pytest

from frostserver.logs import MAX_KEYS, REPEAT_EVERY, RepeatLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(caplog):
    caplog.set_level(logging.DEBUG, logger="repeat_limiter_test")
    clock = FakeClock()
    return RepeatLimiter(logging.getLogger("repeat_limiter_test"), clock=clock), clock, caplog


def test_a_message_repeated_every_second_is_logged_once_per_window_with_its_count(limited):
    repeats, clock, caplog = limited
    for _ in range(3 * 300 + 1):  # 15 minutes of a sample a second, and one more
        repeats.warning("sensor source %s failed", "hwmon")
        clock.now += 1.0
    assert [record.getMessage() for record in caplog.records] == [
        "sensor source hwmon failed",
        "sensor source hwmon failed (repeated 299 times in the last 5 min)",
        "sensor source hwmon failed (repeated 299 times in the last 5 min)",
        "sensor source hwmon failed (repeated 299 times in the last 5 min)",
    ]
    assert {record.levelno for record in caplog.records} == {logging.WARNING}


def test_it_tells_whether_it_logged(limited):
    repeats, clock, _ = limited
    assert repeats.info("x") is True
    assert repeats.info("x") is False
    clock.now += REPEAT_EVERY
    assert repeats.info("x") is True


def test_a_message_after_a_quiet_spell_has_no_count_and_says_the_real_time(limited):
    repeats, clock, caplog = limited
    repeats.error("history failed")
    clock.now += 3600
    repeats.error("history failed")
    clock.now += 10
    repeats.error("history failed")
    clock.now += 7200
    repeats.error("history failed")
    assert [record.getMessage() for record in caplog.records] == [
        "history failed",
        "history failed",
        "history failed (repeated 1 times in the last 120 min)",
    ]


def test_messages_are_told_apart_by_format_or_by_key(limited):
    repeats, _, caplog = limited
    repeats.warning("read of %s did not finish", "/sys/a")
    repeats.warning("read of %s did not finish", "/sys/b")  # the same message: limited together
    repeats.warning("read of %s stuck", "/sys/a", key="/sys/a")
    repeats.warning("read of %s stuck", "/sys/b", key="/sys/b")  # its own key: logged
    repeats.warning("read of %s stuck", "/sys/b", key="/sys/b")
    assert [record.getMessage() for record in caplog.records] == [
        "read of /sys/a did not finish",
        "read of /sys/a stuck",
        "read of /sys/b stuck",
    ]


def test_exception_logs_the_traceback_and_a_percent_in_arguments_is_text(limited):
    repeats, _, caplog = limited
    try:
        raise RecursionError("maximum recursion depth exceeded")
    except RecursionError:
        repeats.exception("sensor source %s failed", "100% broken")
        repeats.exception("sensor source %s failed", "100% broken")
    (record,) = caplog.records
    assert record.getMessage() == "sensor source 100% broken failed"
    assert record.exc_info is not None and record.exc_info[0] is RecursionError


def test_keys_are_bounded(limited):
    repeats, clock, _ = limited
    for number in range(3 * MAX_KEYS):
        repeats.debug("sensor %s", number, key=number)
        clock.now += 1.0
    assert len(repeats._seen) <= MAX_KEYS


def test_threads_sharing_one_limiter_log_a_message_once(limited):
    repeats, _, caplog = limited
    start = threading.Barrier(8)

    def hammer() -> None:
        start.wait()
        for _ in range(500):
            repeats.warning("reading %s failed", "hwmon3")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(caplog.records) == 1
