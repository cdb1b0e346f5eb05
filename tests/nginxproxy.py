"""Runs the shipped deploy/nginx.conf on a free loopback port in front of a given upstream, for tests.

Only what must differ on a test machine is rewritten: the listening port, the upstream's address,
and the log, pid and temporary paths (a directory of the test's own).
"""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.live_app import PROJECT, free_port

SHIPPED = PROJECT / "deploy" / "nginx.conf"


def find_nginx() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def test_config(*, port: int, upstreams: list[str], directory: Path) -> str:
    text = SHIPPED.read_text()
    text = text.replace("listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;")
    servers = "\n".join(f"        server {address} max_fails=0;" for address in upstreams)
    shipped_server = "        server 127.0.0.1:8000 max_fails=0;   # one line per gunicorn instance\n"
    assert shipped_server in text
    text = text.replace(shipped_server, servers + "\n")
    text = text.replace("/var/log/nginx/hellojohn.", f"{directory}/")
    paths = "".join(f"    {name}_temp_path {directory}/{name};\n"
                    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    text = text.replace("http {\n", "http {\n" + paths, 1)
    text = text.replace("worker_processes auto;", "worker_processes 1;")
    return text


@contextmanager
def nginx(upstreams: list[str], directory: Path) -> Iterator[str]:
    """Starts nginx with the shipped configuration proxying to `upstreams`; yields its base URL."""
    binary = find_nginx()
    assert binary is not None, "nginx is not installed (Debian: apt-get install nginx-light)"
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = directory / "nginx.conf"
    config.write_text(test_config(port=port, upstreams=upstreams, directory=directory))
    command = [binary, "-p", str(directory), "-c", str(config), "-g", f"daemon off; pid {directory}/nginx.pid;"]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, (directory / "error.log").read_text()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
