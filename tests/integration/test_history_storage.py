"""The history on disk in the real stack: kept across restarts, safe from a kill mid-write, a full
volume degrades it without stopping anything, a corrupt file is moved aside.

Stacks of their own (the session stack's history must not be broken on purpose). No test waits
for a minute to end: stopping the sampler writes the open minute, which is the write these tests
watch.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import requests

from chips import coretemp_dual_socket
from conftest import COMPOSE_FILES, ComposeProject, compose_project
from fakesysfs import FakeSysfs
from frostserver.history import SCHEMA_VERSION
from waiting import eventually

HISTORY_DIR = "/var/lib/frostserver"
FULL_VOLUME = str(Path(__file__).with_name("compose.history-full.yaml"))
# What the app container answers about its history database, read with its own Python.
QUERY = f"""
import json, pathlib, sqlite3
path = pathlib.Path("{HISTORY_DIR}/history.db")
answer = {{"files": sorted(p.name for p in path.parent.iterdir())}}
if path.exists():
    db = sqlite3.connect(f"file:{{path}}?mode=ro", uri=True)
    answer["integrity"] = db.execute("PRAGMA integrity_check").fetchone()[0]
    answer["version"] = db.execute("PRAGMA user_version").fetchone()[0]
    from frostserver.history.packed import decode
    blobs = [row[0] for row in db.execute("SELECT buckets FROM minute")]
    answer["minutes"] = [len(blobs), sum(r[3] for b in blobs for r in decode(b).rows().values())]
    answer["sensors"] = db.execute("SELECT count(*) FROM sensors").fetchone()[0]
print(json.dumps(answer))
"""


@pytest.fixture(scope="module")
def tree():
    work = Path(tempfile.mkdtemp(prefix="frost-history-"))
    work.chmod(0o755)  # the app reads the tree as another user
    coretemp_dual_socket(FakeSysfs(work / "sys"))
    yield work / "sys"
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(tree):
    with compose_project("frosthistory", COMPOSE_FILES, {"FROST_TEST_SYSFS": str(tree)}) as project:
        yield project


def database(project: ComposeProject) -> dict:
    done = project.cli("exec", "-T", "app", "python", "-c", QUERY)
    return json.loads(done.stdout)


def project_url(project: ComposeProject, path: str) -> str:
    return project.url("nginx", 8080, path)


def readyz(project: ComposeProject) -> dict:
    response = requests.get(project.url("nginx", 8080, "/readyz"), timeout=5)
    return {"code": response.status_code, **response.json()}


def wait_ready(project: ComposeProject, old_pid: int | None = None) -> dict:
    """Wait for /readyz 200 from a sampler other than old_pid; return its body."""
    def ready():
        body = readyz(project)
        return body if body["code"] == 200 and body["sampler"]["pid"] != old_pid else None
    return eventually(ready, "/readyz 200 from a new sampler")


def test_the_history_is_on_and_survives_a_restart_of_the_app(stack):
    body = wait_ready(stack)
    assert body["history"] == "ok"
    restarted_at = time.time()
    stack.cli("restart", "app")  # SIGTERM: the sampler writes its open minute before it exits
    wait_ready(stack)
    answer = database(stack)
    assert answer["integrity"] == "ok" and answer["version"] == SCHEMA_VERSION
    rows, samples = answer["minutes"]
    assert rows >= 1 and samples >= 1  # the minute from before the restart
    assert answer["sensors"] >= 1
    # And through nginx: the API serves it from a tier on disk (the new ring starts after the restart).
    response = requests.get(project_url(stack, "/api/v1/history"), timeout=10, params={
        "from": int(restarted_at) - 600, "to": int(time.time()), "step": 60, "sensor": "coretemp-isa-0000/temp1"})
    assert response.status_code == 200, response.text
    history = response.json()
    tiers = [part for part in history["parts"] if part["source"] in ("minute", "hour")]
    means = history["series"]["coretemp-isa-0000/temp1"]["mean"]
    on_disk = [mean for at, mean in zip(history["timestamps"], means)
               if at < restarted_at and any(part["from"] <= at < part["to"] for part in tiers)]
    assert any(mean is not None for mean in on_disk), history


def test_a_corrupt_database_is_moved_aside_and_a_fresh_one_started(stack):
    wait_ready(stack)
    # The container's log holds what the tests before this one did to it: count what this one adds.
    moved_before = len(re.findall(r"moved it aside", stack.cli("logs", "--no-color", "app").stdout))
    stack.cli("stop", "app")
    garbage = "open('/var/lib/frostserver/history.db', 'wb').write(bytes(range(256)) * 64)"
    stack.cli("run", "--rm", "--no-deps", "-T", "app", "python", "-c", garbage)
    stack.cli("start", "app")
    body = wait_ready(stack)
    assert body["history"] == "ok"
    answer = database(stack)
    assert any(re.fullmatch(r"history\.db\.corrupt-\d{8}T\d{6}Z", name) for name in answer["files"]), answer
    assert answer["integrity"] == "ok"
    logs = stack.cli("logs", "--no-color", "app").stdout
    assert len(re.findall(r"moved it aside", logs)) == moved_before + 1


def test_a_foreign_database_is_moved_aside_untouched(stack):
    """The issue's file: user_version 0, tables of its own (one named like ours); never stamped or changed."""
    wait_ready(stack)
    stack.cli("stop", "app")
    foreign = (
        "import hashlib, pathlib, sqlite3\n"
        "path = pathlib.Path('/var/lib/frostserver/history.db')\n"
        "for p in path.parent.glob('history.db*'): p.unlink()\n"
        "db = sqlite3.connect(path)\n"
        "db.execute('CREATE TABLE minute (id INTEGER, note TEXT)')\n"
        "db.execute('CREATE TABLE invoices (number INTEGER, total REAL)')\n"
        "db.execute(\"INSERT INTO invoices VALUES (1, 9.5)\")\n"
        "db.commit(); db.close()\n"
        "print(hashlib.sha256(path.read_bytes()).hexdigest())\n"
    )
    digest = stack.cli("run", "--rm", "--no-deps", "-T", "app", "python", "-c", foreign).stdout.strip()
    stack.cli("start", "app")
    body = wait_ready(stack)
    assert body["history"] == "ok"
    answer = database(stack)
    [aside] = [name for name in answer["files"] if re.fullmatch(r"history\.db\.foreign-\d{8}T\d{6}Z", name)]
    check = f"import hashlib; print(hashlib.sha256(open('{HISTORY_DIR}/{aside}', 'rb').read()).hexdigest())"
    assert stack.cli("exec", "-T", "app", "python", "-c", check).stdout.strip() == digest  # byte for byte
    assert answer["integrity"] == "ok" and answer["version"] == SCHEMA_VERSION  # a fresh one of ours
    logs = stack.cli("logs", "--no-color", "app").stdout
    assert "another program's" in logs and "no such column" not in logs


def test_a_kill_inside_the_write_transaction_leaves_an_intact_database(stack):
    """The test hook kills the sampler inside its write transaction, before COMMIT."""
    # Recreate the app with the hook on (same volume), then stop its sampler: its last write dies.
    hooked = ComposeProject(stack.project, stack.files, {**stack.env, "FROST_TEST_KILL_IN_HISTORY_WRITE": "1"},
                            stack.profiles)
    hooked.cli("up", "--detach", "--no-deps", "app", timeout=300)
    try:
        pid = wait_ready(hooked)["sampler"]["pid"]
        before = database(hooked)["minutes"]
        # Every write of a hooked sampler dies, so none commits: a minute ending meanwhile changes nothing.
        hooked.cli("exec", "-T", "app", "kill", "-TERM", str(pid), check=False)
        wait_ready(hooked, old_pid=pid)  # the supervisor restarted the killed sampler
        answer = database(hooked)
        assert answer["integrity"] == "ok"
        assert answer["minutes"] == before  # what was committed stays; the killed minute is not there
        logs = hooked.cli("logs", "--no-color", "app").stdout
        assert "the sampler exited (killed by SIGKILL)" in logs, logs[-3000:]
    finally:
        # The app as the module's fixture made it (no hook), whichever test runs next.
        stack.cli("up", "--detach", "--no-deps", "app", timeout=300)
        wait_ready(stack)


def test_a_full_volume_degrades_the_history_and_nothing_else(tree):
    with compose_project("frosthistoryfull", [*COMPOSE_FILES, FULL_VOLUME], {"FROST_TEST_SYSFS": str(tree)}) as full:
        body = wait_ready(full)
        assert body["code"] == 200 and body["history"] == "degraded"
        metrics = requests.get(full.url("nginx", 8080, "/metrics"), timeout=5).text
        errors = re.search(r"^frost_history_write_errors_total (\S+)$", metrics, re.MULTILINE)
        assert errors and float(errors.group(1)) >= 1
        sensors = requests.get(full.url("nginx", 8080, "/api/v1/sensors"), timeout=5).json()["sensors"]
        assert sensors  # sampling and the API go on
        logs = full.cli("logs", "--no-color", "app").stdout
        assert len(re.findall(r"history: writing .* fails", logs)) == 1
