"""The report of `make topology`: what was measured, the checks that decide its exit status, the text printed."""

import os
from dataclasses import dataclass
from typing import Any

from bench.topology_faults import Fault, LagSampler
from bench.topology_workload import SLOW, Recorder

KINDS = ("sign-in", "me", "verify", "refresh", "list", "revoke one", "revoke all",
         "revoked me", "revoked verify", "revoked refresh")


@dataclass
class Measured:
    seconds: float
    threads: int
    recorder: Recorder
    faults: list[Fault]
    fault_failures: list[str]
    lag: LagSampler
    statements: dict[str, int]
    background_per_second: float
    delivered: set[str]
    written: set[str]
    events_total: int
    through: dict[str, Any]
    deliveries_received: int
    bad_signatures: int
    drained_seconds: float
    deliveries_left: int
    listeners: int
    expected_listeners: int
    postgres_version: str
    load_average: tuple[float, float]
    started_at: float  # time.monotonic() when the workload began

    def statements_per_request(self) -> tuple[float, float]:
        """All statements per request, and those left after the idle background rate is taken away."""
        requests = max(1, self.recorder.requests)
        total = self.statements["total"]
        return total / requests, max(0.0, total - self.background_per_second * self.seconds) / requests

    def percentiles(self) -> dict[str, dict[str, float]]:
        found = {}
        for kind in KINDS:
            values = sorted(self.recorder.latencies.get(kind, []))
            if values:
                found[kind] = {"count": len(values), "p50_ms": 1000 * _rank(values, 0.50),
                               "p99_ms": 1000 * _rank(values, 0.99)}
        return found

    def slow_during(self) -> dict[str, int]:
        """Requests over SLOW seconds by the fault during which they started (`no fault` otherwise)."""
        found: dict[str, int] = {}
        for started, _ in self.recorder.slow:
            offset = started - self.started_at
            names = [fault.name for fault in self.faults if fault.at <= offset <= fault.at + max(fault.took, SLOW)]
            key = names[0] if names else "no fault"
            found[key] = found.get(key, 0) + 1
        return found

    def summary(self, failed: list[str]) -> dict[str, Any]:
        recorder = self.recorder
        return {
            "seconds": round(self.seconds, 1), "threads": self.threads, "requests": recorder.requests,
            "errors": dict(recorder.errors), "allowed_during_faults": dict(recorder.allowed),
            "revocations": recorder.revocations, "revoked_presentations": recorder.revoked_probes,
            "revoked_accepted": sum(recorder.accepted_revoked.values()),
            "webhooks": {"delivered": len(self.delivered), "written": len(self.written),
                         "events_total": self.events_total},
            "replica_lag": {"max_bytes": self.lag.max_bytes, "max_seconds": self.lag.max_seconds},
            "latency": self.percentiles(), "statements": self.statements,
            "statements_per_request": self.statements_per_request()[0],
            "statements_per_request_less_background": self.statements_per_request()[1],
            "background_statements_per_second": self.background_per_second, "load_average": self.load_average,
            "slow_requests_by_fault": self.slow_during(), "through": self.through,
            "faults": [vars(fault) for fault in self.faults], "failed": failed,
        }


def _rank(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[min(len(values) - 1, max(0, round(q * len(values) + 0.5) - 1))]


def checks(measured: Measured) -> list[str]:
    """Every failed check, in words; empty when the run passed."""
    recorder, failed = measured.recorder, []
    if recorder.errors:
        failed.append(f"{sum(recorder.errors.values())} errors outside what the faults allow")
    if recorder.accepted_revoked:
        failed.append("revoked credentials were accepted")
    if recorder.revocations == 0 or recorder.revoked_probes == 0:
        failed.append("no revocation was made and checked")
    missing = [kind for kind in KINDS if not recorder.latencies.get(kind)]
    if missing:
        failed.append(f"no request of kind {', '.join(missing)}")
    if not measured.written:
        failed.append("no webhook event was written")
    if measured.delivered != measured.written:
        failed.append(f"webhook events delivered ({len(measured.delivered)}) differ from those written "
                      f"({len(measured.written)}): {len(measured.written - measured.delivered)} not delivered, "
                      f"{len(measured.delivered - measured.written)} unknown")
    if len(measured.written) != measured.events_total:
        failed.append(f"{measured.events_total - len(measured.written)} events have no webhook delivery")
    if measured.bad_signatures:
        failed.append(f"{measured.bad_signatures} deliveries with a bad signature")
    if measured.deliveries_left:
        failed.append(f"{measured.deliveries_left} deliveries still pending after the wait")
    failed.extend(f"fault {failure}" for failure in measured.fault_failures)
    if len(measured.faults) != 5:
        failed.append(f"{len(measured.faults)} of 5 faults injected (the run was too short)")
    if measured.listeners < measured.expected_listeners:
        failed.append(f"{measured.listeners} of {measured.expected_listeners} listeners connected after the run")
    if measured.lag.samples == 0 or measured.lag.samples == measured.lag.not_streaming:
        failed.append("the replica's lag was never sampled while it streamed")
    return failed


def render(measured: Measured, failed: list[str]) -> str:
    recorder, lag, statements = measured.recorder, measured.lag, measured.statements
    allowed = ", ".join(f"{count} x {what}" for what, count in sorted(recorder.allowed.items())) or "none"
    lines = [
        f"topology: nginx → {measured.expected_listeners // 2} gunicorn instances x 2 sync workers → PgBouncer "
        f"(transaction pooling) → PostgreSQL {measured.postgres_version} primary + streaming replica; Redis; "
        "db_worker; a webhook receiver",
        f"workload: {measured.seconds:.1f} s, {measured.threads} client threads, {recorder.requests} requests "
        f"({recorder.requests / measured.seconds:.0f}/s), {recorder.revocations} revocations",
        "faults (seconds into the workload):",
        *(f"  {fault.at:5.1f} s  {fault.name:<20} {fault.detail} ({fault.took:.1f} s)" for fault in measured.faults),
        f"errors: {sum(recorder.errors.values())}"
        + "".join(f"\n  {count} x {what}" for what, count in sorted(recorder.errors.items()))
        + "".join(f"\n  e.g. {example}" for example in recorder.error_examples[:5]),
        f"allowed during the kill (nginx's 503 envelope for a request the killed instance held, or a direct "
        f"probe's reset connection): {allowed}",
        f"revoked credentials accepted: {sum(recorder.accepted_revoked.values())}",
        f"  ({recorder.revoked_probes} presentations of revoked credentials, each right after its revocation "
        "returned: /v1/auth/me and verify twice through nginx and once to each live instance, refresh through "
        "nginx)",
        f"webhook events delivered vs written: {len(measured.delivered)} / {len(measured.written)} "
        f"({measured.events_total} events logged for the tenant; {measured.deliveries_received} POSTs received, "
        f"{measured.bad_signatures} with a bad signature; drained {measured.drained_seconds:.1f} s after the "
        "workload)",
        f"replica lag: max {lag.max_bytes} bytes, max {lag.max_seconds:.3f} s replay lag ({lag.samples} samples "
        f"every 0.5 s, {lag.not_streaming} while the replica was not streaming)",
        f"traffic through each part: PgBouncer (since it started) {measured.through['pgbouncer']}; Redis "
        f"{measured.through['redis_commands']} commands; the replica {measured.through['replica_statements']} "
        "statements",
        f"listeners connected after the run: {measured.listeners} of {measured.expected_listeners}",
        f"requests over {SLOW:.0f} s: {len(recorder.slow)}"
        + "".join(f"; {count} started during {name}" for name, count in sorted(measured.slow_during().items())),
        "latency through nginx (ms):",
        f"  {'kind':<16} {'count':>6} {'p50':>8} {'p99':>8}",
        *(f"  {kind:<16} {row['count']:>6} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f}"
          for kind, row in measured.percentiles().items()),
        f"database statements per request: {measured.statements_per_request()[0]:.2f} "
        f"({statements['total']} statements on the primary for {recorder.requests} requests; of them "
        f"{statements['transaction_control']} BEGIN/COMMIT/SAVEPOINT, {statements['change_feed']} on the change "
        f"feed (listeners' reads, revoking calls' waits), {statements['worker']} on the task queue and webhook "
        f"deliveries); {measured.statements_per_request()[1]:.2f} per request less the background "
        f"({measured.background_per_second:.0f} statements/s with no request, measured idle)",
        f"load average (1 min) at the start and the end: {measured.load_average[0]:.1f}, "
        f"{measured.load_average[1]:.1f} on {os.cpu_count()} CPUs",
        "checks: passed" if not failed else "checks: FAILED\n" + "\n".join(f"  - {reason}" for reason in failed),
    ]
    return "\n".join(lines)
