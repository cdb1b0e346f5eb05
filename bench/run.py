"""One database's benchmarks, in this process: `python -m bench.run --out FILE [--quick] [--load]`.

The database is whatever DATABASE_URL names (bench/__main__.py points it at a fresh SQLite file or
at a throwaway PostgreSQL cluster); the schema is migrated here.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

SIZES = (10, 1_000, 10_000)
FILL_ROWS, FILL_USERS = 1_000_000, 20_000
SECTIONS = ("hot", "revocation", "scale", "events", "webhooks", "credentials", "refresh_baseline", "large", "load")


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _create_postgres_database() -> None:
    """The throwaway cluster has only `postgres`; the database DATABASE_URL names is made here, with
    pg_stat_statements when the server preloads it, and a role of its own for the change feed's
    listener so that the server's statement counts tell its reads from the requests' (bench/server_statements.py)."""
    import environ
    import psycopg

    from bench.server_statements import LISTENER_ROLE

    config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    if config["ENGINE"] != "django.db.backends.postgresql":
        return
    server = {"host": config["HOST"], "port": config["PORT"] or 5432, "user": config["USER"],
              "password": config["PASSWORD"] or None}
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{config["NAME"]}"')
        preloaded = "pg_stat_statements" in conn.execute("SHOW shared_preload_libraries").fetchone()[0]
        if preloaded and conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [LISTENER_ROLE]).fetchone() is None:
            # A superuser, like the bench's own role: the throwaway cluster trusts loopback connections.
            conn.execute(f"CREATE ROLE {LISTENER_ROLE} LOGIN SUPERUSER")
    if not preloaded:
        _log("PostgreSQL without pg_stat_statements (HJ_PG_EXTRA_SETTINGS=shared_preload_libraries=pg_stat_statements):"
             " no statement counts from the server")
        return
    with psycopg.connect(**server, dbname=config["NAME"], autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    os.environ.setdefault("HJ_LISTENER_DATABASE_URL",
                          f"postgres://{LISTENER_ROLE}@{config['HOST']}:{server['port']}/{config['NAME']}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--quick", action="store_true", help="few repetitions and a 100,000-row fill")
    parser.add_argument("--load", action="store_true", help="also the gunicorn + locust load run (PostgreSQL)")
    parser.add_argument("--load-users", type=int, default=20)
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)")
    args = parser.parse_args(argv)
    if "DATABASE_URL" in os.environ:
        _create_postgres_database()
    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from bench import credentials, events, hot_path, scale
    from bench.fixtures import fill_sessions_table, make_tenant

    vendor = connection.vendor
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    results: dict[str, Any] = {"database": vendor, "database_version": _version(connection)}
    wanted = set(args.only or SECTIONS)
    repeat = 10 if args.quick else 30
    revokes = 2 if args.quick else 3

    if "hot" in wanted:
        _log(f"{vendor}: 1. access-token check against the ceiling and simplejwt")
        results["hot_path"] = hot_path.run(rounds=6 if args.quick else 10, batch=200 if args.quick else 400)

    if vendor == "postgresql" and "revocation" in wanted:
        from bench import revocation

        count = 60 if args.quick else 300
        _log(f"{vendor}: 1c. revocation to refusal across {revocation.INSTANCES} gunicorn processes, {count} times")
        results["revocation"] = revocation.run(revocations=count)

    tenant = make_tenant("Bench scale")
    if "scale" in wanted:
        _log(f"{vendor}: 2-3. listing and revoke-all at {', '.join(map(str, SIZES))} sessions")
        results["listing"] = [scale.listing(tenant, n, repeat=repeat) for n in SIZES]
        results["revoke_all"] = [scale.revoke_all(tenant, n, repeat=revokes) for n in SIZES]

    if "events" in wanted:
        _log(f"{vendor}: 3b. revoke-all with its events at {', '.join(map(str, SIZES))} sessions")
        results["revoke_all_events"] = [events.revoke_all_with_events(tenant, n, repeat=revokes, vendor=vendor)
                                        for n in SIZES]

    if "webhooks" in wanted:
        from bench import webhooks

        deliveries = 1_000 if args.quick else 10_000
        _log(f"{vendor}: 3c. one webhook worker draining {deliveries:,} queued deliveries to a local receiver")
        results["webhooks"] = webhooks.run(deliveries=deliveries, steady=50 if args.quick else 200)

    if "credentials" in wanted:
        _log(f"{vendor}: 4. refresh rotations and sign-ins (production Argon2)")
        results["refresh"] = credentials.refresh(rotations=200 if args.quick else 1000)
        results["sign_in"] = credentials.sign_in(sign_ins=5 if args.quick else 20)

    if "refresh_baseline" in wanted:
        from bench import refresh_baseline

        _log(f"{vendor}: 4b. refresh rotations, interleaved with the code before issue 14 "
             f"({refresh_baseline.BASELINE[:12]})")
        results["refresh_baseline"] = refresh_baseline.run(rounds=8 if args.quick else 20, batch=100)

    if vendor == "postgresql" and "large" in wanted:
        rows = FILL_ROWS // 10 if args.quick else FILL_ROWS
        _log(f"{vendor}: 2-3 again with {rows:,} sessions in the table")
        fill_started = time.monotonic()
        results["table_rows"] = fill_sessions_table(tenant=tenant.tenant, total=rows, users=FILL_USERS)
        results["fill_seconds"] = round(time.monotonic() - fill_started, 1)
        results["listing_large_table"] = [scale.listing(tenant, n, repeat=repeat) for n in SIZES]
        results["revoke_all_large_table"] = [scale.revoke_all(tenant, n, repeat=revokes) for n in SIZES]

    if vendor == "postgresql" and "load" in wanted and args.load:
        from bench import load

        _log(f"{vendor}: 5. load: gunicorn and locust, {args.load_users} users for {args.load_seconds} s")
        results["load"] = load.run(users=args.load_users, seconds=args.load_seconds, workdir=args.out.parent)

    results["seconds"] = round(time.monotonic() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return 0


def _version(connection: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        return str(cursor.fetchone()[0]).split(" on ")[0].removeprefix("PostgreSQL ")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
