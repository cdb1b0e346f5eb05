"""`python -m bench` (what `make bench` runs): every benchmark, on SQLite and then on a throwaway
PostgreSQL cluster, with a table of the results on stdout and the numbers in bench/results/.

Each database runs in its own process (bench/run.py), so each gets fresh settings and a fresh
schema; the PostgreSQL one runs under tests/pgcluster.py and also does the load run.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import checks, markdown

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PG_SETTINGS = "shared_preload_libraries=pg_stat_statements"


def _machine() -> dict[str, Any]:
    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor() or "unknown CPU")
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model, "ram_gib": round(mem_kib / 1024 / 1024),
            "python": platform.python_version(), "load_average_at_start": os.getloadavg()[0]}


def _run(database: str, extra: list[str], env: dict[str, str]) -> dict[str, Any] | None:
    out = RESULTS / f"{database}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.run", "--out", str(out), *extra]
    if database == "postgresql":
        command = [sys.executable, "-m", "tests.pgcluster", "--", *command]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings",
           "HJ_BENCH_LOG": str(RESULTS / f"audit-{database}.log"), **env}
    completed = subprocess.run(command, cwd=PROJECT, env=env, check=False)  # noqa: S603 - our own runner
    if completed.returncode != 0:
        raise SystemExit(f"bench: the {database} run failed (exit {completed.returncode})")
    return json.loads(out.read_text()) if out.exists() else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, a smaller table, a 15 s load run")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--no-load", action="store_true", help="skip the gunicorn + locust run")
    parser.add_argument("--load-users", type=int, default=20)
    parser.add_argument("--load-seconds", type=int, default=None, help="default 60 (15 with --quick)")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": _machine(),
        "command": "make bench" if not argv else "python -m bench " + " ".join(argv),
    }
    quick = ["--quick"] if args.quick else []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="hj-bench-") as scratch:
            sqlite = _run("sqlite", quick, {"DATABASE_URL": f"sqlite:///{scratch}/bench.sqlite3"})
        if sqlite is not None:
            results["sqlite"] = sqlite
    if not args.skip_postgres:
        load = [] if args.no_load else [
            "--load", "--load-users", str(args.load_users),
            "--load-seconds", str(args.load_seconds or (15 if args.quick else 60)),
        ]
        # pg_stat_statements, for the statements the server executed (bench/server_statements.py).
        postgres = _run("postgresql", [*quick, *load], {"HJ_PG_EXTRA_SETTINGS": PG_SETTINGS})
        if postgres is None:
            print("bench: no PostgreSQL on this machine; its columns are left out.", file=sys.stderr)
        else:
            results["postgresql"] = postgres
    results["seconds"] = round(time.monotonic() - started, 1)
    # Other work on the machine shows in every absolute number (less so in the ratios): say how much.
    results["machine"]["load_average_at_end"] = os.getloadavg()[0]
    results["checks"] = checks(results)
    table = markdown(results)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    (RESULTS / "latest.md").write_text(table)
    print(table)
    print(f"bench: results in {RESULTS / 'latest.json'} and {RESULTS / 'latest.md'}", file=sys.stderr)
    return 0 if all(passed for _, passed in results["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
