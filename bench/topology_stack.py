"""The processes of `make topology` that the harnesses of tests/ do not start: gunicorn instances that can
be killed and restarted, the webhook worker, and a webhook receiver over real HTTP.

PostgreSQL (primary and replica), PgBouncer, Redis and nginx come from tests/pgcluster.py,
tests/pgbouncer.py, tests/redisserver.py and tests/nginxproxy.py, as the suite runs them.
"""

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

from tests.live_app import PROJECT, free_port, request


class GunicornInstance:
    """One `gunicorn -c deploy/gunicorn.conf.py` (its master and workers in a process group of their own)."""

    def __init__(self, name: str, env: dict[str, str], *, workers: int, directory: Path) -> None:
        self.name, self.port = name, free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.base = f"http://{self.address}"
        self.env = {**env, "GUNICORN_BIND": self.address, "GUNICORN_WORKERS": str(workers),
                    "PROMETHEUS_MULTIPROC_DIR": str(directory / f"prometheus-{name}")}
        self.log_path = directory / f"gunicorn-{name}.log"
        self.process: subprocess.Popen | None = None
        self._log: IO[str] | None = None

    def start(self, timeout: float = 90) -> None:
        self._log = self.log_path.open("a")
        # A session of its own: SIGKILL to the group takes the master and every worker at once, as a
        # crashed machine or an OOM kill of the whole service would.
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "gunicorn", "-c", str(PROJECT / "deploy" / "gunicorn.conf.py")],
            cwd=PROJECT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited: {self.tail()}")
            try:
                if request("GET", f"{self.base}/readyz")[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {self.name} is not ready: {self.tail()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL to the master and its workers: no graceful shutdown, connections reset mid-request."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        if self._log:
            self._log.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        if self._log:
            self._log.close()

    def tail(self) -> str:
        return self.log_path.read_text()[-3000:] if self.log_path.exists() else ""


class Worker:
    """`manage.py db_worker`, the webhook worker, as the README's production recipe runs it."""

    def __init__(self, env: dict[str, str], directory: Path) -> None:
        self.log_path = directory / "db_worker.log"
        self._log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "1"],
            cwd=PROJECT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.process.terminate()  # it finishes its current task first
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


class WebhookReceiver:
    """An HTTP server on loopback that answers 200 to every delivery and records its event id.

    Each delivery's Standard Webhooks signature is checked with the endpoint's secret (docs/api.md,
    "Signatures"); one that does not match is answered 400 and counted, so it would be retried and show.
    """

    def __init__(self) -> None:
        self.secret = ""
        self.event_ids: set[str] = set()
        self.deliveries = 0
        self.bad_signatures = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                good = receiver.record(body, self.headers)
                self.send_response(200 if good else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/hellojohn"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def record(self, body: bytes, headers: Any) -> bool:
        event_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        expected = base64.b64encode(hmac.new(key, f"{event_id}.{timestamp}.".encode() + body,
                                             hashlib.sha256).digest()).decode()
        good = any(hmac.compare_digest(expected, part.partition(",")[2])
                   for part in headers.get("webhook-signature", "").split(" ") if part.startswith("v1,"))
        good = good and json.loads(body).get("id") == event_id
        with self._lock:
            self.deliveries += 1
            if good:
                self.event_ids.add(event_id)
            else:
                self.bad_signatures += 1
        return good

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
