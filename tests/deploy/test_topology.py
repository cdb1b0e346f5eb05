"""The judgements of `make topology` (bench/topology_*.py) without starting the topology: which failure a
fault may excuse, and that each check fails the run. The run itself is `make topology` (in .ci/run).
"""

import threading
import time

from bench.topology_faults import Fault, LagSampler
from bench.topology_report import KINDS, Measured, checks, render
from bench.topology_workload import KILL_GRACE, Answer, Recorder

NGINX_503 = {"error": {"code": "service_unavailable", "status": 503, "request_id": "req_x",
                       "message": "The service is unavailable; retry after the time in Retry-After."}}
APP_503 = {"error": {"code": "service_unavailable", "status": 503, "request_id": "req_x",
                     "message": "The service cannot reach its database; retry after the time in Retry-After."}}


def killed_at(recorder: Recorder) -> float:
    recorder.open_kill_window()
    recorder.close_kill_window()
    return recorder.kill_windows[-1][0]


def test_only_nginx_503_or_a_reset_overlapping_a_kill_is_excused() -> None:
    recorder = Recorder()
    kill = killed_at(recorder)
    during = (kill - 0.1, kill + 0.1)
    assert recorder.fault_failure("refresh", Answer(503, NGINX_503, *during))
    assert recorder.fault_failure("revoked me", Answer(0, None, *during))
    # The app's own 503 (its database unreachable), a 500 or a 502 are never what a kill explains.
    assert not recorder.fault_failure("refresh", Answer(503, APP_503, *during))
    assert not recorder.fault_failure("refresh", Answer(500, None, *during))
    assert not recorder.fault_failure("refresh", Answer(502, None, *during))
    # Nor nginx's 503 for a request that began after the grace or ended before the kill.
    assert not recorder.fault_failure("me", Answer(503, NGINX_503, kill + KILL_GRACE + 0.5, kill + KILL_GRACE + 0.6))
    assert not recorder.fault_failure("me", Answer(503, NGINX_503, kill - 2, kill - 1))
    assert dict(recorder.allowed) == {"refresh 503": 1, "revoked me connection reset": 1}


def test_with_no_kill_nothing_is_excused() -> None:
    recorder = Recorder()
    now = time.monotonic()
    assert not recorder.fault_failure("me", Answer(503, NGINX_503, now, now))


def test_a_client_thread_that_crashes_is_an_error() -> None:
    from bench.topology_workload import Client

    recorder = Recorder()
    client = Client(number=0, nginx="http://127.0.0.1:9", instances=list, tenant={}, users=[], recorder=recorder,
                    probes=None)  # type: ignore[arg-type] (never reached)
    done = threading.Event()
    done.set()
    client.run(time.monotonic() + 1, done)  # no users: random.choice raises
    assert list(recorder.errors) == ["client thread crashed: IndexError('Cannot choose from an empty sequence')"]


def passing() -> Measured:
    recorder = Recorder()
    for kind in KINDS:
        recorder.timed(kind, Answer(200, {}, 0.0, 0.01))
    recorder.revocations, recorder.revoked_probes = 1, 9
    lag = LagSampler(primary=None)  # type: ignore[arg-type] (never run here)
    lag.samples, lag.max_bytes = 10, 128
    return Measured(seconds=15, threads=4, recorder=recorder, faults=[Fault("f", 1.0, 0.1)] * 5, fault_failures=[],
                    lag=lag, statements={"total": 100, "transaction_control": 10, "change_feed": 20, "worker": 5},
                    background_per_second=2.0, delivered={"evt_1", "evt_2"}, written={"evt_1", "evt_2"},
                    events_total=2, through={"pgbouncer": "", "redis_commands": 1, "replica_statements": 1},
                    deliveries_received=2, bad_signatures=0, drained_seconds=0.5, deliveries_left=0,
                    listeners=4, expected_listeners=4, postgres_version="15", load_average=(1.0, 1.0), started_at=0.0)


def test_a_clean_run_passes_and_prints_the_line_ci_looks_for() -> None:
    measured = passing()
    assert checks(measured) == []
    text = render(measured, [])
    assert "\nrevoked credentials accepted: 0\n" in text
    assert "webhook events delivered vs written: 2 / 2" in text
    assert text.endswith("checks: passed")


def test_each_check_fails_the_run() -> None:
    broken = []
    measured = passing()
    measured.recorder.accepted_revoked["revoked me"] += 1
    broken.append(measured)
    measured = passing()
    measured.recorder.error("me", Answer(500, None, 0.0, 0.1))
    broken.append(measured)
    measured = passing()
    measured.delivered = {"evt_1"}
    broken.append(measured)
    measured = passing()
    measured.events_total = 3  # an event with no delivery
    broken.append(measured)
    measured = passing()
    measured.listeners = 3
    broken.append(measured)
    measured = passing()
    measured.fault_failures = ["terminate_listeners: no listener connection to terminate"]
    broken.append(measured)
    measured = passing()
    measured.faults = measured.faults[:4]
    broken.append(measured)
    measured = passing()
    measured.lag.not_streaming = measured.lag.samples
    broken.append(measured)
    measured = passing()
    del measured.recorder.latencies["revoked refresh"]
    broken.append(measured)
    for measured in broken:
        assert len(checks(measured)) == 1, checks(measured)
    accepted = broken[0]
    assert "revoked credentials accepted: 1" in render(accepted, checks(accepted))
