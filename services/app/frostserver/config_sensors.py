"""Read the extra sensors declared in the configuration file, each in its own background thread.

A sample never waits for a read: a DS18B20 takes ~0.75 s per read and a command may hang, so every
declared sensor is refreshed by its own thread (a stuck read then stalls only that sensor) and
sample() returns the latest reading of each.  Only the configuration file chooses what is read or
run; nothing here takes a path or a command from anywhere else.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from .config.sensors import SensorSpec
from .model import ERROR, Reading, Sensor

# Most a file read or a command's output may be; sensor values are a few bytes.
READ_LIMIT = 64 * 1024

# Commands get no variable of the server's environment (it may hold secrets); LC_ALL=C keeps
# decimal points as ".", which is what the number parser expects.
COMMAND_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}

# A reading older than this many intervals of its sensor (plus the timeout, for commands) is stale.
STALE_AFTER_INTERVALS = 3

# How often a running command checks whether close() wants it gone, in seconds.
CANCEL_CHECK = 0.1

# How long close() waits for the refresh threads in all, in seconds.
CLOSE_WAIT = 2.0

FIRST_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


class ReadFailed(Exception):
    """A sensor read that produced no number, with a short reason."""


class ConfigSensors:
    """Keep the latest reading of every declared sensor, refreshed in the background."""

    def __init__(self, specs: tuple[SensorSpec, ...], *, clock: Callable[[], float] = time.monotonic):
        self._specs = specs
        self._sensors = {spec.key: sensor_for(spec) for spec in self._specs}
        self._clock = clock
        self._latest: dict[str, tuple[Reading, float]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._threads = [self._start_refresher(spec) for spec in self._specs]

    def sample(self) -> list[tuple[Sensor, Reading]]:
        """Return every declared sensor with its latest reading, without reading anything."""
        now = self._clock()
        with self._lock:
            latest = dict(self._latest)
        return [(self._sensors[spec.key], current_reading(spec, latest.get(spec.key), now)) for spec in self._specs]

    def ages(self) -> dict[str, float]:
        """Return how many seconds ago each sensor (by id) was last read; unread ones are absent."""
        now = self._clock()
        with self._lock:
            latest = dict(self._latest)
        return {self._sensors[key].id: now - taken for key, (_, taken) in latest.items()}

    def close(self) -> None:
        """Stop the refresh threads, killing commands still running."""
        self._closing.set()
        deadline = time.monotonic() + CLOSE_WAIT
        for thread in self._threads:
            # A file read stuck in the kernel cannot be interrupted; its daemon thread is left.
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> ConfigSensors:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start_refresher(self, spec: SensorSpec) -> threading.Thread:
        """Start the daemon thread that keeps one sensor's reading fresh."""
        thread = threading.Thread(
            target=self._refresh_forever, args=(spec,), name=f"frost-{spec.sensor_id}", daemon=True
        )
        thread.start()
        return thread

    def _refresh_forever(self, spec: SensorSpec) -> None:
        """Read one sensor every interval until close()."""
        while not self._closing.is_set():
            started = time.monotonic()
            reading = read_sensor_safely(spec, self._closing)
            with self._lock:
                self._latest[spec.key] = (reading, self._clock())
            self._closing.wait(max(0.0, spec.interval - (time.monotonic() - started)))


def sensor_for(spec: SensorSpec) -> Sensor:
    """Describe a declared sensor in the domain model."""
    return Sensor(
        id=spec.sensor_id,
        chip="config",
        chip_name="config",
        channel=spec.key,
        kind=spec.kind,
        label=spec.label,
        unit=spec.unit,
        source="config",
    )


def current_reading(spec: SensorSpec, latest: tuple[Reading, float] | None, now: float) -> Reading:
    """Return the latest reading, or an error when there is none yet or it is too old."""
    if latest is None:
        return Reading(None, ERROR, "not read yet")
    reading, taken = latest
    if now - taken > stale_after(spec):
        return Reading(None, ERROR, "stale")
    return reading


def stale_after(spec: SensorSpec) -> float:
    """Return the age in seconds past which a reading of this sensor is stale."""
    return STALE_AFTER_INTERVALS * spec.interval + (spec.timeout or 0.0)


def read_sensor_safely(spec: SensorSpec, cancelled: threading.Event) -> Reading:
    """Read one sensor, turning even an unexpected exception into an error reading."""
    try:
        return read_sensor(spec, cancelled)
    except Exception as error:
        return Reading(None, ERROR, f"internal error: {type(error).__name__}")


def read_sensor(spec: SensorSpec, cancelled: threading.Event) -> Reading:
    """Read one sensor once: its file or command, then its regex, scale and offset."""
    try:
        if spec.command is not None:
            text = run_command(spec.command, spec.timeout or 0.0, cancelled)
        else:
            text = read_file(spec.file or "")
        return Reading(scaled(parse_number(number_text(text, spec)), spec))
    except ReadFailed as failed:
        return Reading(None, ERROR, str(failed))


def read_file(path: str) -> str:
    """Return the text of a file, read with one bounded read as sysfs attributes expect."""
    try:
        with open(path, "rb", buffering=0) as file:
            data = file.read(READ_LIMIT)
    except OSError as error:
        raise ReadFailed(error.strerror or type(error).__name__) from None
    return data.decode("utf-8", "replace")


def run_command(argv: tuple[str, ...], timeout: float, cancelled: threading.Event) -> str:
    """Run argv without a shell and return its stdout, or raise ReadFailed saying what went wrong."""
    try:
        # A new session makes the command a process group leader, so a timeout kills its children.
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=COMMAND_ENV,
            cwd="/",
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ReadFailed(f"command not found: {argv[0]}") from None
    except OSError as error:
        raise ReadFailed(f"cannot run {argv[0]}: {error.strerror or error}") from None
    with process:
        try:
            stdout, stderr = collect_output(process, timeout, cancelled)
            returncode = wait_for_exit(process, timeout)
        except BaseException:
            # Leaving the with-block waits for the command, so it must be gone first.
            kill_group(process)
            raise
    if returncode != 0:
        raise ReadFailed(exit_problem(returncode, stderr))
    return stdout.decode("utf-8", "replace")


def collect_output(process: subprocess.Popen[bytes], timeout: float, cancelled: threading.Event) -> tuple[bytes, bytes]:
    """Read a command's stdout and stderr to their end, within the timeout and READ_LIMIT."""
    deadline = time.monotonic() + timeout
    received: dict[Any, list[bytes]] = {process.stdout: [], process.stderr: []}
    total = 0
    with selectors.DefaultSelector() as selector:
        for stream in received:
            selector.register(stream, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReadFailed(f"timed out after {timeout:g} s")
            if cancelled.is_set():
                raise ReadFailed("cancelled")
            for key, _ in selector.select(min(remaining, CANCEL_CHECK)):
                chunk = os.read(key.fd, READ_LIMIT)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                received[key.fileobj].append(chunk)
                total += len(chunk)
                if total > READ_LIMIT:
                    raise ReadFailed(f"output larger than {READ_LIMIT // 1024} KiB")
    return b"".join(received[process.stdout]), b"".join(received[process.stderr])


def wait_for_exit(process: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait for a command that closed its output to exit, within its timeout."""
    try:
        # The output loop already spent part of the timeout; a command that closes its output
        # and lingers is rare enough that one more timeout keeps this simple.
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        raise ReadFailed(f"timed out after {timeout:g} s") from None


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill a command and every process it started."""
    with contextlib.suppress(ProcessLookupError):  # the whole group already exited
        os.killpg(process.pid, signal.SIGKILL)


def exit_problem(returncode: int, stderr: bytes) -> str:
    """Describe a failed command in a few words, with the last line it wrote to stderr."""
    problem = f"killed by {signal.Signals(-returncode).name}" if returncode < 0 else f"exit status {returncode}"
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return f"{problem}: {lines[-1].strip()[:80]}" if lines else problem


def number_text(text: str, spec: SensorSpec) -> str:
    """Return the part of a file's or command's text that holds the number."""
    if spec.regex is not None:
        match = spec.regex.search(text)
        if match is None:
            raise ReadFailed("no match for regex")
        token = match.group(1) if spec.regex.groups else match.group(0)
        if token is None:
            raise ReadFailed("regex group 1 matched nothing")
        return token
    if spec.file is not None:
        # Without a regex a file must hold one number: taking the first of several (e.g. "72" of
        # a w1_slave dump) would report a wrong value instead of an error.
        return text.strip()
    match = FIRST_NUMBER.search(text)
    if match is None:
        raise ReadFailed("no number in output")
    return match.group(0)


def parse_number(token: str) -> float:
    """Parse a finite number."""
    try:
        value = float(token.strip())
    except ValueError:
        raise ReadFailed(f"not a number: {token[:30]!r}" if token.strip() else "empty") from None
    if not math.isfinite(value):
        raise ReadFailed(f"not a finite number: {token[:30]!r}")
    return value


def scaled(raw: float, spec: SensorSpec) -> float:
    """Apply a sensor's scale and offset; a result that overflows is a failed read."""
    value = raw * spec.scale + spec.offset
    if not math.isfinite(value):  # 1e300 with scale = 1e10: no reading is infinite, and JSON has no inf
        raise ReadFailed(f"not a finite number after scale and offset: {raw:g} * {spec.scale:g} + {spec.offset:g}")
    # Factors like 0.001 are not exact in binary; 12 significant digits drop the noise
    # (23125 * 0.001 stays 23.125) and keep far more precision than any sensor has.
    return float(f"{value:.12g}")
