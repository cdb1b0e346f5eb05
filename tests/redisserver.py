"""A throwaway redis-server on a free loopback port: `python -m tests.redisserver -- command …` sets REDIS_URL.

Like tests/pgcluster.py for PostgreSQL: Debian's redis-server, no persistence, its directory removed
after. Without redis-server it says so and exits 0, or 1 when CI=true. Tests use the `redis_url`
fixture (tests/conftest.py), which runs `redis_server` below.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_redis_server() -> str | None:
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server(directory: Path | None = None) -> Iterator[str]:
    """Starts redis-server; yields its URL (database 0); stops it and removes its directory after."""
    binary = find_redis_server()
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    own = Path(tempfile.mkdtemp(prefix="hj-redis-", dir=directory))
    port = _free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                "no", "--dir", str(own)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(own, ignore_errors=True)


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1:] if "--" in argv else argv
    if find_redis_server() is None:
        if os.environ.get("CI", "").lower() == "true":
            print("redisserver: redis-server is required under CI=true but was not found.", file=sys.stderr)
            return 1
        print("redisserver: no redis-server on this machine; skipping.", file=sys.stderr)
        return 0
    with redis_server() as url:
        print(f"redisserver: {url}", file=sys.stderr)
        return subprocess.run(command, env={**os.environ, "REDIS_URL": url}).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
