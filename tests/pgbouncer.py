"""A throwaway PgBouncer in transaction pooling in front of a PostgreSQL server, for tests and tests.pgcluster.

Debian's pgbouncer, on a free loopback port, as the `postgres` user when run as root (it refuses to run
as root), trusting loopback clients like the throwaway cluster does; removed when the block ends.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CONFIG = """\
[databases]
{databases}* = host=127.0.0.1 port={postgres_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir}/userlist.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
max_db_connections = 60
server_idle_timeout = 10
ignore_startup_parameters = extra_float_digits,options
logfile = {workdir}/pgbouncer.log
pidfile = {workdir}/pgbouncer.pid
"""


def find_pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(path)), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgBouncer:
    port: int
    process: subprocess.Popen

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def stats(self) -> str:
        """Transactions and queries PgBouncer passed on, from its admin console (proof traffic went through)."""
        import psycopg

        with psycopg.connect(self.url("pgbouncer"), autocommit=True, prepare_threshold=None) as conn:
            rows = conn.execute("SHOW STATS").fetchall()
            names = [column.name for column in conn.execute("SHOW STATS").description or []]
        totals = {name: sum(int(row[names.index(name)]) for row in rows)
                  for name in ("total_xact_count", "total_query_count")}
        return ", ".join(f"{name} {value}" for name, value in totals.items())


def as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def pgbouncer(*, postgres_port: int, workdir: Path | None = None,
              databases: Mapping[str, str] | None = None) -> Iterator[PgBouncer]:
    """PgBouncer passing every database name to `postgres_port`; `databases` adds named entries
    (name -> libpq connection string, e.g. a replica's `host=127.0.0.1 port=… dbname=hellojohn`)."""
    binary = find_pgbouncer()
    if binary is None:
        raise RuntimeError("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    own = Path(tempfile.mkdtemp(prefix="hj-pgbouncer-", dir=workdir))
    if os.geteuid() == 0:
        shutil.chown(own, "postgres", "postgres")
    port = _free_port()
    (own / "userlist.txt").write_text('"postgres" ""\n')
    (own / "pgbouncer.ini").write_text(CONFIG.format(
        postgres_port=postgres_port, port=port, workdir=own,
        databases="".join(f"{name} = {entry}\n" for name, entry in (databases or {}).items())))
    process = subprocess.Popen(as_postgres([binary, str(own / "pgbouncer.ini")]), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError((own / "pgbouncer.log").read_text()[-3000:])
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("pgbouncer did not start") from None
                time.sleep(0.1)
        print(f"pgbouncer: transaction pooling on 127.0.0.1:{port} in front of port {postgres_port}",
              file=sys.stderr)
        yield PgBouncer(port=port, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(own, ignore_errors=True)
