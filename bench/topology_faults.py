"""The faults `make topology` injects during its workload, on a schedule, and the replica's lag sampled meanwhile.

In order, at fractions of the run: the listeners' connections terminated on the primary; one gunicorn
instance SIGKILLed (master and workers), then started again; the replica restarted; the listeners
terminated again (the restarted instance's new listeners among them). Each is logged with its time.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.topology_stack import GunicornInstance
from bench.topology_workload import Recorder
from tests.pgcluster import Cluster

LISTENERS = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE application_name = 'hellojohn-listener'")


@dataclass
class Fault:
    name: str
    at: float  # seconds into the workload
    took: float
    detail: str = ""


@dataclass
class Faults:
    primary: Cluster
    replica: Cluster
    victim: GunicornInstance
    recorder: Recorder
    started: float = 0.0
    log: list[Fault] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    victim_up: bool = True

    def schedule(self, duration: float) -> list[tuple[float, Callable[[], str]]]:
        return [(0.10 * duration, self.terminate_listeners), (0.20 * duration, self.kill_instance),
                (0.30 * duration, self.restart_instance), (0.50 * duration, self.restart_replica),
                (0.70 * duration, self.terminate_listeners)]

    def run(self, duration: float, done: threading.Event) -> None:
        """Each fault at its time (or as soon as the one before has finished); sets `done` after the last."""
        self.started = time.monotonic()
        for offset, fault in self.schedule(duration):
            time.sleep(max(0.0, self.started + offset - time.monotonic()))
            began = time.monotonic()
            try:
                detail = fault()
            except Exception as error:  # reported as a failed check; the run goes on
                detail = f"failed: {error!r}"
                self.failures.append(f"{fault.__name__}: {error!r}")
            self.log.append(Fault(fault.__name__, began - self.started, time.monotonic() - began, detail))
        done.set()

    def terminate_listeners(self) -> str:
        terminated = int(self.primary.sql(LISTENERS, dbname="hellojohn"))
        if terminated == 0:
            self.failures.append("terminate_listeners: no listener connection to terminate")
        return f"{terminated} listener connections terminated"

    def kill_instance(self) -> str:
        self.victim_up = False  # probes stop going to it directly before it dies
        self.recorder.open_kill_window()
        self.victim.kill()
        self.recorder.close_kill_window()
        return f"gunicorn {self.victim.name} (master and workers) SIGKILLed"

    def restart_instance(self) -> str:
        self.victim.start()
        self.victim_up = True
        return f"gunicorn {self.victim.name} started again and ready"

    def restart_replica(self) -> str:
        self.replica.restart()
        return "replica stopped (fast) and started"


@dataclass
class LagSampler:
    """The replica's replay lag behind the primary, every half second: bytes and seconds (their maxima)."""

    primary: Cluster
    max_bytes: int = 0
    max_seconds: float = 0.0
    samples: int = 0
    not_streaming: int = 0

    def run(self, stop: threading.Event) -> None:
        query = ("SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))::bigint, "
                 "coalesce(max(extract(epoch FROM replay_lag)), 0) FROM pg_stat_replication")
        while not stop.wait(0.5):
            try:
                lag_bytes, _, lag_seconds = self.primary.sql(query).partition("|")
            except RuntimeError:  # psql failed: not a sample
                continue
            self.samples += 1
            if not lag_bytes:
                self.not_streaming += 1
                continue
            self.max_bytes = max(self.max_bytes, int(lag_bytes))
            self.max_seconds = max(self.max_seconds, float(lag_seconds))
