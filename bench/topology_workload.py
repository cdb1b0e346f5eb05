"""The mixed workload of `make topology`: client threads through nginx, and every revoked credential
presented again at once, through nginx and to each live gunicorn instance directly.

Each client thread owns its users and their sessions, so it knows exactly what each answer must be:
an answer that differs is an error unless it is the one failure an injected fault may cause
(`Recorder.allowed`). A revoked credential that is accepted anywhere is counted apart: it is the
failure that must never happen (docs/api.md §12, "Revocation is immediate").
"""

import http.client
import json
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

PASSWORD = "topology horse battery staple"  # noqa: S105 - the workload's own users
# A request that overlapped a kill by this much may have been on the killed instance (nginx notices
# the dead upstream on its next connection attempt, which is at once).
KILL_GRACE = 1.0
# The one failure a kill may cause: nginx's own envelope for an upstream that died mid-request
# (deploy/nginx.conf maps 502 to it), on a request nginx could not replay elsewhere (a POST that
# reached the killed instance). The app's own 503 says "cannot reach its database" and is never allowed.
NGINX_UNAVAILABLE = "The service is unavailable"
# Requests slower than this (seconds) are kept with their times, to tell which fault they met.
SLOW = 1.0


@dataclass
class Answer:
    status: int
    body: Any
    started: float
    ended: float


@dataclass
class SessionState:
    id: str
    access_token: str
    refresh_token: str


@dataclass
class UserState:
    id: str
    email: str
    sessions: list[SessionState] = field(default_factory=list)
    unknown: int = 0  # sessions a fault may have left active without this thread knowing their tokens


class Recorder:
    """Latencies per request kind, errors, allowed fault failures, and revoked credentials accepted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forgets what was recorded so far (the warm-up)."""
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.requests = 0
        self.errors: Counter[str] = Counter()
        self.error_examples: list[str] = []
        self.allowed: Counter[str] = Counter()
        self.accepted_revoked: Counter[str] = Counter()
        self.revoked_probes = 0
        self.revocations = 0
        self.kill_windows: list[tuple[float, float]] = []
        self.slow: list[tuple[float, float]] = []  # (started, ended) of requests over SLOW seconds

    def open_kill_window(self) -> None:
        with self.lock:
            self.kill_windows.append((time.monotonic(), float("inf")))

    def close_kill_window(self) -> None:
        with self.lock:
            start, _ = self.kill_windows[-1]
            self.kill_windows[-1] = (start, time.monotonic() + KILL_GRACE)

    def in_kill_window(self, answer: Answer) -> bool:
        with self.lock:
            return any(answer.started <= end and answer.ended >= start for start, end in self.kill_windows)

    def timed(self, kind: str, answer: Answer) -> None:
        with self.lock:
            self.requests += 1
            self.latencies[kind].append(answer.ended - answer.started)
            if answer.ended - answer.started > SLOW:
                self.slow.append((answer.started, answer.ended))

    def counted(self) -> None:
        with self.lock:
            self.requests += 1

    def fault_failure(self, kind: str, answer: Answer) -> bool:
        """True (and counted as allowed) when this failure is the one a kill may cause."""
        nginx_503 = (answer.status == 503 and isinstance(answer.body, dict)
                     and answer.body.get("error", {}).get("message", "").startswith(NGINX_UNAVAILABLE))
        reset = answer.status == 0  # a direct connection to the instance that was killed
        if (nginx_503 or reset) and self.in_kill_window(answer):
            with self.lock:
                self.allowed[f"{kind} {answer.status or 'connection reset'}"] += 1
            return True
        return False

    def error(self, kind: str, answer: Answer, detail: str = "") -> None:
        code = answer.body.get("error", {}).get("code", "") if isinstance(answer.body, dict) else ""
        with self.lock:
            self.errors[f"{kind} {answer.status} {code}".strip()] += 1
            if len(self.error_examples) < 10:
                self.error_examples.append(f"{kind}: {answer.status} {str(answer.body)[:200]} {detail}")


def call(conn_factory: Callable[[], http.client.HTTPConnection], holder: dict[str, Any], method: str, path: str,
         *, token: str, tenant_id: str, payload: Any = None) -> Answer:
    """One request on the thread's keep-alive connection (a new one after any failure); status 0 when none."""
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": tenant_id}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    try:
        conn = holder.get("conn") or conn_factory()
        holder["conn"] = conn
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        holder.pop("conn", None)
        return Answer(0, None, started, time.monotonic())
    ended = time.monotonic()
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = data[:200]
    return Answer(status, parsed, started, ended)


class Client:
    """One client thread's loop until the deadline."""

    WEIGHTS = {"me": 34, "verify": 24, "refresh": 12, "list_sessions": 10, "revoke_one": 8, "revoke_all": 4,
               "sign_in": 8}

    def __init__(self, *, number: int, nginx: str, instances: Callable[[], list[str]], tenant: dict[str, str],
                 users: list[UserState], recorder: Recorder, probes: ThreadPoolExecutor) -> None:
        self.random = random.Random(number)  # noqa: S311 (a workload's mix, not a secret)
        self.nginx_port = int(nginx.rsplit(":", 1)[1])
        self.instances, self.tenant, self.users = instances, tenant, users
        self.recorder, self.probes = recorder, probes
        self.holder: dict[str, Any] = {}

    def _nginx(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.nginx_port, timeout=60)

    def _api(self, method: str, path: str, token: str, payload: Any = None) -> Answer:
        return call(self._nginx, self.holder, method, path, token=token, tenant_id=self.tenant["tenant_id"],
                    payload=payload)

    def warm_up(self) -> None:
        """Two sessions per user before the clock starts, so the run is the mix, not a queue of sign-ins."""
        for user in self.users:
            while len(user.sessions) < 2:
                self.sign_in(user)

    def run(self, deadline: float, faults_done: threading.Event) -> None:
        """The mix until the deadline, and on until every fault has been injected."""
        try:
            self._loop(deadline, faults_done)
        except Exception as error:  # a thread that dies must fail the run, not quietly lower the load
            with self.recorder.lock:
                self.recorder.errors[f"client thread crashed: {error!r}"] += 1

    def _loop(self, deadline: float, faults_done: threading.Event) -> None:
        kinds, weights = list(self.WEIGHTS), list(self.WEIGHTS.values())
        while time.monotonic() < deadline or not faults_done.is_set():
            user = self.random.choice(self.users)
            kind = self.random.choices(kinds, weights)[0]
            if len(user.sessions) < 2:
                kind = "sign_in"
            elif len(user.sessions) >= 4 and kind == "sign_in":
                kind = "revoke_one"
            getattr(self, kind)(user)

    def _expect(self, kind: str, answer: Answer, status: int) -> bool:
        self.recorder.timed(kind, answer)
        if answer.status == status:
            return True
        if not self.recorder.fault_failure(kind, answer):
            self.recorder.error(kind, answer)
        return False

    def sign_in(self, user: UserState) -> None:
        answer = self._api("POST", "/v1/auth/sign-in", self.tenant["publishable_key"],
                           {"email": user.email, "password": PASSWORD})
        if self._expect("sign-in", answer, 200):
            issued = answer.body["session"]
            user.sessions.append(SessionState(issued["id"], issued["access_token"], issued["refresh_token"]))
        elif answer.status in (0, 503):
            user.unknown += 1  # it may have signed in on the killed instance before it died

    def me(self, user: UserState) -> None:
        session = self.random.choice(user.sessions)
        answer = self._api("GET", "/v1/auth/me", session.access_token)
        if self._expect("me", answer, 200) and answer.body["session"]["id"] != session.id:
            self.recorder.error("me", answer, "another session")

    def verify(self, user: UserState) -> None:
        session = self.random.choice(user.sessions)
        answer = self._api("POST", "/v1/sessions/verify", self.tenant["secret_key"], {"token": session.access_token})
        if self._expect("verify", answer, 200) and answer.body["valid"] is not True:
            self.recorder.error("verify", answer, "a live session not valid")

    def refresh(self, user: UserState) -> None:
        session = self.random.choice(user.sessions)
        answer = self._api("POST", "/v1/auth/token/refresh", self.tenant["publishable_key"],
                           {"refresh_token": session.refresh_token})
        if self._expect("refresh", answer, 200):
            session.access_token = answer.body["session"]["access_token"]
            session.refresh_token = answer.body["session"]["refresh_token"]
        else:
            # Rotated or not, its refresh token can no longer be trusted (presenting a rotated one again
            # would be reuse and revoke the session): leave it, active, to the next revoke-all.
            user.sessions.remove(session)
            user.unknown += 1

    def list_sessions(self, user: UserState) -> None:
        answer = self._api("GET", f"/v1/sessions?user_id={user.id}", self.tenant["secret_key"])
        self._expect("list", answer, 200)

    def revoke_one(self, user: UserState) -> None:
        session = self.random.choice(user.sessions)
        answer = self._api("DELETE", f"/v1/sessions/{session.id}", self.tenant["secret_key"])
        user.sessions.remove(session)
        if self._expect("revoke one", answer, 204):
            self._present_revoked([session])
        else:
            user.unknown += 1  # revoked or not: the next revoke-all counts it either way

    def revoke_all(self, user: UserState) -> None:
        # Alternately the tenant's backend (secret key) and the user from one of their devices (which
        # revokes the calling session too): two revocation paths of docs/api.md §9.
        by_user = self.random.random() < 0.5
        token = user.sessions[0].access_token if by_user else self.tenant["secret_key"]
        answer = self._api("DELETE", f"/v1/sessions?user_id={user.id}", token)
        if not self._expect("revoke all", answer, 200):
            user.unknown += len(user.sessions)  # revoked or not, as for revoke_one
            user.sessions = []
            return
        known = len(user.sessions)
        revoked = answer.body["revoked"]
        # Exact, except for sessions a fault left unknown, and a revoke-all that nginx replayed on the
        # other instance after the killed one had already revoked (the replay then finds fewer).
        low = 0 if self.recorder.in_kill_window(answer) else known
        if not low <= revoked <= known + user.unknown:
            self.recorder.error("revoke all", answer, f"revoked {revoked}, expected {known}..{known + user.unknown}")
        revoked_sessions, user.sessions, user.unknown = user.sessions, [], 0
        self._present_revoked(revoked_sessions)

    def _present_revoked(self, sessions: list[SessionState]) -> None:
        """Every credential of the revoked sessions, at once, through nginx and to every live instance."""
        with self.recorder.lock:
            self.recorder.revocations += 1
        futures = []
        nginx = f"http://127.0.0.1:{self.nginx_port}"
        for session in sessions:
            for base in [nginx, nginx, *self.instances()]:
                futures.append(self.probes.submit(self._probe_me, base, session, base == nginx))
                futures.append(self.probes.submit(self._probe_verify, base, session, base == nginx))
            futures.append(self.probes.submit(self._probe_refresh, nginx, session))
        for future in futures:
            future.result()

    def _probe(self, base: str, method: str, path: str, token: str, payload: Any = None) -> Answer:
        port = int(base.rsplit(":", 1)[1])
        holder: dict[str, Any] = {}
        answer = call(lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=60), holder, method, path,
                      token=token, tenant_id=self.tenant["tenant_id"], payload=payload)
        if holder.get("conn"):
            holder["conn"].close()
        return answer

    def _judge(self, kind: str, answer: Answer, *, accepted: bool, refused: bool, through_nginx: bool) -> None:
        if through_nginx:
            self.recorder.timed(kind, answer)
        else:
            self.recorder.counted()
        with self.recorder.lock:
            self.recorder.revoked_probes += 1
        if accepted:
            with self.recorder.lock:
                self.recorder.accepted_revoked[kind] += 1
        elif not refused and not self.recorder.fault_failure(kind, answer):
            self.recorder.error(kind, answer, "a revoked credential neither accepted nor refused as revoked")

    def _probe_me(self, base: str, session: SessionState, through_nginx: bool) -> None:
        answer = self._probe(base, "GET", "/v1/auth/me", session.access_token)
        code = answer.body.get("error", {}).get("code") if isinstance(answer.body, dict) else None
        self._judge("revoked me", answer, accepted=answer.status == 200,
                    refused=answer.status == 401 and code == "session_revoked", through_nginx=through_nginx)

    def _probe_verify(self, base: str, session: SessionState, through_nginx: bool) -> None:
        answer = self._probe(base, "POST", "/v1/sessions/verify", self.tenant["secret_key"],
                             {"token": session.access_token})
        body = answer.body if answer.status == 200 and isinstance(answer.body, dict) else {}
        self._judge("revoked verify", answer, accepted=body.get("valid") is True,
                    refused=body.get("valid") is False and body.get("reason") == "session_revoked",
                    through_nginx=through_nginx)

    def _probe_refresh(self, base: str, session: SessionState) -> None:
        answer = self._probe(base, "POST", "/v1/auth/token/refresh", self.tenant["publishable_key"],
                             {"refresh_token": session.refresh_token})
        code = answer.body.get("error", {}).get("code") if isinstance(answer.body, dict) else None
        self._judge("revoked refresh", answer, accepted=answer.status == 200,
                    refused=answer.status == 401 and code == "session_revoked", through_nginx=True)
