"""Runs a command against a throwaway PostgreSQL cluster: `python -m tests.pgcluster -- pytest …`.

Starts a private cluster (initdb + pg_ctl, as the `postgres` user through runuser when run as
root) on a free loopback port, sets DATABASE_URL for the command, and removes the cluster after.
Without pg_ctl it says so and exits 0, or 1 when CI=true (PostgreSQL is required there).

With `--pgbouncer` (`python -m tests.pgcluster --pgbouncer -- pytest …`) the command's DATABASE_URL
goes through a throwaway PgBouncer in transaction pooling in front of the cluster
(tests/pgbouncer.py), with DATABASE_POOLER=pgbouncer, and HJ_LISTENER_DATABASE_URL straight to the cluster.

HJ_PG_EXTRA_SETTINGS adds server settings, space-separated `name=value` items passed as `-c name=value`
(the bench's `shared_preload_libraries=pg_stat_statements`).
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def find_pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1:] if "--" in argv else argv
    options = argv[:argv.index("--")] if "--" in argv else []
    pg_bin = find_pg_bin()
    if pg_bin is None:
        if os.environ.get("CI", "").lower() == "true":
            print("pgcluster: PostgreSQL (pg_ctl) is required under CI=true but was not found.", file=sys.stderr)
            return 1
        print("pgcluster: no pg_ctl on this machine; skipping the PostgreSQL run.", file=sys.stderr)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="hj-pg-"))
    data, port = workdir / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    log = workdir / "server.log"
    try:
        subprocess.run(as_postgres([str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                    "--no-sync", "-E", "UTF8"]), check=True, stdout=subprocess.DEVNULL)
        server = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        server += "".join(f" -c {item}" for item in os.environ.get("HJ_PG_EXTRA_SETTINGS", "").split())
        subprocess.run(as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", server,
                                    "-w", "start"]), check=True, stdout=subprocess.DEVNULL)
        url = f"postgres://postgres@127.0.0.1:{port}/hellojohn"
        print(f"pgcluster: PostgreSQL from {pg_bin} on 127.0.0.1:{port}", file=sys.stderr)
        if "--pgbouncer" in options:
            from tests.pgbouncer import pgbouncer

            with pgbouncer(postgres_port=port, workdir=workdir) as bouncer:
                # LISTEN needs a session of its own: the change feed's listener connects directly.
                env = {**os.environ, "DATABASE_URL": bouncer.url("hellojohn"), "DATABASE_POOLER": "pgbouncer",
                       "HJ_LISTENER_DATABASE_URL": url}
                code = subprocess.run(command, env=env).returncode
                print(f"pgcluster: through PgBouncer: {bouncer.stats()}", file=sys.stderr)
                return code
        env = {**os.environ, "DATABASE_URL": url}
        return subprocess.run(command, env=env).returncode
    finally:
        subprocess.run(as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
