#!/usr/bin/env bash
# FrostServer on simulated sensors, for a machine without any (`make demo`, `make demo-down`):
#   start  build the simulator's tree (tests/simulator.py) under .demo/sysfs, keep it updating in
#          the background, start the stack on it (compose.yaml + compose.demo.yaml), print the URL
#   stop   stop the stack, then the simulator
#
# The demo is its own Compose project (frostserver-demo): it never touches the stack of `make up`.
# Environment: FROST_HTTP_PORT (8080), FROST_HTTP_BIND (0.0.0.0), FROST_DEMO_DAY_SECONDS (600:
# one simulated day lasts ten minutes), FROST_DEMO_START_HOUR (18: frost within three minutes).
set -euo pipefail

cd "$(dirname "$0")/.."
demo_dir="$PWD/.demo"
pid_file="$demo_dir/simulator.pid"
log_file="$demo_dir/simulator.log"
export FROST_DEMO_SYSFS="$demo_dir/sysfs"
compose=(docker compose -p frostserver-demo -f compose.yaml -f compose.demo.yaml)
port="${FROST_HTTP_PORT:-8080}"

fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

simulator_pid() {  # print the pid of our running simulator, if any
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  # The pid file may be stale and the number reused: check it is still the simulator.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "tests/simulator.py" && echo "$pid"
}

start_simulator() {
  if pid=$(simulator_pid); then
    echo "==> the simulator is already running (pid $pid)"
    return
  fi
  command -v python3 >/dev/null || fail "python3 is needed to run the simulator"
  mkdir -p "$demo_dir"
  rm -f "$FROST_DEMO_SYSFS/.frost-simulator"
  echo "==> starting the sensor simulator (log: ${log_file#$PWD/})"
  # setsid: its own session, so a Ctrl-C in this terminal later does not stop it.
  setsid python3 tests/simulator.py --root "$FROST_DEMO_SYSFS" --interval 1 \
    --day-seconds "${FROST_DEMO_DAY_SECONDS:-600}" --start-hour "${FROST_DEMO_START_HOUR:-18}" \
    </dev/null >"$log_file" 2>&1 &
  echo $! >"$pid_file"
  # The simulator writes its marker file once the whole tree is there.
  for _ in $(seq 50); do
    [ -e "$FROST_DEMO_SYSFS/.frost-simulator" ] && return
    simulator_pid >/dev/null || { cat "$log_file" >&2; fail "the simulator stopped"; }
    sleep 0.2
  done
  fail "the simulator built no tree within 10 s; see $log_file"
}

stop_simulator() {
  if pid=$(simulator_pid); then
    echo "==> stopping the sensor simulator (pid $pid)"
    kill "$pid"
  fi
  rm -f "$pid_file"
}

case "${1:-}" in
  start)
    start_simulator
    echo "==> starting the stack on the simulated sensors"
    if ! "${compose[@]}" up -d --build --wait; then
      "${compose[@]}" logs --tail=50 app >&2 || true
      fail "the stack did not become healthy; stop it with: scripts/demo.sh stop"
    fi
    echo
    echo "FrostServer demo is up:  http://localhost:$port/"
    echo "A simulated day lasts ${FROST_DEMO_DAY_SECONDS:-600} s; the garden freezes at night."
    echo "Simulator log: ${log_file#$PWD/}    Stop: make demo-down"
    ;;
  stop)
    "${compose[@]}" down --volumes --remove-orphans
    stop_simulator
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
