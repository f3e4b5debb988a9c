"""A config file with a typo: the app refuses to run, says why once, and stays up to say it (issue 3).

This module runs a stack of its own, never healthy, so it does not share the session's `stack`.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from chips import coretemp_dual_socket
from conftest import COMPOSE_FILES, compose_project
from fakesysfs import FakeSysfs
from waiting import PATIENCE, eventually

BAD_CONFIG = """\
[sensors.w1_garden]
file = "/host/sys/bus/w1/devices/28-000005e2fdc3/w1_slave"
scael = 0.001
"""
MOUNTED_AT = "/etc/frostserver/frostserver.toml"  # where compose.yaml mounts the config
PROBLEM = f"{MOUNTED_AT}: sensors.w1_garden.scael: unknown key; did you mean 'scale'?"
# The Dockerfile's healthcheck: start period 10 s, then 3 failures 3 s apart, plus PATIENCE for a
# busy machine (the test ends as soon as it is unhealthy; the bound only says "never healthy").
UNHEALTHY_WITHIN = 10 + 3 * 3 + PATIENCE


@pytest.fixture(scope="module")
def bad_stack():
    """Start app, web and nginx with BAD_CONFIG; yield (project, nginx base URL)."""
    work = Path(tempfile.mkdtemp(prefix="frost-badconfig-"))
    work.chmod(0o755)  # the app reads the tree and the config as another user
    coretemp_dual_socket(FakeSysfs(work / "sys"))
    config = work / "frostserver.toml"
    config.write_text(BAD_CONFIG)
    config.chmod(0o644)
    env = {"FROST_TEST_SYSFS": str(work / "sys"), "FROST_TEST_CONFIG": str(config)}
    try:
        # Not --wait: the app is meant never to become healthy.
        with compose_project("frostbad", COMPOSE_FILES, env, wait=False) as project:
            yield project, project.url("nginx", 8080)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def app_state(project) -> dict:
    """Return `docker inspect` of the app container: its State and RestartCount."""
    container = project.cli("ps", "-a", "-q", "app").stdout.strip()
    out = subprocess.run(["docker", "inspect", "--format", "{{json .State}}|{{.RestartCount}}", container],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    state, restarts = out.strip().rsplit("|", 1)
    return {**json.loads(state), "RestartCount": int(restarts)}


def app_log(project) -> str:
    logs = project.cli("logs", "--no-color", "app")
    return logs.stdout + logs.stderr


def test_the_api_answers_a_json_503_that_names_the_file_and_the_key(bad_stack):
    _, base_url = bad_stack

    def refusal():
        response = requests.get(base_url + "/api/v1/sensors", timeout=5)
        # Until Gunicorn listens, nginx answers its own 503, which knows nothing of the config.
        # A Response is falsy when its status is an error: wrap it for eventually.
        return [response] if "scael" in response.text else None

    [response] = eventually(refusal, "the app's configuration error through nginx")
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == 503 and body["error"] == "Service Unavailable"
    assert body["message"] == f"FrostServer is not running: configuration error: {PROBLEM}"


def test_the_log_says_why_in_one_line_without_a_traceback(bad_stack):
    project, _ = bad_stack
    eventually(lambda: "configuration error" in app_log(project), "the configuration error in the app's log")
    log = app_log(project)
    # "<time> [<pid>] [CRITICAL] frostserver.sampler: configuration error, ...": the sampler says it
    # once and exits for good (the supervisor does not restart it); the workers only answer with it.
    lines = [line.split("] frostserver.sampler: ", 1)[-1].strip() for line in log.splitlines()
             if "configuration error" in line]
    assert len(lines) == 1, lines  # once, not once per process or a stream of them
    assert set(lines) == {f"configuration error, not sampling: {PROBLEM}"}
    assert "Traceback" not in log


def test_the_app_turns_unhealthy_and_keeps_running_instead_of_restarting(bad_stack):
    project, _ = bad_stack

    def unhealthy() -> dict | None:
        state = app_state(project)
        assert state["Health"]["Status"] in ("starting", "unhealthy"), state["Health"]  # never healthy
        return state if state["Health"]["Status"] == "unhealthy" else None

    state = eventually(unhealthy, "the app container unhealthy", patience=UNHEALTHY_WITHIN, interval=1)
    assert state["Running"] and state["RestartCount"] == 0  # not a crash loop
    assert "configuration error" in state["Health"]["Log"][-1]["Output"]
