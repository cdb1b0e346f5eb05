"""One HTTP POST of a delivery, to an address the outbound check approved (docs/api.md, "Delivery").

urllib3 connects to the approved IP address while the Host header, TLS SNI and the certificate check
use the URL's host name. No redirect is followed (a 3xx is a failed attempt), nothing is retried here
(the schedule does that), and the whole attempt is cut at HJ_WEBHOOK_TIMEOUT seconds.
"""

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import urllib3
from django.utils import timezone

from sessions_app.webhooks.outbound import Target

TIMEOUT_SECONDS = 30.0
EXCERPT_CHARS = 1024  # of the response body, kept with the attempt
_READ_LIMIT = 64 * 1024  # bytes read of a response at most; the rest is never downloaded


@dataclass(frozen=True)
class Outcome:
    response_status: int | None
    duration_ms: int
    error: str | None  # an error class: "timeout", "connection_error", "tls_error", "http_<status>", ...
    excerpt: str
    retry_after: float | None  # seconds, from Retry-After on 429 and 503

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    # ASCII digits only: str.isdigit() also says yes to "²", which float() refuses.
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def _pool(target: Target, address: str, ca_certs: str | None) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        # Connected to `address`; SNI and the certificate check are for the URL's host name.
        return urllib3.HTTPSConnectionPool(
            address, target.port, retries=False, maxsize=1, block=False,
            server_hostname=target.host, assert_hostname=target.host, cert_reqs="CERT_REQUIRED", ca_certs=ca_certs,
        )
    return urllib3.HTTPConnectionPool(address, target.port, retries=False, maxsize=1, block=False)


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


class Connections:
    """The keep-alive connections of one worker run: one per (checked address, port, host name), so a
    batch of deliveries to one endpoint shares a connection; only ever to an address just checked.

    `ca_certs` (a PEM bundle) replaces the system's trust store: for tests with their own CA."""

    def __init__(self, *, ca_certs: str | None = None) -> None:
        self._ca_certs = ca_certs
        self._pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}

    def __enter__(self) -> "Connections":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def post(self, target: Target, *, body: bytes, headers: dict[str, str],
             timeout: float = TIMEOUT_SECONDS) -> Outcome:
        """POSTs to the first approved address that accepts a connection (a host may have several)."""
        started = time.monotonic()
        outcome = Outcome(response_status=None, duration_ms=0, error="connection_error", excerpt="",
                          retry_after=None)
        for address in target.addresses:
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                break
            outcome = self._post_to(address, target, body=body, headers=headers, deadline=started + timeout,
                                    started=started)
            if outcome.error != "connection_error":
                break
        return outcome

    def _post_to(self, address: str, target: Target, *, body: bytes, headers: dict[str, str], deadline: float,
                 started: float) -> Outcome:
        key = (target.scheme, address, target.port, target.host)
        pool = self._pools.get(key)
        reused = pool is not None
        if pool is None:
            pool = self._pools[key] = _pool(target, address, self._ca_certs)
        status: int | None = None
        excerpt, retry_after, error, reusable = "", None, None, False
        try:
            response = pool.urlopen(
                "POST", target.path, body=body, headers={**headers, "Host": _host_header(target)},
                redirect=False, retries=False, preload_content=False, assert_same_host=False,
                timeout=urllib3.Timeout(total=max(0.001, deadline - time.monotonic())),
            )
            status = response.status
            chunks, read, finished = [], 0, False
            while read < _READ_LIMIT and time.monotonic() < deadline:
                chunk = response.read(4096)
                if not chunk:
                    finished = True
                    break
                chunks.append(chunk)
                read += len(chunk)
            # Without NUL: PostgreSQL's jsonb (the attempts column) refuses U+0000, and the worker with it.
            excerpt = b"".join(chunks).decode("utf-8", "replace").replace("\x00", "")[:EXCERPT_CHARS]
            if status in (429, 503):
                retry_after = _retry_after(response.headers.get("Retry-After"))
            if not 200 <= status < 300:
                error = f"http_{status}"
            if finished:
                response.release_conn()  # back to the pool for the next delivery
                reusable = True
            else:
                response.close()  # a body we will not read to the end: never reused
            if time.monotonic() > deadline:
                status, error = None, "timeout"
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            status, error = None, "timeout"
        except urllib3.exceptions.SSLError:
            status, error = None, "tls_error"
        except (urllib3.exceptions.HTTPError, OSError):
            status, error = None, "connection_error"
        if not reusable:
            self._pools.pop(key, None)
            pool.close()
            if reused and error == "connection_error":
                # The receiver closed the idle kept-alive connection: once more on a new one.
                return self._post_to(address, target, body=body, headers=headers, deadline=deadline, started=started)
        return Outcome(response_status=status, duration_ms=int((time.monotonic() - started) * 1000), error=error,
                       excerpt=excerpt, retry_after=retry_after)


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_SECONDS,
         ca_certs: str | None = None) -> Outcome:
    """One POST on a connection of its own."""
    with Connections(ca_certs=ca_certs) as connections:
        return connections.post(target, body=body, headers=headers, timeout=timeout)
