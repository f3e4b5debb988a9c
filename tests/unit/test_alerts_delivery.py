"""The notifier: every target gets each journal event once, in order, retried with back-off; secrets stay hidden."""
from __future__ import annotations

import http.server
import json
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from waiting import PATIENCE, eventually

from frostserver.alerts import notifier as notifier_module
from frostserver.alerts import notifier_status
from frostserver.alerts.engine import AlertEngine
from frostserver.alerts.journal import AlertJournal
from frostserver.alerts.notifier import CURSOR_FILE, Notifier, send_test
from frostserver.alerts.send import Message, attempt_with_deadline, child_sender, child_usable, scrub
from frostserver.model import Reading, Sensor
from frostserver.config import load_settings
from frostserver.config.alert_rules import BUILTIN_RULES
from frostserver.config.alerts import AlertsConfig

APP = Path(__file__).resolve().parents[2] / "services" / "app"

GARDEN = Sensor("w1/temp1", "w1", "w1_slave_temp", "temp1", "temperature", "Garden", "°C")
OK_URL, BAD_URL = "json://hooks.example/ok", "json://user:hunter22@hooks.example/hookpath?token=abcdef"


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setattr(notifier_module, "POLL", 0.01)
    monkeypatch.setattr(notifier_module, "RETRY_FIRST", 0.01)
    monkeypatch.setattr(notifier_module, "RETRY_LONGEST", 0.02)


def settings(tmp_path, *targets: str):
    config = AlertsConfig(device_name="Shed", dashboard_url="http://shed.local/", targets=targets)
    return load_settings({}, {"run_dir": tmp_path / "run", "history_dir": tmp_path / "history", "alerts": config},
                         read_file=False)


def garden_reads(tmp_path, seq: int, *celsius: float) -> None:
    """Journal what a fresh engine makes of the Garden probe reading each value in turn, from sample seq on."""
    (tmp_path / "history").mkdir(exist_ok=True)
    (tmp_path / "run").mkdir(exist_ok=True)
    journal = AlertJournal.open(tmp_path / "history", durable=True)
    rules = [replace(r, hold=0) if r.name == "frost" else r for r in BUILTIN_RULES]
    engine = AlertEngine(rules, frost_threshold=0.5, interval=1.0)
    now = time.time()
    for number, value in enumerate(celsius):
        journal.record(seq + number, engine.observe(now + number, [(GARDEN, Reading(value))]))


def journal_with_frost(tmp_path, fire_and_resolve: bool = True) -> None:
    garden_reads(tmp_path, 1, *((-2.0, 3.0) if fire_and_resolve else (-2.0,)))


class Recorder:
    """A sender that records each attempt and fails for the URLs told to."""

    def __init__(self, failing: set[str] = frozenset()):
        self.attempts: list[tuple[str, Message]] = []
        self.failing = set(failing)
        self.lock = threading.Lock()

    def __call__(self, url: str, message: Message) -> str | None:
        with self.lock:
            self.attempts.append((url, message))
        return "HTTP 500" if url in self.failing else None

    def titles(self, url: str) -> list[str]:
        with self.lock:
            return [m.title for u, m in self.attempts if u == url]


def running(notifier: Notifier):
    thread = threading.Thread(target=notifier.run, daemon=True)
    thread.start()
    return thread


def test_each_target_gets_firing_then_resolved_once_and_a_restart_sends_nothing_again(tmp_path, fast):
    journal_with_frost(tmp_path)
    sender = Recorder()
    first = Notifier(settings(tmp_path, OK_URL), sender)
    thread = running(first)
    eventually(lambda: len(sender.titles(OK_URL)) == 2, "both messages")
    # Stopped as soon as the second message is sent, maybe before its cursor moved: a normal stop
    # lets the target record it (it did not, and a restart sent it again, until issue 20).
    first.stopping.set()
    thread.join(PATIENCE)
    assert not thread.is_alive() and not any(target.is_alive() for target in first.targets)
    assert sender.titles(OK_URL) == ["[Shed] FIRING: Garden", "[Shed] resolved: Garden"]
    (_, firing), _ = sender.attempts
    assert "Garden at -2 °C: at or below the frost threshold (0.5 °C)" in firing.body
    assert "Dashboard: http://shed.local/" in firing.body
    assert OK_URL not in (tmp_path / "history" / CURSOR_FILE).read_text()  # a fingerprint, not the URL

    again = Recorder()
    second = Notifier(settings(tmp_path, OK_URL), again)
    thread = running(second)
    # A new event after the restart: events go out in order, so once it is sent, a repeat of the
    # two old ones would have come before it.
    garden_reads(tmp_path, 3, -2.0)
    eventually(lambda: again.attempts, "the new event sent")
    second.stopping.set()
    thread.join(PATIENCE)
    assert again.titles(OK_URL) == ["[Shed] FIRING: Garden"]


def test_a_failing_target_is_retried_then_dropped_without_holding_up_another(tmp_path, fast, monkeypatch):
    monkeypatch.setattr(notifier_module, "MAX_ATTEMPTS", 3)
    journal_with_frost(tmp_path)
    sender = Recorder(failing={BAD_URL})
    notifier = Notifier(settings(tmp_path, BAD_URL, OK_URL), sender)
    thread = running(notifier)
    eventually(lambda: len(sender.titles(BAD_URL)) == 6, "three attempts at each message")
    eventually(lambda: notifier.counters.results["dropped"] == 2, "both messages dropped")
    notifier.stopping.set()
    thread.join(PATIENCE)
    assert sender.titles(OK_URL) == ["[Shed] FIRING: Garden", "[Shed] resolved: Garden"]
    assert notifier.counters.results == {"sent": 2, "failed": 4, "dropped": 2}
    status = (tmp_path / "run" / "notifier.json").read_bytes()
    assert notifier_status.decode(status) == notifier.counters and b"hunter22" not in status


def test_sampling_stopped_is_told_once_and_its_end_too(tmp_path, fast):
    journal_with_frost(tmp_path, fire_and_resolve=False)
    sender = Recorder()
    clock = [time.time()]
    notifier = Notifier(settings(tmp_path, OK_URL), sender, clock=lambda: clock[0])
    notifier.sampling.since = clock[0] - 1000  # no sample for 1000 s: far past the rule's 120 s
    thread = running(notifier)
    eventually(lambda: "[Shed] FIRING: Sampling" in sender.titles(OK_URL), "the sampling_stopped message")
    notifier.sampling.since = clock[0]  # as if a sample came now
    eventually(lambda: "[Shed] resolved: Sampling" in sender.titles(OK_URL), "its end")
    notifier.stopping.set()
    thread.join(PATIENCE)
    assert sender.titles(OK_URL).count("[Shed] FIRING: Sampling") == 1


def test_a_stop_during_a_back_off_keeps_the_message_for_after_the_restart(tmp_path, fast, monkeypatch):
    monkeypatch.setattr(notifier_module, "RETRY_FIRST", 3600.0)  # the stop comes during the back-off
    journal_with_frost(tmp_path, fire_and_resolve=False)
    failing = Recorder(failing={OK_URL})
    first = Notifier(settings(tmp_path, OK_URL), failing)
    thread = running(first)
    eventually(lambda: failing.attempts, "a failed attempt")
    first.stopping.set()
    thread.join(PATIENCE)
    for target in first.targets:  # as a process that exits: whatever its threads do on the way out is done
        target.join(PATIENCE)
    assert not thread.is_alive() and not any(target.is_alive() for target in first.targets)

    working = Recorder()
    second = Notifier(settings(tmp_path, OK_URL), working)
    thread = running(second)
    eventually(lambda: working.attempts, "the message sent after the restart")
    second.stopping.set()
    thread.join(PATIENCE)
    assert working.titles(OK_URL) == ["[Shed] FIRING: Garden"]


def test_an_attempt_that_never_returns_is_a_failure_after_its_deadline():
    started = time.monotonic()
    problem = attempt_with_deadline(lambda url, message: time.sleep(3600), OK_URL, Message(None, "firing", "t", "b"),
                                    timeout=0.1)
    assert problem == "no answer within 0.1 s"
    # The deadline is the behaviour: a bound as generous as any wait, far below the attempt's hour.
    assert time.monotonic() - started < PATIENCE


def test_scrub_hides_every_part_of_a_url_that_may_be_a_secret():
    text = "error posting to hooks.example/hookpath as user with hunter22 and abcdef"
    assert scrub(text, BAD_URL) == "error posting to hooks.example/… as … with … and …"
    assert "BOTTOKEN" not in scrub("tgram failed for BOTTOKEN", "tgram://BOTTOKEN/12345")


def test_send_test_prints_each_target_without_its_secret(tmp_path, capsys):
    config = AlertsConfig(device_name="Shed", targets=(OK_URL, BAD_URL))
    assert send_test(config, Recorder(failing={BAD_URL})) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == ["notify[0] json://hooks.example/…: sent",
                                "notify[1] json://hooks.example/…: FAILED: HTTP 500"]
    capsys.readouterr()
    assert send_test(AlertsConfig(), Recorder()) == 0  # nothing to test is no failure (make notify-test)
    assert capsys.readouterr().out.startswith("No notification targets, so nothing to test: add notify = [...]")


# --- the child that sends, with real Apprise against a real HTTP server on this machine -----


class Webhook(http.server.ThreadingHTTPServer):
    """A JSON webhook on 127.0.0.1: /ok answers 200, /fail 500, /hang never."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                outer.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                if self.path.startswith("/hang"):
                    outer.release.wait(2 * PATIENCE)  # longer than any test waits for it
                    return
                self.send_response(500 if self.path.startswith("/fail") else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.daemon_threads = True
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def webhook(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(APP) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    server = Webhook()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def test_the_child_sends_with_apprise_and_reports_a_refusal(webhook):
    send = child_sender(timeout=120)  # a generous bound: the child starts Python and loads Apprise
    message = Message(1, "firing", "[Shed] FIRING: Garden", "Garden at -2 °C")
    assert send(webhook.url("/ok/x"), message) is None
    assert webhook.bodies[0]["title"] == "[Shed] FIRING: Garden" and webhook.bodies[0]["type"] == "failure"
    problem = send(webhook.url("/fail/x"), message)
    assert problem is not None and "500" in problem


def test_a_child_that_gets_no_answer_is_killed_at_its_deadline(webhook):
    started = time.monotonic()
    problem = child_sender(timeout=2)(webhook.url("/hang/x"), Message(1, "firing", "t", "b"))
    assert problem == "no answer within 2 s"
    # Killed, not waited for: the webhook holds its answer longer than this generous bound.
    assert time.monotonic() - started < PATIENCE


def test_the_child_tells_which_urls_apprise_can_use(webhook):
    assert child_usable(["json://hooks.example/x", "nosuchservice://x/y"], timeout=120) == [True, False]


# --- Issue 22: targets, the device's name and its units set in the browser, followed live ---------------------


def test_the_child_tests_every_target_at_once_each_within_its_deadline(webhook):
    from frostserver.alerts.send import child_test

    urls = [webhook.url("/ok/a"), webhook.url("/fail/b"), webhook.url("/hang/c"), "nosuchservice://x/tk_secret"]
    problems = child_test(urls, "[Shed] test notification", "FrostServer on Shed can reach you here.", 3)
    assert problems[0] is None
    assert problems[1] is not None and "500" in problems[1]
    assert problems[2] == "no answer within 3 s"  # the others did not wait for it
    assert problems[3] is not None and "tk_secret" not in problems[3]
    assert {body["title"] for body in webhook.bodies} == {"[Shed] test notification"}


def live_settings(tmp_path, config: str):
    from frostserver.settings.live import LiveSettings

    (tmp_path / "run").mkdir(exist_ok=True)
    (tmp_path / "history").mkdir(exist_ok=True)
    path = tmp_path / "frostserver.toml"
    path.write_text(config)
    return LiveSettings({"FROST_CONFIG": str(path), "FROST_RUN_DIR": str(tmp_path / "run"),
                         "FROST_HISTORY_DIR": str(tmp_path / "history")})


def browser_sets(tmp_path, edit) -> None:
    from frostserver.settings.store import SettingsStore

    SettingsStore(tmp_path / "history").write(lambda before: edit, "ada", 1.0)


def test_a_target_added_in_the_browser_gets_the_next_event_and_a_removed_one_nothing_more(tmp_path, fast):
    from frostserver.settings.store import Edit, Touch

    garden_reads(tmp_path, 1, -2.0)  # an alert before the target exists: not sent to it
    live = live_settings(tmp_path, '[device]\nname = "Shed"\n')
    sender = Recorder()
    notifier = Notifier(live.current().settings, sender, live=live)
    thread = running(notifier)
    browser_sets(tmp_path, Edit(add_targets=[OK_URL], touched=[Touch("targets", "", "notify")]))
    eventually(lambda: [t.url for t in notifier.targets] == [OK_URL], "the added target")
    garden_reads(tmp_path, 2, -2.0)  # a fresh engine: it fires again
    eventually(lambda: sender.titles(OK_URL) == ["[Shed] FIRING: Garden"], "the next event, and only it")
    browser_sets(tmp_path, Edit(remove_targets=[1], touched=[Touch("targets", "", "notify")]))
    eventually(lambda: notifier.targets == [], "the target removed")
    garden_reads(tmp_path, 3, -2.0)
    time.sleep(0.2)  # twenty polls: a removed target would have been sent it by now
    notifier.stopping.set()
    thread.join(PATIENCE)
    assert sender.titles(OK_URL) == ["[Shed] FIRING: Garden"]
    assert notifier_status.decode((tmp_path / "run" / "notifier.json").read_bytes()).targets == 0


def test_notifications_are_in_fahrenheit_on_a_device_set_to_show_it_and_a_label_stays_as_typed(tmp_path, fast):
    from frostserver.alerts.messages import in_units
    from frostserver.settings.store import Edit, Touch

    garden_reads(tmp_path, 1, -2.0, 3.0)
    live = live_settings(tmp_path, f'[alerts]\nnotify = ["{OK_URL}"]\n')
    browser_sets(tmp_path, Edit(set={("device", "units"): "fahrenheit", ("device", "name"): "Greenhouse Pi"},
                                touched=[Touch("device", "", "units")]))
    sender = Recorder()
    notifier = Notifier(live.current().settings, sender, live=live)
    thread = running(notifier)
    eventually(lambda: len(sender.attempts) == 2, "both messages")
    notifier.stopping.set()
    thread.join(PATIENCE)
    (_, firing), (_, resolved) = sender.attempts
    assert firing.title == "[Greenhouse Pi] FIRING: Garden"
    assert "Garden at 28.4 °F: at or below the frost threshold (32.9 °F)" in firing.body
    assert "Garden back at 37.4 °F: above the frost threshold (32.9 °F)" in resolved.body
    typed = replace(notifier.journal.current().events[0].alert, label="Keep above -2 °C",
                    summary="Keep above -2 °C at -2 °C: at or below the frost threshold (0.5 °C)")
    assert in_units(typed, "fahrenheit").summary == "Keep above -2 °C at 28.4 °F: at or below the frost threshold (32.9 °F)"
    assert in_units(typed, "celsius") is typed
