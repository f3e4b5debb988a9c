"""The sampler's heartbeat to the supervisor: one short line down a pipe per published sample.

The supervisor (PID 1) creates a pipe for each sampler it starts, passes the write end to it and
names the descriptor in FROST_HEARTBEAT_FD. After every sample it publishes, the sampler writes one
line saying how long until the next sample is due to be published (its tick plus its read
deadline), so the supervisor knows when a beat is late without reading any setting. A sampler that
stops (SIGSTOP), deadlocks or hangs in a read stops beating, whatever its own threads do, and the
supervisor replaces it.

    b"1 0.998\\n"    version 1, the next sample due in 0.998 s (encode, decode: a Beat)

Standard library only: the supervisor imports this, refused.py and logs.py, nothing else of the app. A
line is far below PIPE_BUF, so each write is atomic and lines never interleave.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import stat
from collections.abc import MutableMapping
from dataclasses import dataclass

from .refused import Damaged, Refused, UnknownVersion

log = logging.getLogger("frostserver.heartbeat")

ENV = "FROST_HEARTBEAT_FD"
VERSION = 1
LONGEST_DUE = 3600.0  # s: the longest sampling interval (config/settings.py); a larger "due" is garbage
WHAT = "the sampler's heartbeat"


@dataclass(frozen=True)
class Beat:
    """A sample was published; the next one is due in `due` seconds."""

    due: float


def encode(beat: Beat) -> bytes:
    """Return the line of a beat (its `due` kept between 0 and LONGEST_DUE)."""
    return b"%d %.3f\n" % (VERSION, min(max(beat.due, 0.0), LONGEST_DUE))


def decode(line: bytes) -> Beat:
    """Return the Beat of one line (without its newline); raise codec.Refused for another version or garbage."""
    version, _, due = line.partition(b" ")
    shown = repr(line[:24])
    if not version.isdigit():
        raise Damaged(WHAT, f"{shown} is no beat")
    if int(version) != VERSION:
        raise UnknownVersion(WHAT, int(version), VERSION)
    try:
        seconds = float(due)
    except ValueError:
        raise Damaged(WHAT, f"{shown} is no beat") from None
    if not (math.isfinite(seconds) and 0.0 <= seconds <= LONGEST_DUE):
        raise Damaged(WHAT, f"{shown}: the next beat is due in {seconds} s, past {LONGEST_DUE:g}")
    return Beat(seconds)


class BeatReader:
    """The supervisor's side: split what the pipe gave into beats, keeping a line cut in two."""

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, data: bytes) -> list[Beat | Refused]:
        """Return the beats complete in what was read so far (a Refused for a line that is no beat)."""
        *lines, self._partial = (self._partial + data).split(b"\n")
        self._partial = self._partial[-64:]  # a line never grows past this: garbage, not a beat
        return [_beat_or_refused(line) for line in lines]


def _beat_or_refused(line: bytes) -> Beat | Refused:
    try:
        return decode(line)
    except Refused as error:
        return error


class Heartbeat:
    """The sampler's side: beat after each published sample; never stop sampling for the pipe.

    Without FROST_HEARTBEAT_FD (the sampler run by hand, the tests) it does nothing. The pipe is
    non-blocking: a supervisor that does not read (a full pipe) costs a beat, never a sample. A
    pipe that is gone (closed, or its reader dead) is said once, then the sampler samples on
    without beating.
    """

    def __init__(self, fd: int | None):
        self.fd = fd
        if fd is not None:
            os.set_blocking(fd, False)

    @classmethod
    def from_environment(cls, environ: MutableMapping[str, str] = os.environ) -> Heartbeat:
        """Take the pipe FROST_HEARTBEAT_FD names (and the variable: commands the sampler runs need neither)."""
        raw = environ.pop(ENV, None)
        if raw is None or raw == "":
            return cls(None)
        try:
            fd = int(raw)
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                raise ValueError("not a pipe")
        except (ValueError, OSError) as error:
            log.warning("%s=%r is no pipe the supervisor opened (%s): sampling without a heartbeat", ENV, raw, error)
            return cls(None)
        os.set_inheritable(fd, False)
        return cls(fd)

    def beat(self, due: float) -> None:
        """Tell the supervisor a sample was published and the next is due in `due` seconds."""
        if self.fd is None:
            return
        try:
            os.write(self.fd, encode(Beat(due)))
        except BlockingIOError:
            pass  # the supervisor is not reading (stopped?): this beat is lost, the next may pass
        except OSError as error:
            what = "the supervisor is gone" if error.errno == errno.EPIPE else error.strerror or str(error)
            log.warning("the heartbeat pipe to the supervisor failed (%s): sampling on without it", what)
            self.close()

    def close(self) -> None:
        """Stop beating (a sampler that exits closes the pipe by exiting anyway)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            with contextlib.suppress(OSError):  # already closed: nothing to give back
                os.close(fd)
