"""A webhook receiver for the integration tests: records what is POSTed to it, answers by path.

POST /ok/<any>     record, answer 200 {}
POST /fail/<any>   record, answer 500 (a receiver that is down)
POST /hang/<any>   record, never answer (a receiver that accepts and stalls)
GET /received[?path=<exact path>]   the recorded requests in order, as JSON
DELETE /received                    forget them
GET /healthz                        200

Runs in the test's Compose project (http://receiver:8000/ from the app's network): the app and
Alertmanager cannot reach the test runner's loopback. Only the standard library: the image has no pip.
"""

from __future__ import annotations

import json
import select
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PORT = 8000
# Cap on one recorded body: a test sends kilobytes; more than this is a bug, not a payload.
MAX_BODY = 1 << 20


class Recorder:
    """Every request received, in order; shared by the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[dict] = []

    def add(self, request: dict) -> None:
        with self._lock:
            self._requests.append(request)

    def list(self, path: str | None = None) -> list[dict]:
        with self._lock:
            return [r for r in self._requests if path is None or r["path"] == path]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()


RECORDER = Recorder()
# Set at shutdown so a held /hang/ thread stops sleeping (its connection closes with the process).
STOPPING = threading.Event()


class WebhookHandler(BaseHTTPRequestHandler):
    # HTTP/1.1: keep-alive like a real webhook endpoint; every answer carries a Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "frost-test-receiver"

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        raw = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), MAX_BODY))
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        RECORDER.add(
            {
                "path": url.path,
                "query": url.query,
                "at": time.time(),
                "headers": dict(self.headers.items()),
                "json": parsed,
                "body": text,
            }
        )
        if url.path.startswith("/ok/"):
            self._send_json(200, {})
        elif url.path.startswith("/fail/"):
            self._send_json(500, {"error": "this receiver always fails"})
        elif url.path.startswith("/hang/"):
            self._hold()
        else:
            self._send_json(404, {"error": f"no such path {url.path}: use /ok/, /fail/ or /hang/"})

    def _hold(self) -> None:
        """Never answer: the sender must give up on its own timeout. Return once it has hung up."""
        # Until the sender closes its end (a read of b""), so a sender that retries many times
        # does not pile up one sleeping thread per attempt; anything more it sends is dropped.
        while not STOPPING.is_set():
            readable, _, _ = select.select([self.connection], [], [], 1.0)
            if readable and not self.connection.recv(65536):
                break
        self.close_connection = True

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self._send_json(200, {"status": "ok"})
        elif url.path == "/received":
            wanted = parse_qs(url.query).get("path", [None])[0]
            self._send_json(200, RECORDER.list(wanted))
        else:
            self._send_json(404, {"error": f"no such path {url.path}"})

    def do_DELETE(self) -> None:
        if urlsplit(self.path).path == "/received":
            RECORDER.clear()
            self._send_json(200, {})
        else:
            self._send_json(404, {"error": f"no such path {self.path}"})

    def _send_json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    server = ThreadingHTTPServer(("0.0.0.0", PORT), WebhookHandler)
    server.daemon_threads = True  # held /hang/ threads must not keep the process alive

    def stop(_signum: int, _frame: object) -> None:
        STOPPING.set()
        # shutdown() waits for serve_forever, which runs in this very thread: from another one.
        threading.Thread(target=server.shutdown).start()

    # PID 1 ignores SIGTERM unless it handles it: without this, `compose down` waits 10 s.
    signal.signal(signal.SIGTERM, stop)
    print(f"receiver listening on :{PORT}", file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
