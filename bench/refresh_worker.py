"""One side of the refresh comparison (bench/refresh_baseline.py), run with a checkout as its directory.

It migrates the database DATABASE_URL names, signs one user in on that checkout's code, then for
each `go N` line on stdin rotates the session's refresh token N times through the whole stack
(`POST /v1/auth/token/refresh` with the publishable key, the WSGI application called in process)
and answers one line: the wall-clock and CPU seconds of those N rotations.

Only the checkout's own modules are imported (its bench.fixtures and bench.wsgi_client, which an
older commit has too), so this one script drives today's tree and the baseline's alike. That is why
it repeats, rather than imports, section 4's rotation loop (bench/credentials.py) and the database's
creation (bench/run.py): the baseline's copies of those differ, or are missing.
"""

import os
import sys
import time

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")


def _create_postgres_database() -> None:
    import environ
    import psycopg

    config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    if "postgresql" not in config["ENGINE"]:
        return
    server = {"host": config["HOST"], "port": config["PORT"] or 5432, "user": config["USER"],
              "password": config["PASSWORD"] or None}
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{config["NAME"]}"')


def main() -> None:
    _create_postgres_database()
    import django

    django.setup()
    from django.core.management import call_command

    from bench.fixtures import make_tenant, signed_in_user
    from bench.wsgi_client import WsgiClient

    call_command("migrate", verbosity=0)
    tenant = make_tenant("Bench refresh comparison")
    _, issued = signed_in_user(tenant, "refresh-comparison@example.com")
    client = WsgiClient(bearer=tenant.publishable_key, tenant_id=tenant.tenant.id)
    token = issued.refresh_token

    def rotate() -> None:
        nonlocal token
        reply = client.post("/v1/auth/token/refresh", {"refresh_token": token})
        if reply.status != 200:
            raise RuntimeError(f"refresh answered {reply.status}: {reply.body[:200]!r}")
        token = reply.json()["session"]["refresh_token"]

    try:  # today's tree: wait for the change feed's lease, as section 1 does (an older commit has none)
        from bench.hot_path import _warm
    except ImportError:
        pass
    else:
        _warm()
    for _ in range(20):
        rotate()
    print("ready", flush=True)
    for line in sys.stdin:
        count = int(line.split()[1])
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            rotate()
        print(f"{time.perf_counter() - wall} {time.process_time() - cpu}", flush=True)


if __name__ == "__main__":
    main()
