#!/usr/bin/env bash
# Say which of the stack's containers are not up and healthy, with the last lines of their logs:
# what `make up` prints when `docker compose up --wait` fails, instead of only "container ... is
# unhealthy". Usage: scripts/unhealthy.sh [COMPOSE-COMMAND...] (default: docker compose)
set -uo pipefail

compose=("$@")
[ ${#compose[@]} -gt 0 ] || compose=(docker compose)
lines=${FROST_UNHEALTHY_LOG_LINES:-20}

echo >&2
echo "The stack did not come up. Containers that are not running and healthy:" >&2
found=0
while IFS='|' read -r service state health exit_code; do
  # web builds the dashboard and exits 0 by design; a running container without a healthcheck is up.
  if [ "$service" = web ] && [ "$state" = exited ] && [ "$exit_code" = 0 ]; then continue; fi
  if [ "$state" = running ] && { [ -z "$health" ] || [ "$health" = healthy ]; }; then continue; fi
  found=1
  echo >&2
  echo "== $service: $state${health:+, $health}$([ "$state" = running ] || echo ", exit status $exit_code"); its last $lines log lines:" >&2
  # Without terminal escapes: Compose 2.26 starts each line of --no-log-prefix with one, and a log
  # line must never drive the terminal.
  "${compose[@]}" logs --no-color --no-log-prefix --tail "$lines" "$service" 2>&1 \
    | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/[[:cntrl:]]//g' -e 's/^/   /' >&2
done < <("${compose[@]}" ps --all --format '{{.Service}}|{{.State}}|{{.Health}}|{{.ExitCode}}' 2>/dev/null)
[ "$found" = 1 ] || echo "   (none now: it may have been slow; try again, or see below)" >&2
echo >&2
echo "See \`make logs\` for every container's log, \`make ps\` for their state." >&2
