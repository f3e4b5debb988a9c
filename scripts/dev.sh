#!/usr/bin/env bash
# `make dev`: the Flask app in debug mode (reloads on edits) and Vite's dev server (hot module
# reload), both without Docker, over a simulated sensor tree. Ctrl-C stops everything.
#
#   http://127.0.0.1:5173/  the dashboard (Vite), which proxies /api, /metrics, /healthz and
#                           /sensor_reading to the app (vite.config.js, FROST_API_URL)
#   http://127.0.0.1:5000/  the app itself (Flask's debug server), beside the sampler process
#
# Environment: FROST_SYSFS_ROOT (default: a tree tests/simulator.py builds and keeps changing),
# FROST_CONFIG (default: none), FROST_DEV_API_PORT (5000), FROST_DEV_WEB_PORT (5173),
# PYTHON (default: .venv/bin/python, which has the app's requirements; `make .venv/.installed`).
set -euo pipefail
set -m  # each background job in its own process group, so it can be stopped with its children

repo=$(cd "$(dirname "$0")/.." && pwd)
api_port=${FROST_DEV_API_PORT:-5000}
web_port=${FROST_DEV_WEB_PORT:-5173}
python=${PYTHON:-$repo/.venv/bin/python}
work=$(mktemp -d -t frostserver-dev.XXXXXX)
jobs_started=()

stop_all() {
  trap - EXIT INT TERM
  for pid in "${jobs_started[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${jobs_started[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
  echo "dev: stopped"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

start() {  # start DIR COMMAND...: run COMMAND in DIR in the background, remember its group
  local dir=$1
  shift
  (cd "$dir" && exec "$@") &
  jobs_started+=($!)
}

"$python" -c 'import flask' 2>/dev/null || { echo "dev: $python has no Flask; run: make .venv/.installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "dev: npm is missing (Debian: apt-get install nodejs npm)" >&2; exit 1; }
[ -d "$repo/services/web/node_modules" ] || (cd "$repo/services/web" && npm ci --no-audit --no-fund)

# The sensors: a given tree, or the simulator's (built, then its values drift every second).
if [ -z "${FROST_SYSFS_ROOT:-}" ]; then
  export FROST_SYSFS_ROOT=$work/sysfs
  start "$repo" python3 tests/simulator.py --root "$FROST_SYSFS_ROOT"
  for _ in $(seq 1 100); do
    [ -e "$FROST_SYSFS_ROOT/.frost-simulator" ] && break  # written once the tree is complete
    sleep 0.1
  done
  [ -e "$FROST_SYSFS_ROOT/.frost-simulator" ] || { echo "dev: the simulator built no tree" >&2; exit 1; }
fi
export FROST_RUN_DIR=$work/run  # the shared sample history, normally a tmpfs in the container
export FROST_LOG_LEVEL=${FROST_LOG_LEVEL:-debug}

# The app from its source folder, so the reloader watches the files being edited: the supervisor
# runs the sampler and, instead of Gunicorn, Flask's development server (which reloads the HTTP
# side on every edit; the sampler picks up edits when `make dev` is started again).
start "$repo/services/app" "$python" -m frostserver.supervisor -- \
  "$python" -m flask --app frostserver.http:create_app --debug run --host 127.0.0.1 --port "$api_port"
start "$repo/services/web" env FROST_API_URL="http://127.0.0.1:$api_port" \
  npm run dev -- --host 127.0.0.1 --port "$web_port" --strictPort

for _ in $(seq 1 100); do  # both answer within a few seconds
  "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "http://127.0.0.1:$web_port/api/v1/sensors" 2>/dev/null && break
  sleep 0.2
done
cat <<MSG

FrostServer dev mode (Ctrl-C stops it):
  dashboard:  http://127.0.0.1:$web_port/   (Vite: edits in services/web/src reload the page)
  app:        http://127.0.0.1:$api_port/api/v1/sensors   (Flask debug: edits reload the app)
  sensors:    $FROST_SYSFS_ROOT
  history:    $FROST_RUN_DIR

MSG
wait -n "${jobs_started[@]}"  # one of them stopped by itself: stop the others too
echo "dev: a process exited; stopping the others" >&2
exit 1
