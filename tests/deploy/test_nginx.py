"""The shipped deploy/nginx.conf in front of gunicorn: slow and half-sent requests hold nginx, not the
app's sync workers, so /healthz still answers at once; malformed requests, oversized bodies and an
unreachable app answer the error envelope (docs/api.md section 5), not nginx's HTML.
"""

import json
import os
import socket
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.live_app import free_port, gunicorn, production_env, request, set_up_database
from tests.nginxproxy import find_nginx, nginx


@pytest.fixture(autouse=True, scope="module")
def _nginx_installed() -> None:
    if find_nginx() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("nginx is required under CI=true (.ci/run installs nginx-light)")
        pytest.skip("nginx is not installed")


def raw(base: str, data: bytes, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Sends bytes as they are; answers the status, headers and body nginx sent back."""
    parts = urllib.parse.urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def assert_envelope(status: int, headers: dict[str, str], body: bytes, *, expected: int, code: str) -> None:
    assert status == expected, body
    assert headers["Content-Type"] == "application/json"
    error = json.loads(body)["error"]
    assert (error["code"], error["status"]) == (code, expected)
    assert error["request_id"].startswith("req_") and error["request_id"] == headers["X-Request-ID"]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn with 2 sync workers, the production settings, on a SQLite file; its base URL."""
    directory = tmp_path_factory.mktemp("nginx-app")
    env = production_env(f"sqlite:///{directory / 'app.sqlite3'}", ALLOWED_HOSTS="127.0.0.1,localhost")
    set_up_database(env)
    with gunicorn(env, workers=2) as base:
        yield base


@pytest.fixture(scope="module")
def proxy(app: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with nginx([urllib.parse.urlsplit(app).netloc], tmp_path_factory.mktemp("nginx")) as base:
        yield base


def half_sent(base: str, count: int) -> ExitStack:
    """`count` connections that send part of a request and then nothing, held open until the stack closes."""
    stack = ExitStack()
    parts = urllib.parse.urlsplit(base)
    for index in range(count):
        sock = stack.enter_context(socket.create_connection((parts.hostname, parts.port), timeout=5))
        if index % 2:  # headers, then half of the announced body
            sock.sendall(b"POST /v1/auth/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"email\": ")
        else:  # half a header block
            sock.sendall(b"GET /v1/auth/me HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slo")
    time.sleep(0.3)
    return stack


def test_requests_pass_through_to_the_app(proxy: str) -> None:
    status, headers, body = request("GET", f"{proxy}/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, headers, body = request("GET", f"{proxy}/v1/sessions")  # the app's own envelope
    assert_envelope(status, headers, body, expected=401, code="missing_token")
    assert "Server" not in headers or headers["Server"] == "nginx"  # no version


def test_half_sent_requests_do_not_delay_a_health_probe(proxy: str) -> None:
    with half_sent(proxy, 10):
        for _ in range(5):
            started = time.monotonic()
            status, _, _ = request("GET", f"{proxy}/healthz")
            assert status == 200
            assert time.monotonic() - started < 1.0


def test_without_nginx_two_half_sent_requests_hold_both_workers(app: str) -> None:
    """The failure nginx removes (so the test above can fail): the sync workers wait on the slow clients."""
    with half_sent(app, 4), pytest.raises(OSError):  # TimeoutError or a reset: no answer within 2 s
        parts = urllib.parse.urlsplit(app)
        with socket.create_connection((parts.hostname, parts.port), timeout=2) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            if not sock.recv(1):
                raise ConnectionResetError
    assert request("GET", f"{app}/healthz")[0] == 200  # the workers are free again


@pytest.mark.parametrize("data", [
    b"GET /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nA header without a colon\r\n\r\n",
    b"NOT A REQUEST LINE\r\n\r\n",
    b"GET /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
    b"GET /v1/sessions HTTP/1.1\r\n\r\n",  # HTTP/1.1 without Host
    b"POST /v1/auth/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
])
def test_a_malformed_request_gets_the_envelope(proxy: str, data: bytes) -> None:
    assert_envelope(*raw(proxy, data), expected=400, code="invalid_request")


def test_a_body_over_the_limit_gets_the_envelope_before_the_app(proxy: str) -> None:
    status, headers, body = request("POST", f"{proxy}/v1/auth/sign-in", b"{" + b" " * 100_000 + b"}",
                                    {"Content-Type": "application/json"})
    assert_envelope(status, headers, body, expected=413, code="payload_too_large")


def test_an_unreachable_app_is_503_service_unavailable(tmp_path: Path) -> None:
    with nginx([f"127.0.0.1:{free_port()}"], tmp_path / "nginx") as base:
        status, headers, body = request("GET", f"{base}/v1/sessions")
    assert_envelope(status, headers, body, expected=503, code="service_unavailable")
    assert headers["Retry-After"] == "30"
