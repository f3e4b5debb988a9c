"""Read sysfs attributes under a per-sample deadline, so an attribute stuck in the kernel stalls nothing else.

Each attribute is read with one raw read (`read_attribute`; `OpenAttributes` keeps the files
read at every sample open and reads them again in place); a failed read becomes a `ReadFailure`
naming its errno.  `ChipPool` runs one sample's chips on a few daemon threads
until the deadline; `GuardedReads` issues the reads, counts slow ones and remembers reads
abandoned at a deadline, so a stuck attribute is not read again until its read returns.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ..logs import RepeatLimiter

_PAGE_SIZE = 4096  # a sysfs attribute never exceeds one page
_SLOW_LOG_INTERVAL = 60.0  # seconds between "slow read" log lines
_MAX_SPARE_THREADS = 16  # replacement threads for reads stuck in the kernel
_MAX_OPEN = 8192  # attribute files kept open at most; past that they are opened for each read


def read_attribute(path: str) -> str:
    """Read one sysfs attribute with a single open, read and close."""
    # One raw read, never a retry loop: Go's ReadFile polled forever on drivers answering
    # EAGAIN (node_exporter PR #728).  No O_NONBLOCK either: sysfs ignores it, and a FIFO
    # standing in for a blocking attribute in tests must block like the real thing.
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, _PAGE_SIZE).decode("utf-8", "replace")
    finally:
        os.close(fd)


class OpenAttributes:
    """Read the attributes sampled every time through files kept open: one pread per read.

    Opening a file walks its path, which costs three times the read itself (measured: 12 ms
    against 3 ms for 2,048 attributes); sysfs runs the driver's show() again for every read at
    offset 0 (Documentation/filesystems/sysfs.rst), so a file kept open gives fresh values.
    A file whose device went away answers ENODEV through the old descriptor: it is then opened
    anew once, for a driver that was unbound and bound again. Driver errors (EIO, ENODATA,
    EAGAIN, ...) are answered as they are, never retried. A file that cannot seek (a FIFO
    standing in for a blocking attribute in tests) is opened for each read.
    """

    def __init__(self, limit: int = _MAX_OPEN):
        self._fds: dict[str, int] = {}
        self._unseekable: set[str] = set()
        self._limit = limit

    def read(self, path: str) -> str:
        """Read one attribute, through its kept file when there is one."""
        fd = self._fds.get(path)
        if fd is not None:
            try:
                return _pread_text(fd)
            except OSError as error:
                if error.errno != errno.ENODEV:
                    raise
                self._close(path)  # the file was removed, maybe created again: open it anew
        if path in self._unseekable:
            return read_attribute(path)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            text = _pread_text(fd)
        except OSError as error:
            if error.errno != errno.ESPIPE:
                os.close(fd)
                raise
            self._unseekable.add(path)  # read this one as it is, and open it for each read from now on
            try:
                return os.read(fd, _PAGE_SIZE).decode("utf-8", "replace")
            finally:
                os.close(fd)
        if len(self._fds) < self._limit:
            self._fds[path] = fd
        else:
            os.close(fd)
        return text

    def forget(self, paths: Iterable[str], busy: set[str]) -> None:
        """Close the files of these paths, except those a read is still using."""
        for path in paths:
            if path not in busy:
                self._close(path)

    def close(self) -> None:
        """Close every kept file (a read stuck in the kernel keeps its file until it returns)."""
        for path in list(self._fds):
            self._close(path)

    @property
    def open_count(self) -> int:
        """Count the files kept open."""
        return len(self._fds)

    def _close(self, path: str) -> None:
        fd = self._fds.pop(path, None)
        if fd is not None:
            os.close(fd)


def _pread_text(fd: int) -> str:
    return os.pread(fd, _PAGE_SIZE, 0).decode("utf-8", "replace")


class ReadFailure:
    """Why one attribute read produced no text."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"ReadFailure({self.reason!r})"


# What a read cut off by the deadline, or stuck since an earlier one, yields.
NOT_READ = ReadFailure("timeout")
# What one sample read for each of a chip's attributes, by position: its text, why it failed, or
# None when it was not read (the deadline passed first).
RawTexts = list["str | ReadFailure | None"]


def describe_error(exc: BaseException) -> str:
    """Name a failed read briefly: its errno symbol (EIO, EAGAIN, ...) or its exception type."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, f"errno {exc.errno}")
    return type(exc).__name__


class SampleRun:
    """One sample's chips, when to start reading them and by when, and what was read."""

    __slots__ = (
        "cancelled",
        "chips",
        "deadline",
        "done",
        "expired",
        "helpers",
        "pending",
        "raw",
        "remaining",
        "start_at",
    )

    def __init__(self, chips: list[Any], start_at: float = 0.0, deadline: float = 0.0):
        self.chips = chips
        self.pending = deque(chips)
        self.remaining = len(chips)
        self.start_at = start_at  # time.monotonic() when the threads start reading
        self.deadline = deadline  # time.monotonic() after which nothing more is read
        self.helpers = 0  # threads handed this run
        self.expired = False
        self.cancelled = threading.Event()  # the reader closed before the run started
        self.done = threading.Condition()
        self.raw: dict[Any, tuple[Any, RawTexts]] = {}  # chip key -> (ChipPlan, what was read)


class GuardedReads:
    """Issue single attribute reads, counting slow ones and remembering reads stuck past a deadline."""

    # Lock-free on the hot path (the GIL makes each dict operation atomic): a worker marks
    # the path it reads in _in_flight; at a deadline the sampler marks those paths stuck,
    # then re-checks they are still in flight, so a read that just returned is never left
    # marked stuck forever.

    def __init__(
        self,
        read_attribute: Callable[[str], str],
        clock: Callable[[], float],
        slow_read: float,
        logger: logging.Logger,
        read_again: Callable[[str], str] | None = None,
    ):
        self._read_attribute = read_attribute  # for metadata, read once a minute
        self._read_again = read_again or read_attribute  # for what every sample reads
        self._clock = clock
        self._slow_read = slow_read
        self._logger = logger
        # A read that times out at every sample (and comes back late each time) would log two
        # lines per sample: each of the two at most once per 5 minutes, naming the path it met
        # first and counting the rest (frost_hwmon_stuck_reads counts them all).
        self._repeats = RepeatLimiter(logger, clock=clock)
        self._in_flight: dict[int, str | None] = {}  # thread id -> path being read
        self._stuck: dict[str, float] = {}  # path -> when it was abandoned
        self._late: dict[str, str | ReadFailure] = {}  # results of stuck reads that returned
        self._counts: dict[int, list[int]] = {}  # thread id -> [reads, slow reads]; one writer each
        self._next_slow_log = float("-inf")
        self._slow_unlogged = 0

    def read(self, path: str, run: SampleRun) -> str | ReadFailure:
        """Read one attribute unless it is stuck or the sample deadline has passed."""
        raw: RawTexts = [None]
        self.read_into((path,), raw, run, once=True)
        return NOT_READ if raw[0] is None else raw[0]

    def read_into(self, paths: tuple[str, ...], raw: RawTexts, run: SampleRun, once: bool = False) -> float:
        """Read paths into raw[i] in order until done or the deadline; return the time spent."""
        me = threading.get_ident()
        in_flight, stuck, late = self._in_flight, self._stuck, self._late
        read_attribute = self._read_attribute if once else self._read_again
        clock, slow_read = self._clock, self._slow_read
        counts = self._counts.get(me) or self._counts.setdefault(me, [0, 0])
        began = clock()
        for index, path in enumerate(paths):
            if late and path in late:
                # A read that outlived an earlier deadline (a ~750 ms DS18B20 conversion, a
                # stalled bus) has returned since: use its result rather than block again.
                raw[index] = late.pop(path)
                continue
            if run.expired:
                break
            if path in stuck:
                raw[index] = NOT_READ
                continue
            in_flight[me] = path
            if run.expired:  # the deadline passed while we registered: do not start the read
                in_flight[me] = None
                stuck.pop(path, None)
                break
            start = clock()
            try:
                result: str | ReadFailure = read_attribute(path)
            except Exception as exc:  # a driver's errno, or anything an injected reader raises
                result = ReadFailure(describe_error(exc))
            elapsed = clock() - start
            in_flight[me] = None
            if path in stuck:
                self._returned_late(path, result)
            counts[0] += 1
            if elapsed > slow_read:
                counts[1] += 1
                self._log_slow(path, elapsed)
            raw[index] = result
        return clock() - began

    def abandon_in_flight(self, deadline: float) -> int:
        """Mark every read still in progress as stuck; return how many were newly marked."""
        now = self._clock()
        marked = []
        for thread, path in list(self._in_flight.items()):
            if path is None or path in self._stuck:
                continue
            self._stuck[path] = now
            if self._in_flight.get(thread) == path:
                marked.append(path)
            else:  # it returned meanwhile
                self._stuck.pop(path, None)
        for path in marked:
            self._repeats.warning(
                "read of %s did not finish within %.2f s; not reading it again until it returns", path, deadline
            )
        return len(marked)

    def busy_paths(self) -> set[str]:
        """Return the paths of reads in progress or stuck in the kernel."""
        return {path for path in list(self._in_flight.values()) if path} | set(self._stuck)

    def stuck_count(self) -> int:
        """Count reads blocked in the kernel (each holds one pool thread)."""
        return len(self._stuck)

    def totals(self) -> tuple[int, int]:
        """Return (reads issued, slow reads) over all threads so far."""
        counts = list(self._counts.values())
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def _returned_late(self, path: str, result: str | ReadFailure) -> None:
        abandoned_at = self._stuck.pop(path, None)
        if abandoned_at is None:
            return
        self._late[path] = result
        self._repeats.info("stuck read of %s returned after %.2f s", path, self._clock() - abandoned_at)

    def _log_slow(self, path: str, elapsed: float) -> None:
        now = self._clock()
        if now < self._next_slow_log:
            self._slow_unlogged += 1
            return
        self._next_slow_log = now + _SLOW_LOG_INTERVAL
        more, self._slow_unlogged = self._slow_unlogged, 0
        self._logger.warning(
            "slow read of %s took %.3f s (threshold %.3f s; %d more slow reads not logged)",
            path,
            elapsed,
            self._slow_read,
            more,
        )


class ChipPool:
    """A few daemon threads that work through each sample's chips until its deadline."""

    # Daemon threads, not a ThreadPoolExecutor: an executor joins its threads at interpreter
    # exit, and a read stuck in the kernel (ACPI power1_average in D state, node_exporter
    # #1507) would then hang the worker process forever.
    #
    # One thread reads all chips that have always been fast: more threads only fight over
    # the GIL (measured: slower).  Chips that have been slow start on threads of their own,
    # and when the sample is not done after `escalate_after` seconds another thread joins,
    # so one newly blocking attribute delays only its own chip.

    def __init__(
        self, size: int, work: Callable[[Any, SampleRun], None], escalate_after: float, logger: logging.Logger
    ):
        self._size = max(1, size)
        self._work = work
        self._escalate_after = escalate_after
        self._logger = logger
        self._repeats = RepeatLimiter(logger)  # a chip whose reading fails fails at every sample
        self._tasks: queue.SimpleQueue[SampleRun | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._target = 0

    def run(self, chips: list[Any], timeout: float, slow_chips: int, spare: int) -> SampleRun:
        """Read the chips (slow ones first); return when all are done or the deadline passed."""
        return self.finish(self.start(chips, time.monotonic(), timeout, slow_chips, spare))

    def start(self, chips: list[Any], at: float, timeout: float, slow_chips: int, spare: int) -> SampleRun:
        """Hand the chips to the threads, to be read from `at` (time.monotonic()) until `at` + timeout."""
        run = SampleRun(chips, at, at + timeout)
        if not chips:
            return run
        self._keep_threads(self._size + min(spare, _MAX_SPARE_THREADS))
        run.helpers = min(self._size, len(chips), 1 + slow_chips)
        for _ in range(run.helpers):
            self._tasks.put(run)
        return run

    def finish(self, run: SampleRun) -> SampleRun:
        """Wait until the run's chips are read or its deadline passed; return it."""
        with run.done:
            while run.remaining:
                left = run.deadline - time.monotonic()
                if left <= 0:
                    run.expired = True
                    break
                run.done.wait(min(left, self._escalate_after))
                if run.remaining and run.helpers < min(self._size, len(run.chips)):
                    run.helpers += 1  # slow: one more thread, so a blocking chip delays only itself
                    self._tasks.put(run)
        return run

    def close(self, timeout: float = 1.0) -> None:
        """Stop the threads; threads stuck in a read exit when it returns."""
        with self._lock:
            self._target = 0
            threads = list(self._threads)
        for _ in threads:
            self._tasks.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _keep_threads(self, target: int) -> None:
        with self._lock:
            self._target = target
            while len(self._threads) < target:
                thread = threading.Thread(target=self._serve, name="hwmon-reader", daemon=True)
                self._threads.add(thread)
                thread.start()

    def _serve(self) -> None:
        me = threading.current_thread()
        while True:
            run = self._tasks.get()
            if run is not None:
                self._drain(run)
            with self._lock:
                # Retire when a stuck read has returned and its replacement is still around.
                if run is None or len(self._threads) > self._target:
                    self._threads.discard(me)
                    return

    def _drain(self, run: SampleRun) -> None:
        if run.cancelled.wait(max(0.0, run.start_at - time.monotonic())):
            return  # a run prepared for a sample that will not come
        while not run.expired:
            try:
                chip = run.pending.popleft()
            except IndexError:
                return
            try:
                self._work(chip, run)
            except Exception:  # never let one chip kill a worker
                path = getattr(chip, "hwmon_path", chip)
                self._repeats.exception("reading %s failed", path)
            with run.done:
                run.remaining -= 1
                if not run.remaining:
                    run.done.notify_all()
