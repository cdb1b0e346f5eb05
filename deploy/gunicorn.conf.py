"""gunicorn's settings for production behind nginx (deploy/nginx.conf): `gunicorn -c deploy/gunicorn.conf.py`.

Sync workers are right behind a buffering proxy: nginx receives whole requests and takes the answers
at the client's pace, so a worker is busy only for the time the app works. Command-line flags and
GUNICORN_CMD_ARGS override what is set here.
"""

import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Any

wsgi_app = "hellojohn_project.wsgi"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # loopback: only nginx talks to gunicorn
# The app is CPU-bound on hashing and JSON, with short database round trips: 2 per core.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
threads = 1
timeout = 30  # a request that takes longer is a stuck worker; nginx's proxy_read_timeout is longer
graceful_timeout = 20
keepalive = 5  # nginx keeps upstream connections open (`keepalive` in its upstream block)
max_requests = 10000  # recycles workers now and then, spread so they do not restart together
max_requests_jitter = 1000
# The app is imported once, in the master, before it binds the port. Otherwise an instance that starts
# (or restarts after a crash) accepts connections at once while each worker is still importing Django,
# and nginx's requests wait in the listen backlog meanwhile (seconds on a busy machine: `make topology`).
# Recycled workers then start in milliseconds too. Importing opens no database connection and starts
# no thread (each worker starts its own change listener on its first check), so forking after it is safe.
preload_app = True
accesslog = None  # nginx writes the access log; the app logs JSON lines on stderr
forwarded_allow_ips = "127.0.0.1"


def on_starting(server: Any) -> None:
    """prometheus-client's multiprocess mode needs an empty directory when the service starts."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True)


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges leave the sums (its counters stay: they are totals)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
