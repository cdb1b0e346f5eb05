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


def hot_path_section(results: dict[str, Any]) -> list[str]:
    present = _present(results)
    if not present:
        return []
    first = present[0][2]["hot_path"]["variants"]
    header = ["GET, whole Django stack", "queries", *[f"{label} req/s (x ceiling)" for _, label, _ in present]]
    rows = []
    for key, variant in first.items():
        cells = [f"{variant['label']}", _queries(variant)]
        for _, _, db in present:
            measured = db["hot_path"]["variants"][key]
            cells.append(f"{measured['requests_per_second']:,} ({measured['share_of_ceiling']:.2f})")
        rows.append(cells)
    lines = ["### 1. Per-request cost of an access token", "",
             "One process, one database; the five views run in interleaved batches "
             f"({present[0][2]['hot_path']['rounds']} rounds of {present[0][2]['hot_path']['batch']} requests each), "
             "medians over rounds.", "", *_table(header, rows), ""]
    ratio_rows = [
        ["HelloJohn `/v1/auth/me` ÷ simplejwt stateless", "me_vs_simplejwt_stateless", f"≥ {ME_TARGET}"],
        ["HelloJohn check on the bare view ÷ simplejwt stateless", "auth_vs_simplejwt_stateless", ""],
        ["HelloJohn `/v1/auth/me` ÷ simplejwt (loads the user)", "me_vs_simplejwt", f"≥ {ME_TARGET}"],
        ["HelloJohn check on the bare view ÷ simplejwt (loads the user)", "auth_vs_simplejwt", ""],
    ]
    lines += _table(["throughput ratio, same run", *[label for _, label, _ in present], "target"],
                    [[name, *[f"{db['hot_path']['ratios'][key]:.2f}" for _, _, db in present], target]
                     for name, key, target in ratio_rows])
    return [*lines, ""]


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
    if not _present(results):
        return []
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


def credentials_section(results: dict[str, Any]) -> list[str]:
    present = _present(results)
    if not present:
        return []
    hasher = present[0][2]["sign_in"]["hasher"]
    rows = [
        ["refresh rotations per second (one process)", *[f"{db['refresh']['per_second']:,}" for _, _, db in present]],
        ["queries per rotation", *[_queries(db["refresh"]) for _, _, db in present]],
        ["of which rate-limit counters (on the database without REDIS_URL)",
         *[str(db["refresh"].get("rate_limit_queries", "")) for _, _, db in present]],
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
        me = db["hot_path"]["variants"]["hellojohn_me"]
        found.append((f"{label}: /v1/auth/me makes one query and no write", me["queries"] == 1 and me["writes"] == 0))
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
    load = results.get("postgresql", {}).get("load")
    if load is not None:
        check = load["revocation_check"]
        found.append(("load: no errors", load["total"]["failures"] == 0))
        found.append(("load: every revoked session's tokens refused",
                      check["revoked_sessions_checked"] > 0 and check["tokens_still_accepted"] == 0
                      and check["rows_not_revoked"] == 0))
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
        *hot_path_section(results), *scale_section(results), *events_section(results),
        *webhooks_section(results),
        *credentials_section(results), *load_section(results),
        "### Checks", "",
        *[f"- {'ok' if passed else '**FAILED**'}: {name}" for name, passed in results["checks"]],
    ]
    return "\n".join(lines) + "\n"
