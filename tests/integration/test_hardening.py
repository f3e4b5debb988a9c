"""Issue 6: least privilege, crash recovery and clean stops, checked on the running test stack."""
import json
import os
import signal
import subprocess

import pytest
import requests

from waiting import eventually

SERVICES = ("app", "nginx", "web")


def inspect(stack, service: str) -> dict:
    container_id = stack.compose_cli("ps", "-a", "-q", service).stdout.strip()
    assert container_id, f"no container for {service}"
    return json.loads(subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True,
                                     check=True).stdout)[0]


@pytest.mark.parametrize("service", SERVICES)
def test_every_container_runs_with_least_privilege(stack, service):
    info = inspect(stack, service)
    host = info["HostConfig"]
    user = info["Config"]["User"]
    assert user and user.split(":")[0] not in ("", "0", "root"), f"{service} runs as root"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["Memory"] > 0 and host["PidsLimit"] > 0
    assert host["Privileged"] is False


def test_only_nginx_publishes_a_port_and_sensor_and_config_mounts_are_read_only(stack):
    published = {s: bool(inspect(stack, s)["HostConfig"]["PortBindings"]) for s in SERVICES}
    assert published == {"app": False, "nginx": True, "web": False}
    mounts = {m["Destination"]: m for m in inspect(stack, "app")["Mounts"]}
    assert mounts["/host/sys"]["RW"] is False
    assert mounts["/etc/frostserver/frostserver.toml"]["RW"] is False


def test_a_crashed_app_answers_json_503_at_once_and_comes_back_by_itself(stack):
    before = inspect(stack, "app")
    os.kill(before["State"]["Pid"], signal.SIGKILL)  # a crash, not a `docker stop`
    def down_answer():
        # An uncached API path: nginx may answer /api/v1/sensors from its one-second cache
        # for as long as Docker takes to restart the app.
        response = requests.get(stack.url("/api/v1/history?seconds=1"), timeout=5)
        return [response] if response.status_code in (502, 503) else None  # a Response is falsy when not ok

    (down,) = eventually(down_answer, "the API to report the app down", interval=0.05)
    assert down.json()["status"] == down.status_code
    assert requests.get(stack.url("/"), timeout=5).status_code == 200
    eventually(lambda: inspect(stack, "app")["RestartCount"] > before["RestartCount"], "Docker to restart the app")
    # Healthy again by its own healthcheck (not just answered from nginx's one-second cache).
    eventually(lambda: inspect(stack, "app")["State"]["Health"]["Status"] == "healthy",
               "the restarted app to be healthy")
    stack.wait_ready()  # every sensor served again, whichever test runs next


def test_stopping_the_stack_is_clean_and_quick_then_it_starts_again(stack):
    stack.compose_cli("stop")
    try:
        for service in ("app", "nginx"):
            state = inspect(stack, service)["State"]
            # Quick is what this proves, however slow the machine: Docker waits 10 s after its stop
            # signal, then sends SIGKILL, which would show as 137. 0: every process stopped by itself.
            assert state["ExitCode"] == 0, f"{service} exited with {state['ExitCode']}"
    finally:
        stack.compose_cli("start")
        stack.find_port()
        stack.wait_ready()  # every sensor served again, whichever test runs next
