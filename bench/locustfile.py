"""The load run's clients (locust): each signs in as its own end user and then mixes reading its
identity and sessions, refreshing, and signing in a second device only to revoke it.

Every revoked session's last tokens are kept and written out at the end (HJ_BENCH_REVOKED), so
bench/load.py can confirm afterwards that the server refuses each of them.
"""

import itertools
import json
import os
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, events, task

CONFIG = json.loads(Path(os.environ["HJ_BENCH_LOAD_CONFIG"]).read_text())
_emails = itertools.cycle(CONFIG["emails"])
_revoked: list[dict[str, str]] = []


@events.test_stop.add_listener
def _write_revoked(**_: Any) -> None:
    Path(CONFIG["revoked_path"]).write_text(json.dumps(_revoked))


class EndUserDevice(FastHttpUser):
    wait_time = constant(0)  # closed loop: each client sends its next request as soon as it has an answer

    def on_start(self) -> None:
        self.email = next(_emails)
        self.revocations = 0
        self.session = self._sign_in("/v1/auth/sign-in")

    def _key_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {CONFIG['publishable_key']}", "X-Tenant-ID": CONFIG["tenant_id"]}

    def _user_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session['access_token']}", "X-Tenant-ID": CONFIG["tenant_id"]}

    def _sign_in(self, name: str) -> dict[str, Any]:
        with self.client.post("/v1/auth/sign-in", json={"email": self.email, "password": CONFIG["password"]},
                              headers=self._key_headers(), name=name, catch_response=True) as reply:
            if reply.status_code != 200:
                reply.failure(f"sign-in answered {reply.status_code}")
                raise RuntimeError("sign-in failed")
            return reply.json()["session"]

    @task(50)
    def me(self) -> None:
        self._expect(200, "GET", "/v1/auth/me", "/v1/auth/me")

    @task(15)
    def list_sessions(self) -> None:
        self._expect(200, "GET", "/v1/sessions", "/v1/sessions")

    @task(10)
    def refresh(self) -> None:
        with self.client.post("/v1/auth/token/refresh", json={"refresh_token": self.session["refresh_token"]},
                              headers=self._key_headers(), catch_response=True) as reply:
            if reply.status_code != 200:
                reply.failure(f"refresh answered {reply.status_code}")
                return
            self.session = reply.json()["session"]

    @task(1)
    def revoke_other_device(self) -> None:
        """Sign in a second device, then end it: by id, or by "sign out other devices"."""
        other = self._sign_in("/v1/auth/sign-in (second device)")
        self.revocations += 1
        if self.revocations % 2:
            revoked = self._expect(204, "DELETE", f"/v1/sessions/{other['id']}", "/v1/sessions/{id}")
        else:
            revoked = self._expect(200, "DELETE", "/v1/sessions?except_current=true", "/v1/sessions (others)")
        if revoked:
            _revoked.append({"session_id": other["id"], "access_token": other["access_token"],
                             "refresh_token": other["refresh_token"]})

    def _expect(self, status: int, method: str, path: str, name: str) -> bool:
        with self.client.request(method, path, headers=self._user_headers(), name=name,
                                 catch_response=True) as reply:
            if reply.status_code != status:
                reply.failure(f"answered {reply.status_code}: {reply.text[:120]}")
                return False
            return True
