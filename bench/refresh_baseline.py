"""Section 4b: refresh rotations per second against the code before issue 14, interleaved in one run.

Issue 14 asks for "refresh ≥ 3x today's rate", today being the code when the issue was filed:
BASELINE, the last commit before any of its work took effect (8 statements a rotation). A ratio
against a number from another day or machine would measure the machine; so that commit's tree is
taken out of this repository's history (`git archive`) and both trees rotate, each in a process of
its own (bench/refresh_worker.py) on a database of its own on the same server, in alternating
batches: round r runs before-then-after when r is even and after-then-before when odd, so neither
side always runs on the warmer machine. Reported: each side's median rotations per second and CPU
milliseconds per rotation, and the median of the per-round ratios, with their spread.

Without git or without the commit in history (a tarball, a shallow clone), the section says so
instead of guessing.
"""

import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BASELINE = "e8da5fde8f4b5f08a22d22c6fa4c6c8701c82bd5"
PROJECT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "refresh_worker.py"


def run(*, rounds: int, batch: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hj-refresh-baseline-") as scratch:
        baseline = Path(scratch) / "baseline"
        reason = _extract(baseline)
        if reason is not None:
            return {"baseline": BASELINE, "skipped": reason}
        trees = {"before": baseline, "after": PROJECT}
        workers = {side: _start(tree, _database_url(side, Path(scratch))) for side, tree in trees.items()}
        try:
            rates: dict[str, list[float]] = {side: [] for side in trees}
            cpu: dict[str, list[float]] = {side: [] for side in trees}
            for r in range(rounds):
                for side in (("before", "after") if r % 2 == 0 else ("after", "before")):
                    wall, used = _batch(workers[side], batch)
                    rates[side].append(batch / wall)
                    cpu[side].append(used * 1000 / batch)
        finally:
            for worker in workers.values():
                worker.stdin.close()
                worker.wait(timeout=60)
    ratios = [after / before for before, after in zip(rates["before"], rates["after"], strict=True)]
    return {
        "baseline": BASELINE, "rounds": rounds, "batch": batch,
        **{side: {"per_second": round(statistics.median(rates[side]), 1),
                  "cpu_ms_per_rotation": round(statistics.median(cpu[side]), 2)} for side in trees},
        "ratio": round(statistics.median(ratios), 2), "ratio_min": round(min(ratios), 2),
        "ratio_max": round(max(ratios), 2),
    }


def _extract(into: Path) -> str | None:
    into.mkdir()
    try:
        archive = subprocess.run(["git", "-C", str(PROJECT), "archive", "--format=tar", BASELINE],  # noqa: S603, S607
                                 capture_output=True, check=False)
    except FileNotFoundError:
        return "git is not installed"
    if archive.returncode != 0:
        return f"commit {BASELINE[:12]} is not in this checkout's history"
    with tempfile.TemporaryFile() as tar:
        tar.write(archive.stdout)
        tar.seek(0)
        with tarfile.open(fileobj=tar) as files:
            files.extractall(into, filter="data")
    return None


def _database_url(side: str, scratch: Path) -> str:
    """This run's database server with a database of the side's own (SQLite: a file of its own)."""
    url = urlsplit(os.environ["DATABASE_URL"])
    if url.scheme.startswith("sqlite"):
        return f"sqlite:///{scratch / f'{side}.sqlite3'}"
    return urlunsplit(url._replace(path=f"{url.path}_refresh_{side}"))


def _start(tree: Path, database_url: str) -> subprocess.Popen:
    # Not the listener URL of this run's database (bench/run.py may have set one): each side's listener
    # follows its own database.
    env = {name: value for name, value in os.environ.items() if name != "HJ_LISTENER_DATABASE_URL"}
    env.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="bench.settings", HJ_BENCH_LOG=os.devnull)
    worker = subprocess.Popen([sys.executable, str(WORKER)], cwd=tree, env=env, text=True,  # noqa: S603
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if worker.stdout.readline().strip() != "ready":
        worker.kill()
        raise RuntimeError(f"the refresh worker in {tree} did not start")
    return worker


def _batch(worker: subprocess.Popen, count: int) -> tuple[float, float]:
    worker.stdin.write(f"go {count}\n")
    worker.stdin.flush()
    answer = worker.stdout.readline().split()
    if len(answer) != 2:
        raise RuntimeError(f"a refresh worker stopped (exit {worker.poll()})")
    return float(answer[0]), float(answer[1])
