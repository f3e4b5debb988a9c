"""Send one notification with Apprise, in a child process of the notifier, and say how it went.

`python -m frostserver.alerts.send` reads one message on stdin (a SendRequest) and prints the
outcome as its last line (an Outcome); with --check it reads a CheckRequest (URLs) and prints which
of them Apprise can use (a CheckOutcome); with --test it reads a TrialRequest (URLs and a message,
a deadline) and sends to all of them at once, printing each one's outcome when the last has
answered or the deadline has passed (a TrialOutcome: the settings page's "send a test"). Each is a
versioned JSON document (codec.py):

    {"version": 1, "url": "...", "state": "firing", "title": "...", "body": "..."}
        -> {"version": 1, "sent": false, "problem": "..."}
    {"version": 1, "urls": ["...", ...]}  -> {"version": 1, "usable": [true, ...]}
    {"version": 1, "urls": [...], "title": "...", "body": "...", "seconds": 20}
        -> {"version": 1, "problems": [null, "...", ...]}

Why a child: Apprise with its plugins and `requests` costs a Python process about 20 MB more, which
a device would carry all day for a few messages a month; a child carries it for the seconds it
sends. And a service that never answers is ended with its child at the deadline (kill), not left
running in a thread. The notifier starts one child per attempt (notifier.child_sender).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..codec import Refused, decode_document, encode_document
from .messages import FIRING

PLAIN_WEBHOOKS = {"json", "jsons", "xml", "xmls", "form", "forms"}  # their host is an address, not a token


@dataclass(frozen=True)
class Message:
    """One notification: the journal event it comes from (None: the notifier's own), title, body."""

    event: int | None
    state: str
    title: str
    body: str


VERSION = 1  # of the documents between the notifier and its child


@dataclass(frozen=True)
class SendRequest:
    """What the notifier asks its child: send this message to this target."""

    url: str
    state: str
    title: str
    body: str


@dataclass(frozen=True)
class Outcome:
    """What the child answers: sent, or why not (scrubbed by the notifier before it logs it)."""

    sent: bool
    problem: str | None = None


@dataclass(frozen=True)
class CheckRequest:
    """What the notifier asks its child at start: can Apprise use these URLs?"""

    urls: tuple[str, ...]


@dataclass(frozen=True)
class CheckOutcome:
    """Whether Apprise can use each URL, in order."""

    usable: tuple[bool, ...]


@dataclass(frozen=True)
class TrialRequest:
    """What the web side asks a child: send this test message to all these targets, within `seconds`."""

    urls: tuple[str, ...]
    title: str
    body: str
    seconds: float


@dataclass(frozen=True)
class TrialOutcome:
    """Each target's outcome, in order: None if sent, else why not (scrubbed by the child)."""

    problems: tuple[str | None, ...]


Document = TypeVar("Document")


# (url, message) -> None if sent, else why not. A sender bounds its own time and never raises:
# child_sender kills its child at the deadline; attempt_with_deadline bounds one in this process.
Sender = Callable[[str, Message], str | None]


def apprise_sender() -> Sender:
    """Return a sender that uses Apprise (imported here: only a device with targets pays for it)."""
    import apprise  # here, not at the top: only a device with targets pays for it

    # Its messages may quote a URL's parts: they reach our log only through scrub().
    logging.getLogger("apprise").propagate = False

    def send(url: str, message: Message) -> str | None:
        notifier = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))  # never disk
        if not notifier.add(url):
            return "Apprise cannot use this URL (an unknown service or a malformed URL)"
        kind = apprise.NotifyType.FAILURE if message.state == FIRING else apprise.NotifyType.SUCCESS
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:  # type: ignore[no-untyped-call]  # untyped in Apprise
            sent = notifier.notify(title=message.title, body=message.body, notify_type=kind)
        if sent:
            return None
        reason = " ".join(line.strip() for line in captured.getvalue().splitlines() if line.strip())
        return scrub(reason or "the service did not accept it", url)

    return send


def usable(url: str) -> bool:
    """Tell whether Apprise understands a URL (imports Apprise)."""
    import apprise  # as in apprise_sender

    return apprise.Apprise.instantiate(url) is not None


def scrub(text: str, url: str) -> str:
    """Remove a URL's secrets (user, password, path and query parts) from a text."""
    scheme, _, rest = url.partition("://")
    parts = urllib.parse.urlsplit(f"{scheme}://{rest}")
    secrets = {parts.username, parts.password, rest, url, *parts.path.split("/")}
    secrets.update(value for _, value in urllib.parse.parse_qsl(parts.query))
    if scheme.lower() not in PLAIN_WEBHOOKS:
        # A service's "host" is often its token (Telegram's bot token: "123456:ABC..."), case kept.
        host = parts.netloc.rpartition("@")[2]
        secrets.update((host, *host.split(":")))
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "…")
    return text


def child_sender(timeout: float) -> Sender:
    """Return a sender that sends each message from a child process, killed after timeout s."""

    def send(url: str, message: Message) -> str | None:
        request = SendRequest(url, message.state, message.title, message.body)
        outcome = _run_child([], request, Outcome, timeout)
        if isinstance(outcome, str):
            return scrub(outcome, url)
        if outcome.sent:
            return None
        return scrub(outcome.problem or "the sender failed", url)

    return send


def child_usable(urls: list[str], timeout: float) -> list[bool] | None:
    """Tell, from a child process, which URLs Apprise can use (None: the child failed)."""
    outcome = _run_child(["--check"], CheckRequest(tuple(urls)), CheckOutcome, timeout)
    if isinstance(outcome, str) or len(outcome.usable) != len(urls):
        return None
    return list(outcome.usable)


def _run_child(args: list[str], request: Any, answer: type[Document], timeout: float) -> Document | str:
    """Run the child with `request` on its stdin; return its answer, or why there is none."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "frostserver.alerts.send", *args],
            input=encode_document(VERSION, request),
            capture_output=True,
            timeout=timeout,  # run() kills the child when it passes
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"no answer within {timeout:g} s"
    except OSError as error:  # no process to be had (the container's pids limit, memory): a failed attempt
        return f"cannot start the sender: {error.strerror or error}"
    lines = done.stdout.strip().splitlines()
    try:
        decoded: Document = decode_document(answer, lines[-1] if lines else b"", VERSION, "the sender's answer")
    except Refused:
        return f"the sender exited with status {done.returncode}"
    return decoded


def child_test(urls: list[str], title: str, body: str, seconds: float) -> list[str | None]:
    """Send a test message to every URL at once from one child; each result within about `seconds`.

    One child for all of them: Apprise is loaded once (about 20 MB), however many targets. The child
    answers at its own deadline whatever the targets do; it is killed a little later if it does not.
    """
    outcome = _run_child(
        ["--test"], TrialRequest(tuple(urls), title, body, seconds), TrialOutcome, seconds + CHILD_GRACE
    )
    if isinstance(outcome, str) or len(outcome.problems) != len(urls):
        problem = outcome if isinstance(outcome, str) else "the sender's answer did not fit"
        return [scrub(problem, url) for url in urls]
    return [
        None if problem is None else scrub(problem, url) for problem, url in zip(outcome.problems, urls, strict=True)
    ]


# s the test's child is given past its own deadline to start (import Apprise) and answer.
CHILD_GRACE = 10.0


def send_all(request: TrialRequest, send: Sender) -> TrialOutcome:
    """Send the request's message to every URL in threads; say each outcome once all answered or time is up."""
    message = Message(None, "resolved", request.title, request.body)
    results: list[list[str | None]] = [[] for _ in request.urls]

    def attempt(number: int, url: str) -> None:
        try:
            results[number].append(send(url, message))
        except Exception as error:  # a plugin's bug is that target's failure
            results[number].append(scrub(f"{type(error).__name__}: {error}", url))

    threads = [
        threading.Thread(target=attempt, args=(number, url), name="frost-test-send", daemon=True)
        for number, url in enumerate(request.urls)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + request.seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    late = f"no answer within {request.seconds:g} s"
    return TrialOutcome(tuple(found[0] if found else late for found in results))


def attempt_with_deadline(send: Sender, url: str, message: Message, timeout: float) -> str | None:
    """Send once, waiting at most timeout s (a service that never answers is left to its thread)."""
    outcome: list[str | None] = []

    def attempt() -> None:
        try:
            outcome.append(send(url, message))
        except Exception as error:  # a plugin's bug is that attempt's failure, not the notifier's
            outcome.append(scrub(f"{type(error).__name__}: {error}", url))

    thread = threading.Thread(target=attempt, name="frost-notify-attempt", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else f"no answer within {timeout:g} s"


def main(argv: list[str] | None = None) -> int:
    """Send the message on stdin (or --check the URLs on stdin) and print the outcome as its last line."""
    parser = argparse.ArgumentParser(prog="python -m frostserver.alerts.send", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="tell which URLs Apprise can use")
    parser.add_argument("--test", action="store_true", help="send a test message to all URLs at once")
    args = parser.parse_args(argv)
    data = sys.stdin.buffer.read()
    if args.test:
        test = decode_document(TrialRequest, data, VERSION, "the test's request")
        print(encode_document(VERSION, send_all(test, apprise_sender())).decode(), flush=True)
        os._exit(0)  # threads still waiting on a service that never answers must not keep the child alive
    if args.check:
        check = decode_document(CheckRequest, data, VERSION, "the notifier's request")
        print(encode_document(VERSION, CheckOutcome(tuple(usable(url) for url in check.urls))).decode())
        return 0
    request = decode_document(SendRequest, data, VERSION, "the notifier's request")
    problem = apprise_sender()(request.url, Message(None, request.state, request.title, request.body))
    print(encode_document(VERSION, Outcome(problem is None, problem)).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
