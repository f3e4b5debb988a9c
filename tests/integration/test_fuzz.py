"""Issue 6, fuzzing: schemathesis against the OpenAPI document, through nginx's published port.

Every documented operation but the event stream (it never ends) gets generated requests, valid and
invalid ones; every answer must be documented: no 5xx, a documented status code, content type,
headers and body. The stream's error paths get ordinary tests below.
"""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

# Few examples, and the same ones on every run: about 300 requests, two seconds or so on 2 cores.
FUZZ_SETTINGS = settings(
    max_examples=40,
    derandomize=True,  # a CI failure reproduces locally
    database=None,  # no example database: every run starts from the same examples
    deadline=None,  # timing is not under test here; a busy 2-core CI machine would flake
    suppress_health_check=[HealthCheck.too_slow],  # every example is a real HTTP round trip
)


@pytest.fixture(scope="module")
def api_schema(stack):
    schema = schemathesis.openapi.from_url(stack.url("/api/v1/openapi.json"), timeout=10)
    schema.config.update(base_url=stack.base_url)  # the document names no server: requests go to nginx
    return schema


# Schemathesis leaves out the operation that served the document unless a filter names it: every
# operation here is a GET, so this one names them all.
schema = schemathesis.pytest.from_fixture("api_schema").include(method="GET").exclude(path="/api/v1/stream")


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_answer_is_documented(case):
    # positive_data_acceptance is left out: a schema-valid `sensor` id that this device does not have,
    # or `seconds` beyond the configured history, is a documented 400 (ids come from the hardware,
    # the history length from the config file, so the document cannot enumerate them).
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


def test_every_sensor_of_the_device_matches_the_document(stack, api_schema):
    # The fuzzer's ids are made up (404s): ask for each real one, the broken chip's included.
    operation = api_schema["/api/v1/sensors/{sensor_id}"]["GET"]
    ids = [s["id"] for s in requests.get(stack.url("/api/v1/sensors"), timeout=5).json()["sensors"]]
    assert any(sensor_id.startswith("broken-") for sensor_id in ids)
    for sensor_id in ids:
        response = operation.Case(path_parameters={"sensor_id": sensor_id}).call_and_validate()
        assert response.status_code == 200, sensor_id


# --- The stream: its error paths, which the fuzzer does not reach.


def newest_sample(stack) -> int:
    return requests.get(stack.url("/readyz"), timeout=5).json()["samples"]


def first_event_id(stack, last_event_id: str) -> int:
    """Open the stream with this Last-Event-ID and return the id of the first event it sends."""
    with requests.get(stack.url("/api/v1/stream"), headers={"Last-Event-ID": last_event_id},
                      stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        lines = response.iter_lines(decode_unicode=True)
        assert next(lines) == "retry: 3000"
        for line in lines:
            if line.startswith("id: "):
                return int(line[4:])
    pytest.fail("the stream ended before its first event")


# test_stream.py covers a word and a small future id; these are the odder ones.
@pytest.mark.parametrize("last_event_id", ["1e3", "", "9" * 40], ids=["float", "empty", "huge"])
def test_stream_starts_live_after_a_garbled_or_future_last_event_id(stack, last_event_id):
    newest = newest_sample(stack)
    assert first_event_id(stack, last_event_id) >= newest


def test_stream_replays_what_history_holds_after_a_negative_last_event_id(stack):
    newest = newest_sample(stack)
    assert newest > 1  # the stack has been sampling for a while
    assert first_event_id(stack, "-5") < newest  # read as 0: everything the history still holds


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_stream_refuses_other_methods_in_the_json_shape(stack, method):
    response = requests.request(method, stack.url("/api/v1/stream"), timeout=5)
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
    assert response.json() == {"status": 405, "error": "Method Not Allowed",
                               "message": "Only GET and HEAD are allowed here."}


# --- Issue 21: the accounts' routes, fuzzed with an admin's session and with a read token ---------------------
# A stack of its own, with `[access] anonymous = "none"` (so every read is fuzzed behind a sign-in
# too) and an admin made on the device's shell: the session stack stays unclaimed for the other tests.

ACCOUNTS_CONFIG = '[access]\nanonymous = "none"\n'
FUZZ_ADMIN, FUZZ_PASSWORD = "fuzz-admin", "the fuzzer's own password"


@pytest.fixture(scope="module")
def accounts_stack():
    import shutil
    import tempfile
    from pathlib import Path

    from chips import coretemp_dual_socket
    from conftest import compose_project
    from fakesysfs import FakeSysfs

    work = Path(tempfile.mkdtemp(prefix="frost-fuzz-accounts-"))
    try:
        (work / "sys").mkdir()
        for path in (work, work / "sys"):
            path.chmod(0o755)
        coretemp_dual_socket(FakeSysfs(work / "sys"))
        config = work / "frostserver.toml"
        config.write_text(ACCOUNTS_CONFIG)
        config.chmod(0o644)
        env = {"FROST_TEST_SYSFS": str(work / "sys"), "FROST_TEST_CONFIG": str(config)}
        with compose_project("frostfuzzaccounts", ["compose.yaml", "compose.test.yaml"], env) as project:
            project.accounts("add", FUZZ_ADMIN, "--role", "admin", input=FUZZ_PASSWORD + "\n")
            yield project, project.url("nginx", 8080)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def admin_session(accounts_stack):
    """The admin's cookie and the headers every change of theirs sends (Origin, X-CSRF-Token)."""
    _, base = accounts_stack
    signed = requests.post(base + "/api/v1/session", json={"username": FUZZ_ADMIN, "password": FUZZ_PASSWORD},
                           headers={"Origin": base}, timeout=30)
    assert signed.status_code == 200, signed.text
    cookie = signed.headers["Set-Cookie"]
    # Plain HTTP: no Secure flag (test_access_control.py checks it is there over TLS).
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    return ({"frost_session": signed.cookies["frost_session"]},
            {"Origin": base, "X-CSRF-Token": signed.json()["csrf_token"]})


@pytest.fixture
def read_token(accounts_stack, admin_session):
    """A fresh read token for each operation (the session's fuzzing may revoke any token by its id)."""
    _, base = accounts_stack
    cookies, headers = admin_session
    made = requests.post(base + "/api/v1/tokens", json={"name": "fuzz-reader", "scope": "read"}, cookies=cookies,
                         headers=headers, timeout=10)
    assert made.status_code == 201, made.text
    return made.json()["token"]


@pytest.fixture(scope="module")
def accounts_schema(accounts_stack, admin_session):
    _, base = accounts_stack
    cookies, _ = admin_session
    document = requests.get(base + "/api/v1/openapi.json", cookies=cookies, timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=base)
    # The credentials are the test's (a session, a token): generated ones, or their absence, would
    # only be overridden by them, and a request "without its cookie" that carries one is no negative case.
    schema.config.generation.update(with_security_parameters=False)
    return schema


# Left out of the session's run: what would end the fuzzer's own session (tested in test_access_control.py),
# and the stream (it never ends).
with_session = (schemathesis.pytest.from_fixture("accounts_schema")
                .exclude(path="/api/v1/stream")
                .exclude(method="DELETE", path="/api/v1/session")
                .exclude(method="DELETE", path="/api/v1/users/{name}/sessions"))
with_token = schemathesis.pytest.from_fixture("accounts_schema").include(method="GET").exclude(path="/api/v1/stream")


@with_session.parametrize()
@FUZZ_SETTINGS
def test_every_answer_to_an_admins_session_is_documented(case, admin_session):
    cookies, headers = admin_session
    case.call_and_validate(cookies=cookies, headers=headers, excluded_checks=[positive_data_acceptance])


@with_token.parametrize()
@FUZZ_SETTINGS
def test_every_answer_to_a_read_token_is_documented(case, read_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {read_token}"},
                           excluded_checks=[positive_data_acceptance])
