"""The production topology on loopback, under load and faults: `python -m bench.topology [--short]` (`make topology`).

nginx (deploy/nginx.conf) → 2 gunicorn instances x 2 sync workers (deploy/gunicorn.conf.py, the
production settings) → PgBouncer in transaction pooling → a PostgreSQL primary, with a streaming
replica for the reads that tolerate lag, Redis for the rate-limit counters, the webhook worker
(`manage.py db_worker`) and a webhook receiver over real HTTP. Each process's invalidation listener
connects to the primary directly (HJ_LISTENER_DATABASE_URL): LISTEN does not work through
transaction pooling. So is the replica (DATABASE_REPLICA_URL), see _app_env.

A mixed workload runs through nginx (bench/topology_workload.py) while faults are injected
(bench/topology_faults.py); then the report (bench/topology_report.py), and exit status 1 when a
check failed. `--short` is the form `.ci/run` runs.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from cryptography.fernet import Fernet

from bench.topology_faults import Faults, LagSampler
from bench.topology_report import Measured, checks, render
from bench.topology_stack import GunicornInstance, WebhookReceiver, Worker
from bench.topology_workload import PASSWORD, Client, Recorder, UserState
from tests.live_app import PROJECT, post_json, production_env, request
from tests.nginxproxy import nginx
from tests.pgbouncer import PgBouncer, pgbouncer
from tests.pgcluster import Cluster, primary, replica_of
from tests.redisserver import redis_server

RAISED_RATE = "1000000/min"  # one client address for every thread: the limiter would be the bottleneck
RATE_VARIABLES = ("HJ_RATE_SIGN_IN_PER_IP", "HJ_RATE_SIGN_IN_PER_EMAIL", "HJ_RATE_REFRESH_PER_IP",
                  "HJ_RATE_REFRESH_PER_KEY")
INSTANCES, WORKERS_PER_INSTANCE = 2, 2
IDLE_SECONDS = 4.0
RESULTS = PROJECT / "bench" / "results"


def _log(message: str) -> None:
    print(f"topology: {message}", file=sys.stderr, flush=True)


def _app_env(*, bouncer: PgBouncer, main: Cluster, standby: Cluster, redis_url: str) -> dict[str, str]:
    # The replica directly, not through PgBouncer: there, a replica restart held a listing for 15.3 s
    # (PgBouncer holds the query until it reaches the server again, server_login_retry being 15 s),
    # so the router never saw the error it falls back to the primary on.
    return production_env(
        bouncer.url("hellojohn"), DATABASE_POOLER="pgbouncer", HJ_LISTENER_DATABASE_URL=main.url(),
        DATABASE_REPLICA_URL=standby.url(), REDIS_URL=redis_url,
        HJ_ENCRYPTION_KEY=Fernet.generate_key().decode(), HJ_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        **{name: RAISED_RATE for name in RATE_VARIABLES})


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT, env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)}: {done.stderr[-3000:]}")
    return done.stdout


def _set_up_tenant(base: str, env: dict[str, str], receiver: WebhookReceiver, users: int) -> tuple[
        dict[str, str], list[UserState]]:
    """The tenant (command line), its webhook endpoint and its users (the API, through nginx)."""
    tenant = json.loads(_manage(env, "create_tenant", "Topology", "--slug", "topology", "--json"))
    admin = {"Authorization": f"Bearer {tenant['secret_key']}", "X-Tenant-ID": tenant["tenant_id"]}
    status, _, endpoint = post_json(f"{base}/v1/webhooks", {"url": receiver.url, "events": ["*"]}, admin)
    assert status == 201, endpoint
    receiver.secret = endpoint["signing_secret"]
    made = []
    for n in range(users):
        status, _, user = post_json(f"{base}/v1/users", {"email": f"user{n}@topology.example",
                                                         "password": PASSWORD}, admin)
        assert status == 201, user
        made.append(UserState(id=user["id"], email=user["email"]))
    return tenant, made


def _statements(main: Cluster) -> dict[str, int]:
    """Statements PostgreSQL ran on the primary's app database since the reset, by what they touch."""
    row = main.sql(
        "SELECT coalesce(sum(calls), 0), "
        "coalesce(sum(calls) FILTER (WHERE query ~* '^\\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)'), 0), "
        "coalesce(sum(calls) FILTER (WHERE query ~* 'hellojohn_(listener|change)|^\\s*LISTEN'), 0), "
        "coalesce(sum(calls) FILTER (WHERE query ~* 'django_tasks|webhookdelivery|webhookendpoint'), 0) "
        "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'hellojohn')",
        dbname="hellojohn")
    total, transaction_control, change_feed, worker = (int(value) for value in row.split("|"))
    return {"total": total, "transaction_control": transaction_control, "change_feed": change_feed,
            "worker": worker}


def _tenant_sql(main: Cluster, query: str, tenant_id: str) -> str:
    """`query` with `:tenant` replaced by the tenant's id, which is checked to be one (psql takes no parameters)."""
    assert re.fullmatch(r"tnt_[0-9A-Za-z]+", tenant_id), tenant_id
    return main.sql(query.replace(":tenant", f"'{tenant_id}'"), dbname="hellojohn")


def _app_statements(server: Cluster) -> int:
    """Statements a server ran on the app's database since its pg_stat_statements was reset."""
    return int(server.sql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                          "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'hellojohn')", dbname="hellojohn"))


def _redis_commands(url: str) -> int:
    import redis

    return int(redis.Redis.from_url(url).info("stats")["total_commands_processed"])


def _background_statements(main: Cluster, *, seconds: float) -> float:
    """Statements per second with no request at all (the listeners' polls, the worker's), measured idle."""
    main.sql("SELECT pg_stat_statements_reset()", dbname="hellojohn")
    time.sleep(seconds)
    return _statements(main)["total"] / seconds


def _drain_webhooks(main: Cluster, tenant_id: str, timeout: float) -> tuple[float, int]:
    """Waits until no delivery of the tenant is pending or due for a retry; answers the wait and what is left."""
    query = ("SELECT count(*) FROM sessions_app_webhookdelivery d JOIN sessions_app_webhookendpoint e "
             "ON e.id = d.endpoint_id WHERE e.tenant_id = :tenant AND d.status IN ('pending', 'failed')")
    started = time.monotonic()
    while (left := int(_tenant_sql(main, query, tenant_id))) and time.monotonic() - started < timeout:
        time.sleep(0.5)
    return time.monotonic() - started, left


def _events_written(main: Cluster, tenant_id: str) -> tuple[set[str], int]:
    """The tenant's logged events that have webhook deliveries, and how many events it has in all."""
    with_deliveries = _tenant_sql(main, "SELECT ev.public_id FROM sessions_app_event ev WHERE ev.tenant_id = :tenant "
                                  "AND EXISTS (SELECT 1 FROM sessions_app_webhookdelivery d "
                                  "WHERE d.event_id = ev.public_id)", tenant_id)
    total = int(_tenant_sql(main, "SELECT count(*) FROM sessions_app_event WHERE tenant_id = :tenant", tenant_id))
    return set(with_deliveries.split()), total


def _listeners(main: Cluster, expected: int, timeout: float = 15) -> int:
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hellojohn-listener'"
    deadline = time.monotonic() + timeout
    while (found := int(main.sql(query))) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def run(*, seconds: float, threads: int, workdir: Path) -> Measured:
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        main = stack.enter_context(primary(workdir, extra=("shared_preload_libraries=pg_stat_statements",)))
        main.sql("CREATE DATABASE hellojohn")
        main.sql("CREATE EXTENSION pg_stat_statements", dbname="hellojohn")
        standby = stack.enter_context(replica_of(main, workdir))
        bouncer = stack.enter_context(pgbouncer(postgres_port=main.port, workdir=workdir))
        redis_url = stack.enter_context(redis_server(workdir))
        env = _app_env(bouncer=bouncer, main=main, standby=standby, redis_url=redis_url)
        _log(f"primary :{main.port}, replica :{standby.port}, pgbouncer :{bouncer.port}, {redis_url}")
        _manage({**env, "DATABASE_URL": main.url(), "DATABASE_POOLER": ""}, "migrate", "--verbosity", "0")
        receiver = WebhookReceiver()
        stack.callback(receiver.stop)
        instances = [GunicornInstance(name, env, workers=WORKERS_PER_INSTANCE, directory=workdir)
                     for name in "ab"[:INSTANCES]]
        for instance in instances:
            stack.callback(instance.stop)
            instance.start()
        base = stack.enter_context(nginx([instance.address for instance in instances], workdir / "nginx"))
        worker = Worker(env, workdir)
        stack.callback(worker.stop)
        _log(f"nginx {base} → gunicorn {', '.join(i.address for i in instances)}; db_worker; receiver {receiver.url}")
        tenant, users = _set_up_tenant(base, env, receiver, users=2 * threads)
        assert request("GET", f"{base}/readyz")[0] == 200

        recorder = Recorder()
        faults = Faults(primary=main, replica=standby, victim=instances[-1], recorder=recorder)
        lag = LagSampler(primary=main)

        def live() -> list[str]:
            return [i.base for i in instances if i is not faults.victim or faults.victim_up]

        stop, faults_done = threading.Event(), threading.Event()
        with ThreadPoolExecutor(16) as probes:
            clients = [Client(number=n, nginx=base, instances=live, tenant=tenant, users=users[2 * n:2 * n + 2],
                              recorder=recorder, probes=probes) for n in range(threads)]
            for client in clients:
                client.warm_up()
            recorder.reset()
            _drain_webhooks(main, tenant["tenant_id"], timeout=60)  # the warm-up's, so that idle is idle
            background = _background_statements(main, seconds=IDLE_SECONDS)
            main.sql("SELECT pg_stat_statements_reset()", dbname="hellojohn")
            standby.sql("SELECT pg_stat_statements_reset()", dbname="hellojohn")
            redis_before = _redis_commands(redis_url)
            _log(f"workload: {seconds:.0f} s, {threads} client threads, faults on schedule")
            started = time.monotonic()
            deadline = started + seconds
            threads_ = [threading.Thread(target=faults.run, args=(seconds, faults_done)),
                        threading.Thread(target=lag.run, args=(stop,)),
                        *(threading.Thread(target=client.run, args=(deadline, faults_done)) for client in clients)]
            for thread in threads_:
                thread.start()
            for thread in threads_[2:]:
                thread.join()
            elapsed = time.monotonic() - started
        statements = _statements(main)
        through = {"pgbouncer": bouncer.stats(), "redis_commands": _redis_commands(redis_url) - redis_before,
                   "replica_statements": _app_statements(standby)}
        stop.set()
        for thread in threads_[:2]:
            thread.join()
        _log("workload done; waiting for the worker to deliver every webhook")
        drained, left = _drain_webhooks(main, tenant["tenant_id"], timeout=180)
        written, events_total = _events_written(main, tenant["tenant_id"])
        listeners = _listeners(main, expected=INSTANCES * WORKERS_PER_INSTANCE)
        return Measured(
            seconds=elapsed, threads=threads, recorder=recorder, faults=faults.log, fault_failures=faults.failures,
            lag=lag, statements=statements, background_per_second=background, delivered=set(receiver.event_ids),
            written=written, through=through,
            events_total=events_total, deliveries_received=receiver.deliveries,
            bad_signatures=receiver.bad_signatures, drained_seconds=drained, deliveries_left=left,
            listeners=listeners, expected_listeners=INSTANCES * WORKERS_PER_INSTANCE,
            postgres_version=main.sql("SHOW server_version"), load_average=(load_before, os.getloadavg()[0]),
            started_at=started)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.topology", description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="a 15 s workload (CI) instead of 60 s")
    parser.add_argument("--seconds", type=float, help="the workload's length (overrides --short)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    args = parser.parse_args(argv)
    seconds = args.seconds or (15.0 if args.short else 60.0)
    workdir = Path(tempfile.mkdtemp(prefix="hj-topology-"))
    workdir.chmod(0o755)  # the postgres user (PostgreSQL, PgBouncer) and nginx's workers make directories in it
    try:
        measured = run(seconds=seconds, threads=args.threads, workdir=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    failed = checks(measured)
    print(render(measured, failed))
    if RESULTS.is_dir() or os.environ.get("CI") != "true":
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "topology.json").write_text(json.dumps(measured.summary(failed), indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
