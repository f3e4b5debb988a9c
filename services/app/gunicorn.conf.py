"""Gunicorn settings for FrostServer (https://gunicorn.org/reference/settings/)."""

import gc
import os

from frostserver.config import SettingsError, load_settings

try:
    # Only what Gunicorn needs (workers, threads, log level): the config file is the app's.
    settings = load_settings(read_file=False)
except SettingsError:
    # The app itself reports a bad setting (503 + healthcheck) instead of a crash loop; Gunicorn
    # starts with the defaults so that it can.
    settings = load_settings({}, read_file=False)

# --- Where to listen ---------------------------------------------------------------------------
# A Unix socket in a volume shared with nginx: no port to publish or firewall, no DNS lookup
# that goes stale when the app container restarts with another address, and no TCP overhead.
bind = [
    os.environ.get("FROST_BIND", "unix:/run/frostserver-socket/app.sock"),
    # Loopback inside the container only: the Docker HEALTHCHECK's way in (bash /dev/tcp).
    "127.0.0.1:8081",
]
umask = 0o007  # the socket is rw for the frost group, which nginx's user is in
backlog = 256

# --- Workers -----------------------------------------------------------------------------------
# gthread: each worker handles many connections with threads, so long-lived SSE streams don't
# tie up a process (sync workers would need one process per open dashboard). Two processes use
# both cores of a small device; the threads bound how many requests and streams run at once.
# The app caps streams per worker 16 below `threads` (FROST_MAX_STREAMS), so ordinary API
# requests always find a free thread. Threads start on demand: idle ones cost nothing. See
# "Why gthread" in README.md.
worker_class = "gthread"
workers = settings.workers
threads = settings.threads
# Requests are served from memory, so a request taking this long is a hung worker.
timeout = 30
# SSE streams never finish by themselves: on shutdown, give requests this long, then close.
graceful_timeout = 3
keepalive = 75  # longer than nginx's upstream keepalive_timeout (60 s), so nginx closes first
# No max_requests recycling: with gthread it has caused 502s (gunicorn #3038), and we don't leak.

# --- Process -----------------------------------------------------------------------------------
proc_name = "frostserver"
# Load the app once, in the arbiter, then fork the workers: they share its memory (the imports of
# Flask and the rest, most of a worker's) until they write to it, instead of each loading its own.
preload_app = True


def when_ready(server: object) -> None:
    """Move everything loaded so far out of the garbage collector's sight before the workers fork.

    A collection in a worker would touch every object to inspect it, copying the pages it shares
    with the arbiter; frozen objects are never inspected (see gc.freeze).
    """
    gc.freeze()


# Heartbeat files on tmpfs: the root filesystem is read-only and /tmp may be a disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Gunicorn >= 25 opens a control socket under $HOME by default; a non-root container user can't.
control_socket_disable = True

# --- Logging -----------------------------------------------------------------------------------
accesslog = "-" if os.environ.get("FROST_ACCESS_LOG", "0") in ("1", "true", "yes") else None
errorlog = "-"
loglevel = settings.log_level

wsgi_app = "frostserver.wsgi:app"

# --- Request limits: nginx's are the stricter ----------------------------------------------------
# nginx refuses an oversized request with the API's JSON errors (large_client_header_buffers 4 4k
# and max_headers 100 in services/nginx/nginx.conf); whatever it lets through must pass here too, or
# Gunicorn answers with its own HTML error (its default 4094-byte request line was shorter than
# nginx's old 8 KB one). Only nginx and the container's healthcheck reach Gunicorn, so each limit
# is simply Gunicorn's maximum.
limit_request_line = 8190  # nginx passes a request line of at most 4 KB (4094 bytes), unchanged
limit_request_field_size = 8190  # nginx passes header lines of at most 4 KB and sets none longer
limit_request_fields = 32768  # nginx passes at most 100 header lines, and adds 3 of its own
