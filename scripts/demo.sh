#!/usr/bin/env bash
# FrostServer on simulated sensors, for a machine without any (`make demo`, `make demo-down`, ...):
#   start          build the images, then the simulator's tree (tests/simulator.py) under
#                  .demo/sysfs, keep it updating in the background, start the stack on it
#                  (compose.yaml + compose.demo.yaml), print the URL
#   restart        restart the app (after an edit of config/frostserver.demo.toml), and the
#                  simulator if it is not running
#   notifications  print the notifications the demo's webhook receiver got
#   logs           follow the demo stack's logs
#   stop           stop the stack, then the simulator
#
# The demo is its own Compose project (frostserver-demo): it never touches the stack of `make up`.
# Environment: FROST_HTTP_PORT (8080), FROST_HTTP_BIND (0.0.0.0), FROST_DEMO_DAY_SECONDS (600:
# one simulated day lasts ten minutes), FROST_DEMO_START_HOUR (18: frost within two minutes).
set -euo pipefail

cd "$(dirname "$0")/.."
demo_dir="$PWD/.demo"
pid_file="$demo_dir/simulator.pid"
log_file="$demo_dir/simulator.log"
# compose.demo.yaml mounts this tree (its default is the same path, for compose commands by hand).
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
  # The simulator rebuilds only a tree that holds its marker; one without (an older demo.sh
  # removed it first, or a build was cut short) is still ours: .demo/ is this script's.
  if [ -d "$FROST_DEMO_SYSFS" ] && [ ! -e "$FROST_DEMO_SYSFS/.frost-simulator" ]; then
    find "$FROST_DEMO_SYSFS" -mindepth 1 -delete
  fi
  echo "==> starting the sensor simulator (log: ${log_file#$PWD/})"
  # setsid: its own session, so a Ctrl-C in this terminal later does not stop it.
  setsid python3 tests/simulator.py --root "$FROST_DEMO_SYSFS" --interval 1 \
    --day-seconds "${FROST_DEMO_DAY_SECONDS:-600}" --start-hour "${FROST_DEMO_START_HOUR:-18}" \
    </dev/null >"$log_file" 2>&1 &
  local started=$!
  echo "$started" >"$pid_file"
  # The simulator writes its pid into its marker file once the whole tree is there. The marker
  # of an earlier run stays until then: it is what lets the new run wipe that run's tree.
  for _ in $(seq 50); do
    [ "$(cat "$FROST_DEMO_SYSFS/.frost-simulator" 2>/dev/null)" = "$started" ] && return
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

require_running() {  # require_running SERVICE: fail with what to do if the demo's SERVICE is not up
  [ -n "$("${compose[@]}" ps -q --status running "$1" 2>/dev/null)" ] ||
    fail "the demo is not running; start it with: make demo"
}

wait_healthy() {  # wait_healthy COMPOSE-UP-ARGS...: bring services up, show the app's log if not healthy
  if ! "${compose[@]}" up -d --wait "$@"; then
    "${compose[@]}" logs --tail=50 app >&2 || true
    fail "the stack did not become healthy; see make demo-logs; stop it with: make demo-down"
  fi
}

# What the receiver got, one notification a line: the receiver answers JSON on its own loopback,
# read with its own python3 (it publishes no port).
read_received='
import json, time, urllib.request
with urllib.request.urlopen("http://127.0.0.1:8000/received", timeout=10) as answer:
    received = json.load(answer)
for request in received:
    payload = request.get("json") or {}
    when = time.strftime("%H:%M:%S", time.localtime(request["at"]))
    body = " | ".join(str(payload.get("message", "")).splitlines())
    print(when, str(payload.get("title", "")), "--", body)
if not received:
    print("no notification yet: the frost alert fires about two minutes into the demo")
'

case "${1:-}" in
  start)
    # The images first: the simulated evening starts with the stack, not before a long build.
    echo "==> building the images"
    "${compose[@]}" build
    start_simulator
    echo "==> starting the stack on the simulated sensors"
    wait_healthy
    echo
    echo "FrostServer demo is up:  http://localhost:$port/"
    echo "A simulated day lasts ${FROST_DEMO_DAY_SECONDS:-600} s from ${FROST_DEMO_START_HOUR:-18}:00;" \
      "the garden freezes at night and the frost alert fires."
    echo "Notifications: make demo-notifications    Simulator log: ${log_file#$PWD/}    Stop: make demo-down"
    ;;
  restart)
    require_running app
    start_simulator  # nothing to do if it runs; after a reboot, a new evening
    echo "==> restarting the app"
    "${compose[@]}" restart app
    wait_healthy app
    echo "the app is back with config/frostserver.demo.toml as it is now"
    ;;
  notifications)
    require_running receiver
    "${compose[@]}" exec -T receiver python3 -c "$read_received"
    ;;
  logs)
    "${compose[@]}" logs -f --tail=100
    ;;
  stop)
    "${compose[@]}" down --volumes --remove-orphans
    stop_simulator
    ;;
  *)
    echo "usage: $0 start|restart|notifications|logs|stop" >&2
    exit 2
    ;;
esac
