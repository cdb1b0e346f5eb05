"""Throwaway PostgreSQL servers on loopback: a primary, streaming replicas, and `python -m tests.pgcluster -- cmd`.

As a library (tests, harnesses, benchmarks):

    with primary() as main, replica_of(main) as standby:
        main.sql("CREATE DATABASE hellojohn"); standby.url(); replay_lag_bytes(main)

Each server is a private cluster (initdb + pg_ctl, as the `postgres` user through runuser when run as
root) on a free loopback port, trusting loopback connections, in its own directory that is removed when
the block ends (so a `workdir` given must be one the `postgres` user can enter; the default is the
system's temporary directory). The primary is set up to be followed (`wal_level=replica`, WAL senders,
replication slots); a replica is a `pg_basebackup -R` hot standby streaming from it through a
replication slot of its own, so it catches up after being stopped however much was written meanwhile.

As a command, `python -m tests.pgcluster [--pgbouncer] [--replica] -- cmd …` runs `cmd` with
DATABASE_URL set to a fresh primary and removes it after. Without pg_ctl it says so and exits 0, or 1
when CI=true (PostgreSQL is required there).

- `--pgbouncer`: DATABASE_URL goes through a throwaway PgBouncer in transaction pooling in front of the
  primary (tests/pgbouncer.py), with DATABASE_POOLER=pgbouncer.
- `--replica`: a streaming replica too, as DATABASE_REPLICA_URL (with `--pgbouncer`, through the same
  PgBouncer, as its database `hellojohn_replica`).

The command also gets HJ_PGCLUSTER_DATA (the primary's data directory) and HJ_PGCLUSTER_PRIMARY /
HJ_PGCLUSTER_REPLICA (each server as JSON; `cluster_from_environment("HJ_PGCLUSTER_PRIMARY")` makes it a
`Cluster` again), for tests that stop or restart a server under the running command.
"""

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# Both sides of a stream get these: a hot standby refuses to start with fewer connections than its primary.
SERVER_SETTINGS = ("listen_addresses=127.0.0.1", "fsync=off", "max_connections=200", "wal_level=replica",
                   "max_wal_senders=10", "max_replication_slots=10", "hot_standby=on",
                   "wal_receiver_status_interval=1s")


def find_pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class Cluster:
    """One PostgreSQL server on 127.0.0.1: its binaries, data directory, port and own directory."""

    pg_bin: Path
    data: Path
    port: int
    workdir: Path
    settings: tuple[str, ...] = field(default=())  # extra `-c` settings, beyond SERVER_SETTINGS

    def url(self, dbname: str = "hellojohn") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    def pg_ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(as_postgres([str(self.pg_bin / "pg_ctl"), "-D", str(self.data), *args]), check=check,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def options(self) -> str:
        return " ".join([f"-p {self.port} -k {self.workdir}",
                         *(f"-c {setting}" for setting in (*SERVER_SETTINGS, *self.settings))])

    def start(self) -> None:
        try:
            self.pg_ctl("-l", str(self.log), "-o", self.options(), "-w", "-t", "60", "start")
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"PostgreSQL on port {self.port} did not start: "
                               f"{self.log.read_text()[-3000:] if self.log.exists() else ''}") from error

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def sql(self, statement: str, dbname: str = "postgres") -> str:
        """The statement's output as `psql -Atc` prints it (unaligned, tuples only), stripped."""
        result = subprocess.run([str(self.pg_bin / "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                                 "-p", str(self.port), "-U", "postgres", "-d", dbname, "-Atc", statement],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"psql on port {self.port}: {result.stderr.strip()}")
        return result.stdout.strip()

    def to_json(self) -> str:
        return json.dumps({"pg_bin": str(self.pg_bin), "data": str(self.data), "port": self.port,
                           "workdir": str(self.workdir), "settings": list(self.settings)})


def cluster_from_environment(name: str) -> Cluster:
    """The server the command form exported as `name` (HJ_PGCLUSTER_PRIMARY or HJ_PGCLUSTER_REPLICA)."""
    found = json.loads(os.environ[name])
    return Cluster(pg_bin=Path(found["pg_bin"]), data=Path(found["data"]), port=found["port"],
                   workdir=Path(found["workdir"]), settings=tuple(found["settings"]))


def _require_pg_bin() -> Path:
    pg_bin = find_pg_bin()
    if pg_bin is None:
        raise RuntimeError("PostgreSQL (pg_ctl) is not installed (Debian: apt-get install postgresql)")
    return pg_bin


def _own_directory(prefix: str, workdir: Path | None) -> Path:
    own = Path(tempfile.mkdtemp(prefix=prefix, dir=workdir))
    if os.geteuid() == 0:
        shutil.chown(own, "postgres", "postgres")
    return own


def _wait_until(check, *, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting until {what}")
        time.sleep(0.05)


@contextmanager
def primary(workdir: Path | None = None, *, extra: Sequence[str] = ()) -> Iterator[Cluster]:
    """A fresh primary that replicas can follow; `extra` adds `-c` settings (e.g. shared_preload_libraries=…)."""
    pg_bin = _require_pg_bin()
    own = _own_directory("hj-pg-", workdir)
    cluster = Cluster(pg_bin=pg_bin, data=own / "data", port=free_port(), workdir=own, settings=tuple(extra))
    try:
        # initdb's pg_hba.conf trusts loopback replication connections too (-A trust).
        subprocess.run(as_postgres([str(pg_bin / "initdb"), "-D", str(cluster.data), "-U", "postgres", "-A", "trust",
                                    "--no-sync", "-E", "UTF8"]), check=True, stdout=subprocess.DEVNULL)
        cluster.start()
        yield cluster
    finally:
        cluster.pg_ctl("-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(own, ignore_errors=True)


@contextmanager
def replica_of(source: Cluster, workdir: Path | None = None) -> Iterator[Cluster]:
    """A hot standby streaming from `source`, accepting (read-only) connections when the block starts."""
    own = _own_directory("hj-pg-replica-", workdir)
    cluster = Cluster(pg_bin=source.pg_bin, data=own / "data", port=free_port(), workdir=own,
                      settings=source.settings)
    slot = f"replica_{cluster.port}"
    try:
        subprocess.run(as_postgres([str(source.pg_bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(source.port),
                                    "-U", "postgres", "-D", str(cluster.data), "-R", "-X", "stream", "-C", "-S", slot,
                                    "-c", "fast", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        cluster.start()
        _wait_until(lambda: _streaming(source, slot), what=f"the replica on port {cluster.port} streams")
        yield cluster
    finally:
        cluster.pg_ctl("-m", "immediate", "-w", "stop", check=False)
        with contextlib.suppress(RuntimeError):  # the primary is already gone, and its slots with it
            source.sql(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "  # noqa: S608 (a port number)
                       f"WHERE slot_name = '{slot}'")
        shutil.rmtree(own, ignore_errors=True)


def _streaming(source: Cluster, slot: str) -> bool:
    return source.sql(f"SELECT active FROM pg_replication_slots WHERE slot_name = '{slot}'") == "t"  # noqa: S608


def replay_lag_bytes(primary: Cluster) -> int:
    """How far the furthest-behind streaming replica's replay is behind the primary's WAL, in bytes.

    Raises LookupError when no replica is connected (e.g. while it restarts).
    """
    found = primary.sql("SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))::bigint "
                        "FROM pg_stat_replication")
    if not found:
        raise LookupError(f"no replica streams from port {primary.port}")
    return int(found)


def wait_for_replay(primary: Cluster, replica: Cluster | None = None, timeout: float = 30) -> None:
    """Until `replica` (or every connected one, once one is) has replayed what the primary has written so far.

    Naming the replica is quicker: it is asked directly, where the primary hears of its progress only
    every wal_receiver_status_interval (1 s).
    """
    if replica is not None:
        target = primary.sql("SELECT pg_current_wal_lsn()")
        _wait_until(lambda: replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t",
                    what=f"the replica on port {replica.port} has replayed", timeout=timeout)
        return

    def replayed() -> bool:
        try:
            return replay_lag_bytes(primary) == 0
        except LookupError:  # none connected yet (it is starting, or reconnecting after a restart)
            return False

    _wait_until(replayed, what="the replica has replayed", timeout=timeout)


def pause_replay(replica: Cluster) -> None:
    """The replica keeps receiving WAL but stops applying it (pg_wal_replay_pause) until resume_replay."""
    replica.sql("SELECT pg_wal_replay_pause()")
    _wait_until(lambda: replica.sql("SELECT pg_get_wal_replay_pause_state()") == "paused",
                what=f"replay is paused on port {replica.port}")


def resume_replay(replica: Cluster) -> None:
    replica.sql("SELECT pg_wal_replay_resume()")


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1:] if "--" in argv else argv
    options = argv[:argv.index("--")] if "--" in argv else []
    if find_pg_bin() is None:
        if os.environ.get("CI", "").lower() == "true":
            print("pgcluster: PostgreSQL (pg_ctl) is required under CI=true but was not found.", file=sys.stderr)
            return 1
        print("pgcluster: no pg_ctl on this machine; skipping the PostgreSQL run.", file=sys.stderr)
        return 0
    with primary() as main_server:
        print(f"pgcluster: PostgreSQL from {main_server.pg_bin} on 127.0.0.1:{main_server.port}", file=sys.stderr)
        env = {**os.environ, "DATABASE_URL": main_server.url(), "HJ_PGCLUSTER_DATA": str(main_server.data),
               "HJ_PGCLUSTER_PRIMARY": main_server.to_json()}
        if "--replica" not in options:
            return _run(command, env, main_server, None, pooled="--pgbouncer" in options)
        with replica_of(main_server) as standby:
            print(f"pgcluster: streaming replica on 127.0.0.1:{standby.port}", file=sys.stderr)
            env |= {"DATABASE_REPLICA_URL": standby.url(), "HJ_PGCLUSTER_REPLICA": standby.to_json()}
            return _run(command, env, main_server, standby, pooled="--pgbouncer" in options)


def _run(command: list[str], env: dict[str, str], main_server: Cluster, standby: Cluster | None, *,
         pooled: bool) -> int:
    if not pooled:
        return subprocess.run(command, env=env).returncode
    from tests.pgbouncer import pgbouncer

    databases = {"hellojohn_replica": f"host=127.0.0.1 port={standby.port} dbname=hellojohn"} if standby else {}
    with pgbouncer(postgres_port=main_server.port, workdir=main_server.workdir, databases=databases) as bouncer:
        env = {**env, "DATABASE_URL": bouncer.url("hellojohn"), "DATABASE_POOLER": "pgbouncer"}
        if standby:
            env["DATABASE_REPLICA_URL"] = bouncer.url("hellojohn_replica")
        code = subprocess.run(command, env=env).returncode
        print(f"pgcluster: through PgBouncer: {bouncer.stats()}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
