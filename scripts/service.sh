#!/usr/bin/env bash
# Install or remove the systemd unit that starts FrostServer's stack at boot.
# Usage: scripts/service.sh install|uninstall|status
# The containers' restart policy (unless-stopped) covers crashes; this unit covers boots, and
# makes `systemctl stop frostserver` stop the stack cleanly.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
unit_dir=${SYSTEMD_UNIT_DIR:-/etc/systemd/system}
systemctl=${SYSTEMCTL:-systemctl}
unit="$unit_dir/frostserver.service"

require_systemd() {
  # /run/systemd/system exists only when systemd is the running init (SYSTEMCTL: tests' stand-in).
  if [ -z "${SYSTEMCTL:-}" ] && [ ! -d /run/systemd/system ]; then
    echo "service: systemd is not running here; start the stack with 'make up' (its containers restart" >&2
    echo "         by themselves as long as the Docker service starts at boot)." >&2
    exit 1
  fi
}

case "${1:-}" in
  install)
    require_systemd
    docker=$(command -v docker) || { echo "service: docker is not installed (run 'make provision')" >&2; exit 1; }
    mkdir -p "$unit_dir"
    sed -e "s#@REPO@#$repo#g" -e "s#@DOCKER@#$docker#g" "$repo/deploy/frostserver.service.in" >"$unit"
    "$systemctl" daemon-reload
    "$systemctl" enable --now frostserver.service
    echo "Installed $unit: FrostServer starts at boot."
    echo "Check it with: systemctl status frostserver   (logs: journalctl -u frostserver; make logs)"
    ;;
  uninstall)
    require_systemd
    if [ -f "$unit" ]; then
      "$systemctl" disable --now frostserver.service || true
      rm -f "$unit"
      "$systemctl" daemon-reload
      echo "Removed $unit (the stack is stopped; 'make up' starts it again)."
    else
      echo "service: $unit is not installed."
    fi
    ;;
  status)
    "$systemctl" status frostserver.service --no-pager
    ;;
  *)
    echo "usage: $0 install|uninstall|status" >&2
    exit 2
    ;;
esac
