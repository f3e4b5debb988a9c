"""Declared sensors: real files and real subprocesses, read in the background."""
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from waiting import PATIENCE, eventually

APP = Path(__file__).resolve().parents[2] / "services" / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

from frostserver.config_sensors import ConfigSensors  # noqa: E402
from frostserver.model import ERROR, OK, Reading, Sensor  # noqa: E402
from frostserver.config import load_settings  # noqa: E402

W1_GOOD = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
W1_BAD_CRC = "72 01 4b 46 7f ff 0e 10 57 : crc=57 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def start_sensors(tmp_path):
    """Load a config text and start its sensors; every one started is closed after the test."""
    started = []

    def start(text: str, clock=time.monotonic) -> ConfigSensors:
        path = tmp_path / "frostserver.toml"
        path.write_text(text, encoding="utf-8")
        sensors = ConfigSensors(load_settings({"FROST_CONFIG": str(path)}).sensors, clock=clock)
        started.append(sensors)
        return sensors

    yield start
    for sensors in started:
        sensors.close()


def toml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def python(code: str) -> str:
    """Return a TOML command line that runs code with this interpreter."""
    return f"command = [{toml_str(sys.executable)}, \"-c\", {toml_str(code)}]"


def first_reading(sensors: ConfigSensors, index: int = 0) -> Reading:
    """Wait for the first real read of a sensor and return it."""

    def read() -> Reading | None:
        reading = sensors.sample()[index][1]
        return reading if reading.error != "not read yet" else None

    return eventually(read, f"the first read of sensor {index}")


def wait_for_value(sensors: ConfigSensors, value: float) -> Reading:
    """Wait until the first sensor reads value."""

    def read() -> Reading | None:
        reading = sensors.sample()[0][1]
        return reading if reading.value == value else None

    return eventually(read, f"the sensor to read {value}")


def gone(pid: int) -> bool:
    """Tell whether a process has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_an_iio_file_is_read_and_scaled_to_degrees(tmp_path, start_sensors):
    attribute = tmp_path / "in_temp_input"
    attribute.write_text("23125\n")

    sensors = start_sensors(f"""
        [sensors.iio_board]
        file = {toml_str(str(attribute))}
        scale = 0.001
        kind = "temperature"
        label = "Board"
    """)

    assert first_reading(sensors) == Reading(23.125, OK)
    sensor = sensors.sample()[0][0]
    assert sensor == Sensor(
        id="config/iio_board", chip="config", chip_name="config", channel="iio_board",
        kind="temperature", label="Board", unit="°C", source="config",
    )
    assert sensor.thresholds == {}


def test_a_ds18b20_good_read_gives_its_temperature(tmp_path, start_sensors):
    w1_slave = tmp_path / "w1_slave"
    w1_slave.write_text(W1_GOOD)

    sensors = start_sensors(f"""
        [sensors.w1_garden]
        file = {toml_str(str(w1_slave))}
        regex = 'YES\\n.*t=(-?\\d+)'
        scale = 0.001
        kind = "temperature"
    """)

    assert first_reading(sensors) == Reading(23.125, OK)


def test_a_ds18b20_read_with_a_bad_crc_is_an_error_not_a_temperature(tmp_path, start_sensors):
    w1_slave = tmp_path / "w1_slave"
    w1_slave.write_text(W1_BAD_CRC)

    sensors = start_sensors(f"""
        [sensors.w1_garden]
        file = {toml_str(str(w1_slave))}
        regex = 'YES\\n.*t=(-?\\d+)'
        scale = 0.001
    """)

    assert first_reading(sensors) == Reading(None, ERROR, "no match for regex")


def test_the_example_w1_regex_rejects_a_bad_crc_too(tmp_path, start_sensors):
    w1_slave = tmp_path / "w1_slave"
    w1_slave.write_text(W1_BAD_CRC)
    example = load_settings({"FROST_CONFIG": str(APP / "frostserver.example.toml")}).sensors[0]

    sensors = start_sensors(f"""
        [sensors.w1_garden]
        file = {toml_str(str(w1_slave))}
        regex = {toml_str(example.regex.pattern)}
    """)

    assert first_reading(sensors).error == "no match for regex"


def test_a_file_with_more_than_one_number_needs_a_regex(tmp_path, start_sensors):
    w1_slave = tmp_path / "w1_slave"
    w1_slave.write_text(W1_GOOD)

    sensors = start_sensors(f'[sensors.w1]\nfile = {toml_str(str(w1_slave))}\n')

    assert first_reading(sensors) == Reading(None, ERROR, "not a number: '72 01 4b 46 7f ff 0e 10 57 : c'")


def test_a_missing_file_is_an_error_reading(tmp_path, start_sensors):
    sensors = start_sensors(f'[sensors.gone]\nfile = {toml_str(str(tmp_path / "gone"))}\n')

    assert first_reading(sensors) == Reading(None, ERROR, "No such file or directory")


@pytest.mark.parametrize("text", ["nan", "NaN\n", "inf", "-inf\n", "Infinity", "1e999", "-1e999\n"])
def test_a_file_saying_nan_or_infinity_is_an_error_reading_with_a_reason(tmp_path, start_sensors, text):
    attribute = tmp_path / "value"
    attribute.write_text(text)
    sensors = start_sensors(f'[sensors.v]\nfile = {toml_str(str(attribute))}\n')

    assert first_reading(sensors) == Reading(None, ERROR, f"not a finite number: {text.strip()!r}")


def test_a_value_that_overflows_with_its_scale_is_an_error_reading(tmp_path, start_sensors):
    attribute = tmp_path / "value"
    attribute.write_text("1e300\n")
    sensors = start_sensors(f'[sensors.v]\nfile = {toml_str(str(attribute))}\nscale = 1e10\n')

    reading = first_reading(sensors)
    assert (reading.value, reading.status) == (None, ERROR)
    assert reading.error.startswith("not a finite number after scale and offset")


def test_a_command_printing_an_infinite_number_is_an_error_reading(start_sensors):
    command = python("print('T=1e999 C')")
    sensors = start_sensors(f"[sensors.cli]\n{command}\n")

    assert first_reading(sensors) == Reading(None, ERROR, "not a finite number: '1e999'")


def test_a_file_is_read_again_every_interval(tmp_path, start_sensors):
    attribute = tmp_path / "value"
    attribute.write_text("1\n")
    sensors = start_sensors(f'[sampling]\ninterval = 0.1\n[sensors.v]\nfile = {toml_str(str(attribute))}\n')
    wait_for_value(sensors, 1.0)

    attribute.write_text("2\n")

    assert wait_for_value(sensors, 2.0) == Reading(2.0, OK)


def test_a_command_prints_its_value(start_sensors):
    sensors = start_sensors(f"[sensors.cli]\n{python('print(21.5)')}\n")

    assert first_reading(sensors) == Reading(21.5, OK)


def test_a_command_regex_scale_and_offset_apply_in_that_order(start_sensors):
    code = 'print("{\\"co2\\": 612, \\"pm25\\": 4.1}")'
    sensors = start_sensors(f"""
        [sensors.co2]
        {python(code)}
        regex = '"pm25":\\s*([0-9.]+)'
        scale = 10
        offset = -1
    """)

    assert first_reading(sensors) == Reading(40.0, OK)


def test_a_regex_without_a_group_takes_the_whole_match(start_sensors):
    sensors = start_sensors(f"""
        [sensors.cli]
        {python('print("sensor 7: T 21.5 C")')}
        regex = '-?\\d+\\.\\d+'
    """)

    assert first_reading(sensors) == Reading(21.5, OK)


def test_a_command_that_fails_reports_its_exit_status_and_last_stderr_line(start_sensors):
    code = 'import sys; print(20); print("probing", file=sys.stderr); sys.exit("sensor bus busy")'
    sensors = start_sensors(f"[sensors.cli]\n{python(code)}\n")

    assert first_reading(sensors) == Reading(None, ERROR, "exit status 1: sensor bus busy")


def test_a_command_killed_by_a_signal_says_so(start_sensors):
    sensors = start_sensors(f"[sensors.cli]\n{python('import os; os.kill(os.getpid(), 9)')}\n")

    assert first_reading(sensors) == Reading(None, ERROR, "killed by SIGKILL")


def test_a_command_printing_garbage_is_an_error(start_sensors):
    command = python("print('sensor offline')")
    sensors = start_sensors(f"[sensors.cli]\n{command}\n")

    assert first_reading(sensors) == Reading(None, ERROR, "no number in output")


def test_a_command_printing_too_much_is_stopped(start_sensors):
    command = python("print('1' * 70000)")
    sensors = start_sensors(f"[sensors.cli]\n{command}\n")

    assert first_reading(sensors) == Reading(None, ERROR, "output larger than 64 KiB")


def test_a_missing_program_is_an_error_reading(start_sensors):
    sensors = start_sensors('[sensors.cli]\ncommand = ["/nonexistent/vendor-cli", "--temp"]\n')

    assert first_reading(sensors) == Reading(None, ERROR, "command not found: /nonexistent/vendor-cli")


def test_a_command_past_its_timeout_is_killed_with_its_children(tmp_path, start_sensors):
    pid_file = tmp_path / "grandchild"
    # The command waits until its child runs, so the timeout always finds both running (a busy
    # machine may take a second or more to start two Pythons). Both would live for an hour, longer
    # than any wait here: the reading and the child's end can only come from the timeout's kill.
    grandchild = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(3600)"
    code = (
        "import os, subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {grandchild!r}])\n"
        f"while not (os.path.exists({str(pid_file)!r}) and open({str(pid_file)!r}).read()):\n"
        "    time.sleep(0.01)\n"
        "time.sleep(3600)\n"
    )
    sensors = start_sensors(f"[sensors.slow]\n{python(code)}\ntimeout = 3\ninterval = 3600\n")

    assert first_reading(sensors) == Reading(None, ERROR, "timed out after 3 s")
    assert pid_file.exists() and pid_file.read_text(), "the child never started within the 3 s timeout"
    pid = int(pid_file.read_text())
    try:
        eventually(lambda: gone(pid), "the command's child killed with it")
    finally:
        if not gone(pid):
            os.kill(pid, 9)


def test_a_command_gets_a_minimal_environment_and_no_stdin(monkeypatch, start_sensors):
    monkeypatch.setenv("FROST_SECRET", "hunter2")
    code = (
        "import os, sys; "
        "ok = sorted(os.environ) == ['LC_ALL', 'PATH'] and os.environ['LC_ALL'] == 'C' "
        "and sys.stdin.read() == '' and os.getcwd() == '/'; "
        "print(1 if ok else 0)"
    )
    sensors = start_sensors(f"[sensors.cli]\n{python(code)}\n")

    assert first_reading(sensors) == Reading(1.0, OK)


def test_a_command_runs_as_the_apps_own_user(start_sensors):
    sensors = start_sensors(f"[sensors.cli]\n{python('import os; print(os.getuid())')}\n")

    assert first_reading(sensors) == Reading(float(os.getuid()), OK)


def test_sample_returns_at_once_while_a_slow_command_runs(tmp_path, start_sensors):
    # The command prints only once the test lets it (or is killed at its 60 s timeout): a sample()
    # that waited for it would come back with its value or its timeout, never "not read yet".
    release = tmp_path / "release"
    code = f"import os, time\nwhile not os.path.exists({str(release)!r}):\n    time.sleep(0.01)\nprint(1)\n"
    sensors = start_sensors(f"[sensors.slow]\n{python(code)}\ntimeout = 60\n")

    pairs = sensors.sample()

    assert pairs[0][1] == Reading(None, ERROR, "not read yet")
    release.touch()
    assert wait_for_value(sensors, 1.0) == Reading(1.0, OK)


def test_a_reading_older_than_three_intervals_is_stale(tmp_path, start_sensors):
    attribute = tmp_path / "value"
    attribute.write_text("7\n")
    clock = FakeClock()
    sensors = start_sensors(f"[sensors.v]\nfile = {toml_str(str(attribute))}\ninterval = 10\n", clock=clock)
    assert first_reading(sensors) == Reading(7.0, OK)
    read_at = clock.now

    clock.now = read_at + 29.9
    assert sensors.sample()[0][1] == Reading(7.0, OK)
    clock.now = read_at + 30.1
    assert sensors.sample()[0][1] == Reading(None, ERROR, "stale")
    assert sensors.ages() == {"config/v": pytest.approx(30.1)}


def test_a_command_may_take_its_timeout_before_it_is_stale(start_sensors):
    clock = FakeClock()
    sensors = start_sensors(f"[sensors.cli]\n{python('print(3)')}\ninterval = 10\ntimeout = 5\n", clock=clock)
    assert first_reading(sensors) == Reading(3.0, OK)
    read_at = clock.now

    clock.now = read_at + 34.9
    assert sensors.sample()[0][1] == Reading(3.0, OK)
    clock.now = read_at + 35.1
    assert sensors.sample()[0][1] == Reading(None, ERROR, "stale")


def test_one_broken_sensor_does_not_spoil_the_others(tmp_path, start_sensors):
    good = tmp_path / "good"
    good.write_text("5\n")
    sensors = start_sensors(f"""
        [sensors.broken]
        {python('import sys; sys.exit(2)')}
        [sensors.good]
        file = {toml_str(str(good))}
    """)

    assert first_reading(sensors, 0) == Reading(None, ERROR, "exit status 2")
    assert first_reading(sensors, 1) == Reading(5.0, OK)
    assert [sensor.id for sensor, _ in sensors.sample()] == ["config/broken", "config/good"]


def test_close_stops_the_threads_and_kills_a_running_command(tmp_path, start_sensors):
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(3600)"
    sensors = start_sensors(f"[sensors.slow]\n{python(code)}\ntimeout = 60\n")
    eventually(lambda: pid_file.exists() and pid_file.read_text(), "the command started")
    command_started = time.monotonic()
    pid = int(pid_file.read_text())

    def refreshing() -> list:
        return [t for t in threading.enumerate() if t.name == "frost-config/slow"]

    started = time.monotonic()
    sensors.close()

    # close() waits 2 s at most, which is the behaviour: a bound as generous as any wait, far
    # below the command's hour.
    assert time.monotonic() - started < PATIENCE
    # A busy machine may need longer than that 2 s wait to see the thread end and its command reaped.
    eventually(lambda: not refreshing(), "the refresh thread gone")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    # Ended by close(), not by its 60 s timeout (the most config allows): seconds on a busy machine.
    assert time.monotonic() - command_started < 60


def test_no_sensors_means_no_threads_and_no_pairs(start_sensors):
    # Which threads, not how many: an earlier test's thread may still be on its way out.
    before = set(threading.enumerate())

    sensors = start_sensors("")

    assert sensors.sample() == []
    assert not set(threading.enumerate()) - before
