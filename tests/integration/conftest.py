"""Bring the real stack up once per session: compose.yaml + compose.test.yaml over a fake sysfs."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from chips import FIXTURES
from fakesysfs import FakeChip, FakeSysfs
from simulator import w1_slave_text

REPO = Path(__file__).resolve().parents[2]
# scripts/arch.sh points the suite at images it built for another architecture: FROST_IMAGE_TAG
# names them (compose.yaml), FROST_TEST_OVERLAYS adds overlays (compose.emulated.yaml: room for
# QEMU), FROST_TEST_BUILD=never runs them as they are, FROST_TEST_PROJECT names the projects.
COMPOSE_FILES = ["compose.yaml", "compose.test.yaml",
                 *filter(None, os.environ.get("FROST_TEST_OVERLAYS", "").split(","))]
BUILD = os.environ.get("FROST_TEST_BUILD", "always") != "never"
PROJECT_PREFIX = os.environ.get("FROST_TEST_PROJECT", "frosttest")
# The Content-Security-Policy nginx sends with every answer (services/nginx/security-headers.conf).
CSP = ("default-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


# Variables testcontainers needs in os.environ for the session stack; a ComposeProject never
# inherits them, so a stack of one's own always says what it runs on.
SESSION_VARIABLES = ("COMPOSE_PROJECT_NAME", "FROST_TEST_SYSFS", "FROST_TEST_CONFIG")


@dataclass
class ComposeProject:
    """A compose project driven through the CLI with an explicit environment.

    Unlike testcontainers (which reads COMPOSE_PROJECT_NAME and the FROST_TEST_* variables
    from os.environ), it changes no process-wide state, so a module can run one beside the
    session stack.
    """

    project: str
    files: list[str]
    env: dict[str, str]
    profiles: list[str]

    def cli(self, *args: str, check: bool = True, timeout: float = 120,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run `docker compose` on this project (input: its stdin, else none)."""
        options = [arg for name in self.files for arg in ("-f", name)]
        options += [arg for profile in self.profiles for arg in ("--profile", profile)]
        return subprocess.run(["docker", "compose", "-p", self.project, *options, *args], cwd=REPO,
                              env=self.environment(), capture_output=True, text=True, check=check,
                              timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL)

    def accounts(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run `python -m frostserver.accounts ARGS` in the app container (as `make user` does)."""
        return self.cli("exec", "-T", "app", "python", "-m", "frostserver.accounts", *args, input=input, check=check)

    def environment(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if k not in SESSION_VARIABLES}
        return {**inherited, **self.env}

    def url(self, service: str, port: int, path: str = "") -> str:
        """Return http://127.0.0.1:<published port> of a service's container port, plus path."""
        published = self.cli("port", service, str(port)).stdout.split()[0]  # "127.0.0.1:49153"
        return f"http://{published}{path}"


@contextmanager
def compose_project(name: str, files: list[str], env: dict[str, str], profiles: list[str] = (),
                    wait: bool = True):
    """Build and start a project named <name><pid> (waiting for its healthchecks), always remove it."""
    project = ComposeProject(f"{name}{os.getpid()}", list(files), dict(env), list(profiles))
    try:
        project.cli("up", "--detach", *(["--build"] if BUILD else []), *(["--wait"] if wait else []), timeout=900)
        yield project
    except BaseException:
        logs = project.cli("logs", "--no-color", "--tail", "200", check=False)
        print(f"---- {project.project} logs ----\n", logs.stdout[-20000:], logs.stderr[-5000:])
        raise
    finally:
        project.cli("down", "--volumes", "--remove-orphans", check=False)


@dataclass
class Stack:
    """The running test stack and the fake hardware under it."""

    compose: object  # testcontainers' DockerCompose, which brought it up
    project: ComposeProject  # the same project, for the CLI
    base_url: str
    tree: FakeSysfs
    chips: dict[str, list[FakeChip]]

    def url(self, path: str) -> str:
        return self.base_url + path

    def find_port(self) -> None:
        """Look up nginx's published port again: a restarted nginx gets a new ephemeral one."""
        self.base_url = self.project.url("nginx", 8080)

    def compose_cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `docker compose` on this stack (stop/start a service, read logs)."""
        return self.project.cli(*args, check=check)


def wait_until(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (requests.RequestException, ValueError, KeyError) as error:
            last_error = error
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what} (last error: {last_error})")


def sensors_by_id(stack: Stack, path: str = "/api/v1/sensors") -> dict[str, dict]:
    response = requests.get(stack.url(path), timeout=5)
    response.raise_for_status()
    return {s["id"]: s for s in response.json()["sensors"]}


@pytest.fixture(scope="session")
def stack():
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # its image cannot be pulled here
    from testcontainers.compose import DockerCompose

    tree_dir = Path(tempfile.mkdtemp(prefix="frost-sysfs-"))
    tree_dir.chmod(0o755)  # the app runs as an unprivileged user in the container
    tree = FakeSysfs(tree_dir)
    # Every fixture chip the unit tests know (a Pi's thermal zone would clash with acpitz's).
    chips = {name: add(tree) for name, add in FIXTURES.items() if name != "raspberry_pi"}
    # One attribute that blocks every read (a FIFO nobody writes), as some drivers do.
    chips["broken"][0].write("temp11_input", 20000).break_attribute("temp11_input", "fifo")
    # The first DS18B20's w1_slave file, read by a config-file sensor of frostserver.test.toml.
    tree.write_file(chips["ds18b20"][0].device_dir / "w1_slave", w1_slave_text(23125))
    variables = {"COMPOSE_PROJECT_NAME": f"{PROJECT_PREFIX}{os.getpid()}", "FROST_TEST_SYSFS": str(tree_dir),
                 "FROST_TEST_CONFIG": str(Path(__file__).with_name("frostserver.test.toml"))}
    os.environ.update(variables)  # testcontainers takes them from there
    project = ComposeProject(variables["COMPOSE_PROJECT_NAME"], COMPOSE_FILES, variables, [])
    compose = DockerCompose(REPO, compose_file_name=COMPOSE_FILES, build=BUILD, wait=True)
    try:
        compose.start()
        port = compose.get_service_port("nginx", 8080)
        running = Stack(compose, project, f"http://127.0.0.1:{port}", tree, chips)
        # `up --wait` saw the healthchecks pass. A first sample may lack a chip whose first read
        # was cut off at the read deadline on a busy machine: wait for every sensor the tree has.
        expected = expected_sensor_ids(tree_dir, Path(variables["FROST_TEST_CONFIG"]))
        wait_until(lambda: expected <= sensors_by_id(running).keys(), 120, what="every sensor through nginx")
        yield running
    except BaseException:
        _print_logs(compose)
        raise
    finally:
        try:
            compose.stop()  # down --volumes: tests leave nothing behind (no Ryuk here)
        finally:
            shutil.rmtree(tree_dir, ignore_errors=True)


def expected_sensor_ids(tree_dir: Path, config: Path) -> set[str]:
    """The ids the app should list for a tree and a config file, read here with the app's own reader."""
    from frostserver.hwmon import HwmonReader
    from frostserver.config import load_settings
    from frostserver.overrides import OverrideApplier

    settings = load_settings({"FROST_CONFIG": str(config)})
    with HwmonReader(tree_dir, read_timeout=60) as reader:
        pairs = OverrideApplier(settings.sensor_overrides).apply(reader.sample())
    return {sensor.id for sensor, _ in pairs} | {spec.sensor_id for spec in settings.sensors}


def _print_logs(compose) -> None:
    try:
        out, err = compose.get_logs()
        print("---- stack logs ----\n", out[-20000:], err[-5000:])
    except Exception as error:  # the stack may not exist at all
        print(f"(no stack logs: {error})")
