"""The results as Markdown tables (printed, written to bench/results/latest.md, copied to the README),
and the checks that turn a regression into a failing `make bench`."""

from typing import Any

DATABASES = (("sqlite", "SQLite"), ("postgresql", "PostgreSQL"))
ME_TARGET = 0.8


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _present(results: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(key, label, results[key]) for key, label in DATABASES if key in results]


def _queries(entry: dict[str, Any]) -> str:
    writes = entry["writes"]
    return f"{entry['queries']}, {writes} write{'s' if writes > 1 else ''}" if writes else str(entry["queries"])


def _statements(entry: dict[str, Any]) -> str:
    """Statements PostgreSQL executed per 1,000 requests, and what the server's count holds beyond the queries."""
    if "statements_per_1000" not in entry:
        return "n/a"
    total = entry["statements_per_1000"]
    parts = [(entry.get("transaction_control_per_1000", 0), "BEGIN/COMMIT"),
             (entry.get("health_checks_per_1000", 0), "health checks"),
             (entry.get("foreign_key_checks_per_1000", 0), "foreign-key checks")]
    extra = ", ".join(f"{_count(value)} {name}" for value, name in parts if value)
    return f"**{_count(total)}**" + (f" (of which {extra})" if extra else "")


def _count(value: float) -> str:
    """Whole numbers where a stray statement is noise, the fraction where it is the whole story."""
    return f"{value:,.0f}" if value >= 100 else f"{value:g}"


HOT_ROWS = (("ceiling", ""), ("simplejwt_stateless", ""), ("simplejwt", ""), ("hellojohn_auth", "warm"),
            ("hellojohn_me", "warm"), ("hellojohn_verify", "warm"), ("hellojohn_auth", "cold"),
            ("hellojohn_me", "cold"), ("hellojohn_verify", "cold"))


def _hot_cell(db: dict[str, Any], key: str, phase: str) -> dict[str, Any] | None:
    """A row's numbers; None where the database has no cold series (SQLite: its one series is both)."""
    hot = db["hot_path"]
    if phase == "cold":
        return hot["cold"]["variants"].get(key) if "cold" in hot else None
    return hot["variants"].get(key)


def hot_path_section(results: dict[str, Any]) -> list[str]:
    present = [(key, label, db) for key, label, db in _present(results) if "hot_path" in db]
    if not present:
        return []
    hot = present[0][2]["hot_path"]
    postgres = results.get("postgresql", {}).get("hot_path")
    counted = postgres is not None and postgres.get("server_statements")
    header = ["request, whole Django stack", f"queries ({' / '.join(label for _, label, _ in present)})",
              *[column for _, label, _ in present
                for column in (f"{label} req/s (x ceiling)", f"{label} ÷ simplejwt stateless")]]
    if counted:
        header.append("PostgreSQL statements per 1,000 requests")
    rows = []
    for key, phase in HOT_ROWS:
        cells = [_hot_cell(db, key, phase) or _hot_cell(db, key, "warm") for _, _, db in present]
        if any(cell is None for cell in cells) or (phase == "cold" and postgres is None):
            continue
        label = cells[0]["label"] + (f", **{phase}**" if phase else "")
        row = [label, " / ".join(_queries(cell) for cell in cells)]
        for (_, _, db), cell in zip(present, cells, strict=True):
            same = phase == "cold" and "cold" not in db["hot_path"]
            row += (["as warm (reads the database)", ""] if same else
                    [f"{cell['requests_per_second']:,} ({cell['share_of_ceiling']:.2f})",
                     f"{cell['vs_simplejwt_stateless']:.2f}"])
        if counted:
            row.append(_statements(_hot_cell(results["postgresql"], key, phase) or {}))
        rows.append(row)
    listener = [v["listener_statements_per_second"] for v in (postgres or {}).get("variants", {}).values()
                if "listener_statements_per_second" in v]
    cold_batch = f"; cold, {postgres['cold']['batch']}" if postgres is not None and "cold" in postgres else ""
    caption = [
        "One process, one database; every row a request through the whole stack, in interleaved batches "
        f"({hot['rounds']} rounds of {hot['batch']} requests each{cold_batch}), medians over rounds; ratios are "
        "taken within a round. **Warm** (PostgreSQL): the change feed's listener holds a lease, so a check is "
        "answered from memory. **Cold**: the same process once its listener is stopped (no lease: every check "
        "reads the database, as when the listener is down), measured in a second series interleaved with the "
        "ceiling and simplejwt again, so that its ratios are to those of its own series. SQLite never answers "
        "from memory (each check reads the database): its one series is its warm and its cold. "
        "`verify` is `POST /v1/sessions/verify` with the tenant's secret key. Queries: what Django's "
        "connection sends for one request.",
    ]
    if counted:
        caption.append(
            "Statements per 1,000 requests: what PostgreSQL executed for the row's timed requests, counted by "
            "the server with pg_stat_statements (reset before and read after every batch, from a connection "
            "of its own), including transaction control, a connection health check's `SELECT 1` where one is "
            "sent (the per-request check reads what the server sent instead: hellojohn_project/postgresql/base.py) "
            "and the deferred foreign-key checks PostgreSQL runs at COMMIT. "
            "The change feed's listener connects as a role of its own in the bench, so its reads of the change "
            "log are counted apart: about "
            f"{round(median_of(listener)) if listener else 0} statements a second in the background, whatever "
            "the request rate. pg_stat_statements rather than `pg_stat_database.xact_commit` or "
            "`pg_stat_user_tables`: it counts statements (not transactions or table scans), per role, and "
            "each one as it ends, where those views are updated by each backend up to a second late.")
    lines = ["### 1. Per-request cost of an access check, warm and cold", "",
             *[line for paragraph in caption for line in (paragraph, "")],
             *_table(header, rows), ""]
    ratio_rows = [
        ["`GET /v1/auth/me` ÷ simplejwt stateless", "hellojohn_me", "vs_simplejwt_stateless",
         f"≥ {ME_TARGET} (PostgreSQL, warm)"],
        ["`POST /v1/sessions/verify` ÷ simplejwt stateless", "hellojohn_verify", "vs_simplejwt_stateless", ""],
        ["check on the bare view ÷ simplejwt stateless", "hellojohn_auth", "vs_simplejwt_stateless", ""],
        ["`GET /v1/auth/me` ÷ ceiling", "hellojohn_me", "share_of_ceiling", ""],
        ["`POST /v1/sessions/verify` ÷ ceiling", "hellojohn_verify", "share_of_ceiling", ""],
        ["`GET /v1/auth/me` ÷ simplejwt (loads the user)", "hellojohn_me", "vs_simplejwt", ""],
    ]
    columns = [(label, db, "warm") for _, label, db in present]
    if postgres is not None and "cold" in postgres:
        columns = [(label if label == "SQLite" else f"{label} warm", db, "warm") for _, label, db in present]
        columns.append(("PostgreSQL cold", results["postgresql"], "cold"))

    def ratio(db: dict[str, Any], key: str, field: str, phase: str) -> str:
        cell = _hot_cell(db, key, phase)
        return f"{cell[field]:.2f}" if cell is not None and field in cell else "—"

    lines += _table(["throughput ratio, same run", *[label for label, _, _ in columns], "target"],
                    [[name, *[ratio(db, key, field, phase) for _, db, phase in columns], target]
                     for name, key, field, target in ratio_rows])
    return [*lines, ""]


def median_of(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def revocation_section(results: dict[str, Any]) -> list[str]:
    found = results.get("postgresql", {}).get("revocation")
    if found is None:
        return []

    def row(name: str, summary: dict[str, float]) -> list[Any]:
        return [name, summary["p50_ms"], summary["p99_ms"], summary["max_ms"]]

    return [
        "### 1c. Revocation to refusal across processes (PostgreSQL)", "",
        f"{found['instances']} gunicorn instances of the production settings on the bench's PostgreSQL (one "
        "gthread worker with four threads, three sync workers: each a process with its own listener and cache). "
        f"{found['revocations']} revocations, one after the other: each time a new session's access token is "
        "warmed in every instance (answered from memory), then the tenant's backend revokes the session through "
        "one of them (`DELETE /v1/sessions/{id}`, in turn). In two of every three "
        f"({found['polled']}), one client per instance sends `GET /v1/auth/me` with the token in a loop from "
        "the start of the revoking call until that instance refuses it: revocation to refusal is from the start "
        "of the call to the last instance's refusal received. The third "
        f"({found['quiet']} in all) has no other traffic: it measures what the revoking call now costs, its wait for "
        "every process's listener included. After every revocation the token is sent to every instance once more.",
        "", *_table(["", "p50 ms", "p99 ms", "max ms"], [
            row("revocation to refusal in every instance", found["refusal_everywhere"]),
            row("the revoking call, no other traffic", found["revoking_call"]),
            row("the revoking call, while the four clients poll", found["revoking_call_polled"]),
        ]), "",
        "Refused by every instance before the revoking call returned: "
        f"{found['refused_everywhere_before_the_call_returned']} of {found['polled']}; "
        "requests accepted after the revoking call returned: "
        f"{found['accepted_after_the_call_returned']}; tokens never refused: {found['never_refused']}. "
        "SQLite has no such row: each check reads the database, so a revoked session is refused on the next "
        "request by construction.", "",
    ]


def _scale_rows(results: dict[str, Any], name: str, value: Any) -> tuple[list[str], list[list[Any]]]:
    columns: list[tuple[str, list[dict[str, Any]]]] = [(label, db[name]) for _, label, db in _present(results)]
    postgres = results.get("postgresql", {})
    if f"{name}_large_table" in postgres:
        columns.append((f"PostgreSQL, {postgres['table_rows']:,} rows in the table", postgres[f"{name}_large_table"]))
    header = ["sessions of the user", *[f"{label}: ms (queries)" for label, _ in columns]]
    rows = []
    for index, entry in enumerate(columns[0][1]):
        rows.append([f"{entry['sessions_of_user']:,}",
                     *[f"{value(series[index])} ({_queries(series[index])})" for _, series in columns]])
    return header, rows


def scale_section(results: dict[str, Any]) -> list[str]:
    if not _present(results) or any("listing" not in db for _, _, db in _present(results)):
        return []  # a run of some sections only (`bench.run --only`)
    list_header, list_rows = _scale_rows(results, "listing", lambda e: f"{e['ms_per_call']:.2f}")
    revoke_header, revoke_rows = _scale_rows(
        results, "revoke_all", lambda e: f"{e['ms_per_call']:.1f} = {e['us_per_session']:.0f} µs/session")
    return [
        "### 2. Listing: `GET /v1/sessions` by the user, first page (20)", "",
        *_table(list_header, list_rows), "",
        "### 3. Revoke-all: `DELETE /v1/sessions?user_id=…` by the tenant's backend", "",
        *_table(revoke_header, revoke_rows), "",
    ]


def events_section(results: dict[str, Any]) -> list[str]:
    present = [(label, db["revoke_all_events"]) for _, label, db in _present(results) if "revoke_all_events" in db]
    if not present:
        return []
    rows = [[f"{entry['sessions_of_user']:,}",
             *[f"{s[i]['ms_per_call']:.1f} = {s[i]['us_per_session']:.0f} µs/session "
               f"(before: {s[i]['us_per_session_before_events']}); {s[i]['queries']} queries, "
               f"{s[i]['session_updates']} UPDATE, {s[i]['event_inserts']} INSERT" for _, s in present]]
            for i, entry in enumerate(present[0][1])]
    return [
        "### 3b. Revoke-all with its events: one session.revoked per session, same transaction", "",
        *_table(["sessions of the user", *[f"{label}: ms (µs/session before the event log; statements)"
                                          for label, _ in present]], rows), "",
    ]


def webhooks_section(results: dict[str, Any]) -> list[str]:
    present = [(label, db["webhooks"]) for _, label, db in _present(results) if "webhooks" in db]
    if not present:
        return []
    rows = [
        ["queued deliveries drained by one worker", *[f"{w['deliveries']:,} in {w['drain']['seconds']} s"
                                                      for _, w in present]],
        ["deliveries per second", *[w["drain"]["deliveries_per_second"] for _, w in present]],
        ["commit to receipt, queue of all of them: p50 / p99 ms",
         *[f"{w['drain']['lag_p50_ms']:,} / {w['drain']['lag_p99_ms']:,}" for _, w in present]],
        ["commit to receipt, one change at a time: p50 / p99 ms",
         *[f"{w['steady']['lag_p50_ms']} / {w['steady']['lag_p99_ms']}" for _, w in present]],
    ]
    return [
        "### 3c. Webhooks: one `db_worker` process, a local receiver process, deliveries of one endpoint", "",
        *_table(["", *[label for label, _ in present]], rows), "",
    ]


def _rotation_statements(refresh: dict[str, Any]) -> str:
    if "statements_per_rotation" not in refresh:
        return "—"
    parts = [(refresh["transaction_control_per_rotation"], "BEGIN/COMMIT"),
             (refresh.get("health_checks_per_rotation", 0), "health check"),
             (refresh["foreign_key_checks_per_rotation"], "foreign-key checks at COMMIT")]
    extra = ", ".join(f"{value:g} {name}" for value, name in parts if value)
    return f"{refresh['statements_per_rotation']:g}" + (f" (of which {extra})" if extra else "")


def _baseline_rows(present: list[tuple[str, str, dict[str, Any]]]) -> list[list[str]]:
    found = [db.get("refresh_baseline") for _, _, db in present]
    if not any(found):
        return []

    def cell(baseline: dict[str, Any] | None) -> str:
        if baseline is None:
            return ""
        if "skipped" in baseline:
            return f"not measured: {baseline['skipped']}"
        return (f"{baseline['before']['per_second']:,} → {baseline['after']['per_second']:,} = "
                f"**{baseline['ratio']}x** (rounds {baseline['ratio_min']}x to {baseline['ratio_max']}x)")

    commit = next(b["baseline"] for b in found if b)[:12]
    return [
        [f"rotations per second, the code before issue 14 ({commit}) → today, interleaved (4b)",
         *[cell(b) for b in found]],
        ["CPU ms per rotation, before → today", *[
            f"{b['before']['cpu_ms_per_rotation']} → {b['after']['cpu_ms_per_rotation']}" if b and "before" in b
            else "" for b in found]],
    ]


def credentials_section(results: dict[str, Any]) -> list[str]:
    present = [(key, label, db) for key, label, db in _present(results) if "refresh" in db]
    if not present:
        return []
    hasher = present[0][2]["sign_in"]["hasher"]
    rows = [
        ["refresh rotations per second (one process)", *[f"{db['refresh']['per_second']:,}" for _, _, db in present]],
        ["queries per rotation", *[_queries(db["refresh"]) for _, _, db in present]],
        ["statements per rotation, counted by PostgreSQL",
         *[_rotation_statements(db["refresh"]) for _, _, db in present]],
        ["of which rate-limit counters (on the database without REDIS_URL)",
         *[str(db["refresh"].get("rate_limit_queries", "")) for _, _, db in present]],
        *_baseline_rows(present),
        ["sign-ins per second (one process)", *[f"{db['sign_in']['per_second']}" for _, _, db in present]],
        ["ms per sign-in / of which password check",
         *[f"{db['sign_in']['ms_per_sign_in']} / {db['sign_in']['ms_per_password_check']}" for _, _, db in present]],
        ["password hashing's share of a sign-in", *[f"{db['sign_in']['password_share']:.0%}" for _, _, db in present]],
    ]
    return [
        "### 4. Refresh and sign-in", "",
        f"Production password hashing: {hasher['algorithm']}, time_cost {hasher['time_cost']}, "
        f"memory_cost {hasher['memory_cost_kib']:,} KiB, parallelism {hasher['parallelism']} (Django's defaults).",
        "", *_table(["", *[label for _, label, _ in present]], rows), "",
    ]


def load_section(results: dict[str, Any]) -> list[str]:
    load = results.get("postgresql", {}).get("load")
    if load is None:
        return []
    total, check = load["total"], load["revocation_check"]

    def row(name: str, s: dict[str, Any]) -> list[Any]:
        return [name, f"{s['requests']:,}", f"{s['requests_per_second']:,}", s["p50_ms"], s["p95_ms"], s["p99_ms"],
                s["failures"]]

    rows = [row(name, s) for name, s in sorted(load["by_endpoint"].items())]
    rows.append(row("**all**", total))
    return [
        "### 5. Load: gunicorn + PostgreSQL, locust over HTTP on 127.0.0.1", "",
        f"{load['workers']} gunicorn workers, {load['clients']} locust clients with no think time for "
        f"{load['seconds']} s, all on the same machine; rate limits raised to {load['rate_limits_raised_to']} "
        "through the HJ_RATE_* variables.", "",
        *_table(["request", "count", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"], rows), "",
        f"Revocation check after the run: {check['revoked_sessions_checked']} sessions revoked during the run, "
        f"tokens still accepted: {check['tokens_still_accepted']}, rows not revoked: {check['rows_not_revoked']}.",
        "",
    ]


def checks(results: dict[str, Any]) -> list[tuple[str, bool]]:
    """Structural properties that must hold in every run; a failure makes `make bench` fail."""
    found: list[tuple[str, bool]] = []
    for _, label, db in _present(results):
        found += _hot_path_checks(label, db.get("hot_path"))
        for name in ("listing", "revoke_all", "listing_large_table", "revoke_all_large_table"):
            series = db.get(name)
            if series is None:
                continue
            counts = {entry["session_queries"] for entry in series}
            found.append((f"{label}: {name.replace('_', ' ')} makes the same number of session queries at every size",
                          len(counts) == 1))
            # PostgreSQL rightly reads a small table whole; only the million-row table must not be.
            if label == "SQLite" or name.endswith("_large_table"):
                found.append((f"{label}: {name.replace('_', ' ')} reads the sessions table through an index",
                              all(entry["full_scans"] == 0 for entry in series)))
            if name.startswith("revoke_all"):
                found.append((f"{label}: {name.replace('_', ' ')} is one write statement",
                              all(entry["session_writes"] == 1 for entry in series)))
        series = db.get("revoke_all_events")
        if series is not None:
            found.append((f"{label}: revoke all with events is one UPDATE and one event INSERT at every size",
                          all(e["session_updates"] == 1 and e["event_inserts"] == 1 for e in series)
                          and len({e["queries"] for e in series}) == 1))
        hooks = db.get("webhooks")
        if hooks is not None:
            found.append((f"{label}: every queued webhook delivery arrived and succeeded",
                          hooks["drain"]["succeeded"] == hooks["deliveries"]))
    baseline = results.get("postgresql", {}).get("refresh_baseline")
    if baseline is not None and "ratio" in baseline:
        # Issue 14's target: refresh at 3 times the rate of the code when the issue was filed.
        found.append(("PostgreSQL: refresh rotations at least 3x the code before issue 14, interleaved in this run",
                      baseline["ratio"] >= 3))
    revocation = results.get("postgresql", {}).get("revocation")
    if revocation is not None:
        found.append(("PostgreSQL: a revoked credential was never accepted by any instance once the revoking call "
                      "returned, and every instance refused it", revocation["accepted_after_the_call_returned"] == 0
                      and revocation["never_refused"] == 0))
    load = results.get("postgresql", {}).get("load")
    if load is not None:
        check = load["revocation_check"]
        found.append(("load: no errors", load["total"]["failures"] == 0))
        found.append(("load: every revoked session's tokens refused",
                      check["revoked_sessions_checked"] > 0 and check["tokens_still_accepted"] == 0
                      and check["rows_not_revoked"] == 0))
    return found


def _hot_path_checks(label: str, hot: dict[str, Any] | None) -> list[tuple[str, bool]]:
    if hot is None:
        return []
    warm = hot["variants"]
    found = [(f"{label}: /v1/auth/me and verify write nothing", all(
        v["writes"] == 0 for v in [warm["hellojohn_me"], warm["hellojohn_verify"],
                                   *hot.get("cold", {}).get("variants", {}).values()]))]
    if not hot["from_memory"]:
        # SQLite: the same code path chooses the database on every check.
        found.append((f"{label}: /v1/auth/me makes one query", warm["hellojohn_me"]["queries"] == 1))
        return found
    for key, name in (("hellojohn_me", "/v1/auth/me"), ("hellojohn_verify", "verify"),
                      ("hellojohn_auth", "the check on the bare view")):
        found.append((f"{label}: warm {name} makes no query", warm[key]["queries"] == 0))
        if "statements_per_1000" in warm[key]:
            # Not one statement per request. What may remain: the session's activity, still written once
            # a minute (docs/api.md, "Lifetime"), and the odd check that fails closed to the database when
            # a busy machine delays the listener past its lease.
            found.append((f"{label}: warm {name}: the server executed below 1 statement per 1,000 requests",
                          warm[key]["statements_per_1000"] < 1))
    cold = hot["cold"]["variants"]["hellojohn_me"]
    found.append((f"{label}: cold /v1/auth/me (no lease) reads the database", cold["queries"] >= 1))
    return found


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    versions = ", ".join(f"{label} {db['database_version']}" for _, label, db in _present(results))
    lines = [
        f"Measured {results['date']} on {machine['cpus']} x {machine['cpu_model']}, {machine['ram_gib']} GiB RAM, "
        f"Python {machine['python']}, {versions}; command `{results['command']}` ({results['seconds']:.0f} s; "
        f"load average {machine['load_average_at_start']:.1f} at the start, {machine['load_average_at_end']:.1f} "
        "at the end).",
        "",
        *hot_path_section(results), *revocation_section(results), *scale_section(results), *events_section(results),
        *webhooks_section(results),
        *credentials_section(results), *load_section(results),
        "### Checks", "",
        *[f"- {'ok' if passed else '**FAILED**'}: {name}" for name, passed in results["checks"]],
    ]
    return "\n".join(lines) + "\n"
