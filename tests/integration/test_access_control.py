"""Issue 6: optional basic auth and TLS, switched on by configuration (off is tested everywhere else)."""
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from chips import coretemp_dual_socket
from conftest import compose_project
from fakesysfs import FakeSysfs
from waiting import eventually

USER, PASSWORD = "frost", "correct horse battery staple"


@pytest.fixture(scope="module")
def secured():
    work = Path(tempfile.mkdtemp(prefix="frost-secure-"))
    try:
        tree, access = work / "sys", work / "access"
        tree.mkdir()
        access.mkdir()
        for path in (work, tree, access):
            path.chmod(0o755)
        coretemp_dual_socket(FakeSysfs(tree))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", access / "tls.key", "-out", access / "tls.crt"],
                       check=True, capture_output=True)
        hashed = subprocess.run(["openssl", "passwd", "-6", PASSWORD], check=True, capture_output=True,
                                text=True).stdout.strip()
        (access / "htpasswd").write_text(f"{USER}:{hashed}\n")
        for name in ("tls.key", "tls.crt", "htpasswd"):
            (access / name).chmod(0o644)  # nginx runs as an unprivileged user
        env = {"FROST_TEST_SYSFS": str(tree), "FROST_ACCESS_DIR": str(access), "FROST_TLS": "on",
               "FROST_BASIC_AUTH": "on", "FROST_HTTPS_PORT": "8443"}
        with compose_project("frostsecure", ["compose.yaml", "compose.test.yaml"], env) as project:
            http = project.url("nginx", 8080)
            https = project.url("nginx", 8443).replace("http://", "https://")
            yield http, https, access / "tls.crt"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_plain_http_redirects_to_https(secured):
    http, _, _ = secured
    response = requests.get(http + "/api/v1/sensors", allow_redirects=False, timeout=5)
    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://") and ":8443/api/v1/sensors" in response.headers["Location"]


def test_https_without_credentials_is_refused(secured):
    _, https, cert = secured
    for path in ("/", "/api/v1/sensors", "/metrics"):
        response = requests.get(https + path, verify=cert, timeout=5)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert response.json()["status"] == 401  # in the JSON shape, like every refusal of nginx's


def test_https_with_credentials_serves_the_dashboard_and_the_api(secured):
    _, https, cert = secured
    auth = (USER, PASSWORD)
    assert "<title>FrostServer sensors</title>" in requests.get(https + "/", auth=auth, verify=cert, timeout=5).text
    # Waited for: a first sample on a busy machine may lack a chip whose read was cut off.
    eventually(lambda: any(s["id"] == "coretemp-isa-0000/temp1" for s in requests.get(
        https + "/api/v1/sensors", auth=auth, verify=cert, timeout=5).json()["sensors"]), "coretemp-isa-0000/temp1 over HTTPS")
    wrong = requests.get(https + "/api/v1/sensors", auth=(USER, "wrong"), verify=cert, timeout=5)
    assert wrong.status_code == 401


def test_probes_stay_open_for_healthchecks(secured):
    _, https, cert = secured
    assert requests.get(https + "/healthz", verify=cert, timeout=5).status_code == 200
