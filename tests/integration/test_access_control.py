"""Issue 21: accounts, sessions and tokens through nginx, on a device that lets no anonymous visitor read, over TLS.

One stack of its own: `[access] anonymous = "none"`, short lockouts (so that waiting out a
Retry-After takes seconds, not minutes), FROST_TLS=on with a self-signed certificate. Every
request goes through nginx's published HTTPS port, as a browser's would, with the Origin a
browser sends. Plain HTTP (no Secure cookie) is checked on the session stack (test_fuzz.py).
"""
from __future__ import annotations

import concurrent.futures
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from chips import coretemp_dual_socket
from conftest import ComposeProject, compose_project, wait_until
from fakesysfs import FakeSysfs

# s: how long "eventually" may take on a busy 2-core machine; a passing test never waits this long.
PATIENCE = 60
HEARTBEAT = 15  # s: the stream's heartbeat (FROST_STREAM_HEARTBEAT's default), when it checks its credentials
ADMIN, ADMIN_PASSWORD = "ada", "correct horse battery staple"
VIEWER, VIEWER_PASSWORD = "vic", "viewer password 42"
GUESSED, GUESSED_PASSWORD = "carol", "carol's own password"
CONFIG = """
# Issue 21's test device: nobody reads without signing in; lockouts of seconds, so that a test can
# wait one out (shipped: a minute, doubling to five).
[access]
anonymous = "none"
login_attempts = 5
address_attempts = 60
lockout = "2s"
max_lockout = "4s"
"""
PUBLIC = ["/healthz", "/readyz", "/api/v1/session", "/"]
PRIVATE = ["/api/v1/sensors", "/api/v1/sensors/coretemp-isa-0000/temp1", "/api/v1/chips", "/api/v1/alerts",
           "/api/v1/history", "/api/v1/stream", "/api/v1/openapi.json", "/metrics", "/sensor_reading"]


class Browser(requests.Session):
    """A client that trusts the device's certificate on every request (a Session's own `verify` loses to
    REQUESTS_CA_BUNDLE when that is set, as it is on machines behind a TLS-inspecting proxy)."""

    def __init__(self, cert: Path):
        super().__init__()
        self.certificate = str(cert)

    def request(self, *args, **kwargs):
        kwargs.setdefault("verify", self.certificate)
        return super().request(*args, **kwargs)


@dataclass
class Device:
    project: ComposeProject
    https: str
    cert: Path
    secrets: set[str] = field(default_factory=set)  # every password and token the tests used: grepped for

    def url(self, path: str) -> str:
        return self.https + path

    def client(self) -> requests.Session:
        """A browser-like client: this device's Origin on every request, the certificate trusted."""
        session = Browser(self.cert)
        session.headers["Origin"] = self.https
        return session

    def sign_in(self, name: str, password: str) -> tuple[requests.Session, str]:
        """Sign in; return the client (its cookie set) and the CSRF token."""
        client = self.client()
        response = client.post(self.url("/api/v1/session"), json={"username": name, "password": password}, timeout=30)
        assert response.status_code == 200, response.text
        return client, response.json()["csrf_token"]

    def logs(self) -> str:
        result = self.project.cli("logs", "--no-color")
        return result.stdout + result.stderr


@pytest.fixture(scope="module")
def device():
    work = Path(tempfile.mkdtemp(prefix="frost-accounts-"))
    try:
        tree, access = work / "sys", work / "access"
        tree.mkdir()
        access.mkdir()
        for path in (work, tree, access):
            path.chmod(0o755)
        coretemp_dual_socket(FakeSysfs(tree))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout",
                        access / "tls.key", "-out", access / "tls.crt"], check=True, capture_output=True)
        for name in ("tls.key", "tls.crt"):
            (access / name).chmod(0o644)  # nginx runs as an unprivileged user
        config = work / "frostserver.toml"
        config.write_text(CONFIG)
        config.chmod(0o644)
        env = {"FROST_TEST_SYSFS": str(tree), "FROST_TEST_CONFIG": str(config), "FROST_ACCESS_DIR": str(access),
               "FROST_TLS": "on", "FROST_HTTPS_PORT": "8443"}
        with compose_project("frostaccounts", ["compose.yaml", "compose.test.yaml"], env) as project:
            https = project.url("nginx", 8443).replace("http://", "https://")
            yield Device(project, https, access / "tls.crt")
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def claimed(device):
    """Claim the device with the setup code from the CLI (as `make up` prints it); return what was seen."""
    code = device.project.accounts("setup-code").stdout.strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
    device.secrets.update({ADMIN_PASSWORD, code, code.replace("-", "")})
    client = device.client()
    before = client.get(device.url("/api/v1/session"), timeout=10)
    wrong = client.post(device.url("/api/v1/claim"), json={"code": "AAAA-AAAA-AAAA", "username": ADMIN,
                                                           "password": ADMIN_PASSWORD}, timeout=30)
    # Typed as people type: lower case, no dashes.
    right = client.post(device.url("/api/v1/claim"), json={"code": code.replace("-", "").lower(), "username": ADMIN,
                                                           "password": ADMIN_PASSWORD}, timeout=30)
    again = device.client().post(device.url("/api/v1/claim"), json={"code": code, "username": "eve",
                                                                      "password": "eve's password"}, timeout=30)
    return {"code": code, "before": before, "wrong": wrong, "right": right, "again": again, "client": client}


@pytest.fixture(scope="module")
def admin(device, claimed):
    """The admin's signed-in client and CSRF token."""
    client = claimed["client"]
    return client, claimed["right"].json()["csrf_token"]


@pytest.fixture(scope="module")
def viewer(device, admin):
    """A viewer made by the admin in the browser, signed in."""
    client, csrf = admin
    device.secrets.add(VIEWER_PASSWORD)
    made = client.post(device.url("/api/v1/users"), json={"name": VIEWER, "password": VIEWER_PASSWORD,
                                                         "role": "viewer"}, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert made.status_code == 201, made.text
    return device.sign_in(VIEWER, VIEWER_PASSWORD)


def make_token(device: Device, admin, name: str, scope: str) -> dict:
    client, csrf = admin
    response = client.post(device.url("/api/v1/tokens"), json={"name": name, "scope": scope},
                           headers={"X-CSRF-Token": csrf}, timeout=10)
    assert response.status_code == 201, response.text
    device.secrets.add(response.json()["token"])
    return response.json()


def bearer(token: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['token']}"}


def assert_json_error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status and body["message"]
    return body


# --- claiming -----------------------------------------------------------------------------------------------


def test_the_device_is_claimed_with_the_setup_code_once(device, claimed):
    before = claimed["before"].json()
    assert before["claim"] is True and before["user"] is None and before["anonymous"] == "none"
    assert assert_json_error(claimed["wrong"], 403)["message"] == "Wrong or used setup code"
    right = claimed["right"]
    assert right.status_code == 201, right.text
    assert right.json()["user"] == {"name": ADMIN, "role": "admin"} and right.json()["via"] == "session"
    assert right.json()["claim"] is False
    assert_json_error(claimed["again"], 409)  # the code died with the claim: an admin exists
    # The CLI says so too, and `make up` then prints nothing to claim with.
    said = device.project.accounts("setup-code").stdout
    assert "FrostServer is claimed" in said and claimed["code"] not in said
    # The app's log said the code once, in its one line, before the claim (Gunicorn's master, once per start).
    lines = [line for line in device.logs().splitlines() if claimed["code"] in line]
    assert len(lines) == 1 and "FrostServer is not claimed yet: open http://<device>:8080/ and enter the setup code" \
        in lines[0], lines


def test_the_session_cookie_is_secure_httponly_strict_and_new_at_each_sign_in(device, claimed):
    cookie = claimed["right"].headers["Set-Cookie"]
    assert re.match(r"frost_session=[A-Za-z0-9_-]{43};", cookie), cookie
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path", "max-age"} <= flags and "SameSite=Strict" in cookie, cookie
    first, _ = device.sign_in(ADMIN, ADMIN_PASSWORD)
    second, _ = device.sign_in(ADMIN, ADMIN_PASSWORD)
    assert first.cookies["frost_session"] != second.cookies["frost_session"]


# --- who may read -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PRIVATE)
def test_anonymous_reads_are_401_with_anonymous_none(device, claimed, path):
    response = device.client().get(device.url(path), timeout=10)
    assert_json_error(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="FrostServer"'


@pytest.mark.parametrize("path", PUBLIC)
def test_the_public_paths_stay_open(device, claimed, path):
    assert device.client().get(device.url(path), timeout=10).status_code == 200


def test_a_session_and_a_token_read(device, admin, viewer):
    viewer_client, _ = viewer
    token = make_token(device, admin, "reader", "read")
    for path in ("/api/v1/sensors", "/metrics", "/api/v1/openapi.json"):
        assert viewer_client.get(device.url(path), timeout=10).status_code == 200, path
        assert device.client().get(device.url(path), headers=bearer(token), timeout=10).status_code == 200, path


# --- who may write ------------------------------------------------------------------------------------------


def test_a_write_without_a_session_or_token_is_a_json_401(device, claimed):
    response = device.client().post(device.url("/api/v1/users"), json={"name": "x", "password": "12345678",
                                                                       "role": "viewer"}, timeout=10)
    assert_json_error(response, 401)


def test_a_viewers_write_is_a_json_403(device, viewer):
    client, csrf = viewer
    response = client.post(device.url("/api/v1/tokens"), json={"name": "mine", "scope": "write"},
                           headers={"X-CSRF-Token": csrf}, timeout=10)
    assert_json_error(response, 403)
    # A viewer changes its own password, though (with the current one).
    refused = client.patch(device.url(f"/api/v1/users/{VIEWER}"), json={"password": "new viewer password",
                                                                         "current_password": "not it at all"},
                           headers={"X-CSRF-Token": csrf}, timeout=30)
    assert_json_error(refused, 403)


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site", "Origin": None},
    {"Origin": None},  # neither header: refused
], ids=["foreign-origin", "null-origin", "cross-site", "same-site", "no-origin"])
def test_a_cross_origin_write_with_a_valid_cookie_is_refused(device, admin, headers):
    client, csrf = admin
    response = client.post(device.url("/api/v1/tokens"), json={"name": "stolen", "scope": "write"},
                           headers={"X-CSRF-Token": csrf, **headers}, timeout=10)
    assert assert_json_error(response, 403)["message"].startswith("Cross-site request refused")


def test_a_write_without_the_csrf_header_is_refused(device, admin):
    client, csrf = admin
    for headers in ({}, {"X-CSRF-Token": csrf[:-1] + ("A" if csrf[-1] != "A" else "B")}):
        response = client.post(device.url("/api/v1/tokens"), json={"name": "nocsrf", "scope": "read"},
                               headers=headers, timeout=10)
        assert "X-CSRF-Token" in assert_json_error(response, 403)["message"]
        assert csrf not in response.text


def test_a_read_token_cannot_write_and_no_token_manages_accounts(device, admin):
    for scope in ("read", "write"):
        token = make_token(device, admin, f"script-{scope}", scope)
        response = requests.post(device.url("/api/v1/users"), json={"name": "x", "password": "12345678",
                                                                   "role": "admin"},
                                 headers=bearer(token), verify=device.cert, timeout=10)
        assert_json_error(response, 403)
        assert requests.get(device.url("/api/v1/users"), headers=bearer(token), verify=device.cert,
                            timeout=10).status_code == 403


def test_methods_a_route_does_not_take_are_a_json_405(device, admin):
    client, csrf = admin
    response = client.put(device.url("/api/v1/users"), headers={"X-CSRF-Token": csrf}, timeout=10)
    assert_json_error(response, 405)
    assert response.headers["Allow"] == "GET, HEAD, POST"
    assert client.post(device.url("/api/v1/sensors"), timeout=10).headers["Allow"] == "GET, HEAD"  # nginx's


# --- revoking -----------------------------------------------------------------------------------------------


def test_a_revoked_token_stops_working_at_once(device, admin):
    client, csrf = admin
    token = make_token(device, admin, "short-lived", "read")
    assert requests.get(device.url("/metrics"), headers=bearer(token), verify=device.cert, timeout=10).ok
    revoked = client.delete(device.url(f"/api/v1/tokens/{token['id']}"), headers={"X-CSRF-Token": csrf}, timeout=10)
    assert revoked.status_code == 204
    response = requests.get(device.url("/metrics"), headers=bearer(token), verify=device.cert, timeout=10)
    assert_json_error(response, 401)
    listed = client.get(device.url("/api/v1/tokens"), timeout=10).json()["tokens"]
    assert token["id"] not in [listed_token["id"] for listed_token in listed]


def test_a_logged_out_session_stops_working_at_once(device, claimed):
    client, csrf = device.sign_in(ADMIN, ADMIN_PASSWORD)
    cookie = client.cookies["frost_session"]
    assert client.get(device.url("/api/v1/sensors"), timeout=10).status_code == 200
    out = client.delete(device.url("/api/v1/session"), headers={"X-CSRF-Token": csrf}, timeout=10)
    assert out.status_code == 204 and "Max-Age=0" in out.headers["Set-Cookie"]
    replay = requests.get(device.url("/api/v1/sensors"), cookies={"frost_session": cookie}, verify=device.cert,
                          timeout=10)
    assert_json_error(replay, 401)


def test_nginx_never_serves_a_signed_in_answer_from_its_cache_to_anyone_else(device, admin):
    client, _ = admin
    for _ in range(20):  # each signed-in answer immediately followed by an anonymous request for the same
        assert client.get(device.url("/api/v1/sensors"), timeout=10).status_code == 200
        assert_json_error(requests.get(device.url("/api/v1/sensors"), verify=device.cert, timeout=10), 401)


def test_a_revoked_token_ends_its_open_stream_within_a_heartbeat(device, admin):
    client, csrf = admin
    token = make_token(device, admin, "streamer", "read")
    with requests.get(device.url("/api/v1/stream"), headers=bearer(token), verify=device.cert, stream=True,
                      timeout=HEARTBEAT + PATIENCE) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines(decode_unicode=True)
        assert next(lines) == "retry: 3000"
        assert client.delete(device.url(f"/api/v1/tokens/{token['id']}"), headers={"X-CSRF-Token": csrf},
                             timeout=10).status_code == 204
        # Events go on until the stream's next check, one heartbeat at most, then it ends.
        deadline = time.monotonic() + HEARTBEAT + PATIENCE
        for _ in lines:
            assert time.monotonic() < deadline, "the stream outlived its revoked token"


# --- guessing -----------------------------------------------------------------------------------------------


def test_fifty_wrong_passwords_get_429s_never_a_200_and_the_right_one_works_after_retry_after(device, admin):
    client, csrf = admin
    device.secrets.add(GUESSED_PASSWORD)
    assert client.post(device.url("/api/v1/users"), json={"name": GUESSED, "password": GUESSED_PASSWORD,
                                                          "role": "viewer"},
                       headers={"X-CSRF-Token": csrf}, timeout=30).status_code == 201
    guesser = device.client()
    answers = [guesser.post(device.url("/api/v1/session"), json={"username": GUESSED, "password": f"guess {n:03}"},
                            timeout=30) for n in range(50)]
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {401, 429} and statuses[:5] == [401] * 5 and 429 in statuses, statuses
    # During a lockout even the right password gets the 429: the limit tells a guesser nothing.
    locked = guesser.post(device.url("/api/v1/session"), json={"username": GUESSED, "password": GUESSED_PASSWORD},
                          timeout=30)
    if locked.status_code == 429:  # else the lockout (2 s) ran out before this request on a slow machine
        assert "frost_session" not in locked.cookies
    last = locked if locked.status_code == 429 else next(a for a in reversed(answers) if a.status_code == 429)
    assert_json_error(last, 429)
    retry_after = int(last.headers["Retry-After"])
    assert 1 <= retry_after <= 4  # max_lockout: however many guesses, never longer
    time.sleep(retry_after + 0.5)
    assert guesser.post(device.url("/api/v1/session"), json={"username": GUESSED, "password": GUESSED_PASSWORD},
                        timeout=30).status_code == 200


def test_an_unknown_user_and_a_wrong_password_answer_identically(device, claimed):
    def attempt(name: str) -> requests.Response:
        return device.client().post(device.url("/api/v1/session"), json={"username": name, "password": "wrong one"},
                                    timeout=30)

    unknown, wrong = attempt("nobody-here"), attempt(ADMIN)
    assert (unknown.status_code, unknown.content) == (wrong.status_code, wrong.content) == (
        401, b'{"status":401,"error":"Unauthorized","message":"Wrong user name or password"}\n')
    varying = {"Date", "X-Frost-Worker", "Content-Length"}
    assert {k: v for k, v in unknown.headers.items() if k not in varying} == {
        k: v for k, v in wrong.headers.items() if k not in varying}
    device.sign_in(ADMIN, ADMIN_PASSWORD)  # forgets the address's failures


def test_fifty_parallel_sign_ins_get_json_answers_and_the_api_keeps_answering(device, admin):
    token = make_token(device, admin, "watcher", "read")
    booted = workers_booted(device)

    def sign_in(n: int) -> tuple[int, str]:
        try:
            response = device.client().post(device.url("/api/v1/session"),
                                            json={"username": f"crowd{n}", "password": f"password {n}"}, timeout=60)
        except requests.RequestException as error:  # a dropped connection
            return 0, repr(error)
        return response.status_code, response.headers.get("Content-Type", "")

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        futures = [pool.submit(sign_in, n) for n in range(50)]
        served = []
        while not all(future.done() for future in futures):
            sensors = requests.get(device.url("/api/v1/sensors"), headers=bearer(token), verify=device.cert, timeout=10)
            served.append(sensors.status_code)
        answers = [future.result() for future in futures]
    assert all(status in (401, 429, 503) and kind.startswith("application/json") for status, kind in answers), answers
    assert served and set(served) == {200}, served
    assert workers_booted(device) == booted  # no worker killed (out of memory, timed out) and replaced
    print("parallel sign-ins:", {status: [s for s, _ in answers].count(status) for status in (401, 429, 503)},
          "API answers meanwhile:", len(served), "workers' peak RSS (VmHWM):", peak_rss(device))
    wait_until(lambda: device.client().post(device.url("/api/v1/session"), json={
        "username": ADMIN, "password": ADMIN_PASSWORD}, timeout=30).status_code == 200, PATIENCE,
        what="the admin to sign in after the crowd")


def workers_booted(device: Device) -> int:
    """How many Gunicorn workers have booted so far: one more for each that died and was replaced."""
    return device.project.cli("logs", "--no-color", "app").stdout.count("Booting worker with pid")


def peak_rss(device: Device) -> str:
    """Each Gunicorn process's peak resident memory (VmHWM), for the report."""
    script = ("for p in /proc/[0-9]*; do case $(tr '\\0' ' ' < $p/cmdline) in *gunicorn*) "
              "echo \"${p#/proc/}: $(grep VmHWM $p/status | tr -s ' ')\";; esac; done")
    return device.project.cli("exec", "-T", "app", "bash", "-c", script).stdout.strip().replace("\n", "; ")


# --- the audit log, the CLI and secrets ---------------------------------------------------------------------


def test_the_audit_log_tells_what_happened_admins_only(device, admin, viewer):
    client, _ = admin
    events = client.get(device.url("/api/v1/audit?limit=1000"), timeout=10).json()["events"]
    actions = {event["action"] for event in events}
    assert {"claim", "login", "login_failed", "logout", "user_added", "token_added", "token_revoked",
            "setup_code_failed"} <= actions, actions
    assert events == sorted(events, key=lambda event: event["at"], reverse=True)
    viewer_client, _ = viewer
    assert_json_error(viewer_client.get(device.url("/api/v1/audit"), timeout=10), 403)
    assert_json_error(client.get(device.url("/api/v1/audit?limit=0"), timeout=10), 400)


def test_the_cli_adds_lists_and_signs_out(device, admin):
    password = "piped from a script"
    device.secrets.add(password)
    added = device.project.accounts("add", "scripted", "--role", "viewer", input=password + "\n")
    assert "Added viewer 'scripted'" in added.stdout
    client, _ = device.sign_in("scripted", password)
    listed = device.project.accounts("list").stdout
    assert re.search(r"^scripted\s+viewer\s", listed, re.MULTILINE), listed
    assert "Ended 1 session of 'scripted'" in device.project.accounts("logout", "scripted").stdout
    assert_json_error(client.get(device.url("/api/v1/sensors"), timeout=10), 401)
    made = device.project.accounts("token", "from-cli", "--scope", "read")
    token = made.stdout.strip()
    assert re.fullmatch(r"frost_[A-Za-z0-9_-]{43}", token), made.stdout  # alone on its line
    device.secrets.add(token)
    assert requests.get(device.url("/metrics"), headers={"Authorization": f"Bearer {token}"}, verify=device.cert,
                        timeout=10).status_code == 200
    refused = device.project.accounts("remove", ADMIN, check=False)
    assert refused.returncode == 1 and "last admin" in refused.stderr


def test_no_password_token_or_setup_code_is_in_a_log_an_answer_or_the_metrics(device, admin, claimed):
    client, _ = admin
    token = make_token(device, admin, "grep-me", "read")
    assert len(device.secrets) >= 6
    answers = "".join(client.get(device.url(path), timeout=10).text for path in (
        "/api/v1/session", "/api/v1/users", "/api/v1/tokens", "/api/v1/audit?limit=1000", "/metrics",
        "/api/v1/sensors"))
    answers += requests.get(device.url("/metrics"), headers=bearer(token), verify=device.cert, timeout=10).text
    logs = device.logs()
    code = claimed["code"]
    for secret in device.secrets:
        assert secret not in answers, "a secret in an API answer"
        if code.replace("-", "") in secret.replace("-", ""):
            continue  # the setup code: in its one log line by design (test_the_device_is_claimed_...)
        assert secret not in logs, "a secret in the logs"
