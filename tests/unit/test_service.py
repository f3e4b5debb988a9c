"""The boot-time systemd unit that `make install-service` writes."""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_service_script(tmp_path, *args):
    log = tmp_path / "systemctl.log"
    fake_systemctl = tmp_path / "systemctl"  # records calls; the machine may have no systemd
    fake_systemctl.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake_systemctl.chmod(0o755)
    env = {**os.environ, "SYSTEMD_UNIT_DIR": str(tmp_path / "units"), "SYSTEMCTL": str(fake_systemctl)}
    result = subprocess.run([REPO / "scripts" / "service.sh", *args], env=env, capture_output=True, text=True)
    return result, (log.read_text().splitlines() if log.exists() else [])


def test_install_writes_a_unit_for_this_checkout_and_enables_it(tmp_path):
    result, calls = run_service_script(tmp_path, "install")
    assert result.returncode == 0, result.stderr
    unit = (tmp_path / "units" / "frostserver.service").read_text()
    assert f"WorkingDirectory={REPO}\n" in unit
    assert "ExecStart=/" in unit and " compose up --detach --wait" in unit
    assert "Requires=docker.service" in unit and "@" not in unit.split("[Unit]", 1)[1]
    assert calls == ["daemon-reload", "enable --now frostserver.service"]


def test_uninstall_disables_and_removes_the_unit(tmp_path):
    run_service_script(tmp_path, "install")
    result, calls = run_service_script(tmp_path, "uninstall")
    assert result.returncode == 0
    assert not (tmp_path / "units" / "frostserver.service").exists()
    assert calls[-2:] == ["disable --now frostserver.service", "daemon-reload"]
