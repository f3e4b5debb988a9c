"""Send one notification with Apprise, in a child process of the notifier, and say how it went.

`python -m frostserver.alerts.send` reads one message as JSON on stdin ({"url", "state", "title",
"body"}) and prints the outcome as JSON ({"sent": true} or {"sent": false, "problem": "..."});
with --check it reads {"urls": [...]} and prints which of them Apprise can use.

Why a child: Apprise with its plugins and `requests` costs a Python process about 20 MB more, which
a device would carry all day for a few messages a month; a child carries it for the seconds it
sends. And a service that never answers is ended with its child at the deadline (kill), not left
running in a thread. The notifier starts one child per attempt (notifier.child_sender).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .messages import FIRING

PLAIN_WEBHOOKS = {"json", "jsons", "xml", "xmls", "form", "forms"}  # their host is an address, not a token


@dataclass(frozen=True)
class Message:
    """One notification: the journal event it comes from (None: the notifier's own), title, body."""

    event: int | None
    state: str
    title: str
    body: str


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
        request = {"url": url, "state": message.state, "title": message.title, "body": message.body}
        outcome = _run_child([], request, timeout)
        if outcome is None:
            return f"no answer within {timeout:g} s"
        if outcome.get("sent") is True:
            return None
        return scrub(str(outcome.get("problem", "the sender failed")), url)

    return send


def child_usable(urls: list[str], timeout: float) -> list[bool] | None:
    """Tell, from a child process, which URLs Apprise can use (None: the child failed)."""
    outcome = _run_child(["--check"], {"urls": urls}, timeout)
    usable_ones = outcome.get("usable") if outcome is not None else None
    return usable_ones if isinstance(usable_ones, list) else None


def _run_child(args: list[str], request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "frostserver.alerts.send", *args],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout,  # run() kills the child when it passes
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    except OSError as error:  # no process to be had (the container's pids limit, memory): a failed attempt
        return {"sent": False, "problem": f"cannot start the sender: {error.strerror or error}"}
    try:
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"sent": False, "problem": f"the sender exited with status {done.returncode}"}
    return outcome if isinstance(outcome, dict) else None


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
    """Send the message on stdin (or --check the URLs on stdin) and print the outcome as JSON."""
    parser = argparse.ArgumentParser(prog="python -m frostserver.alerts.send", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="tell which URLs Apprise can use")
    args = parser.parse_args(argv)
    request = json.loads(sys.stdin.read())
    if args.check:
        print(json.dumps({"usable": [usable(url) for url in request["urls"]]}))
        return 0
    message = Message(None, request["state"], request["title"], request["body"])
    problem = apprise_sender()(request["url"], message)
    print(json.dumps({"sent": True} if problem is None else {"sent": False, "problem": problem}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
