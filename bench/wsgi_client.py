"""Requests through the whole Django stack (every middleware, URL resolution, DRF, rendering)
without a socket: the WSGI application called in a loop, as a WSGI server would call it.

Django's test Client would add its own bookkeeping (signals, template capture, cookie jar) to every
call; this adds only the environ dict. The response is closed like a server closes it, so
request_finished (and its connection handling) runs as in production.
"""

import io
import json
import sys
from dataclasses import dataclass
from typing import Any

from django.core.handlers.wsgi import WSGIHandler


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WsgiClient:
    def __init__(self, *, bearer: str | None = None, tenant_id: str | None = None) -> None:
        self.app = WSGIHandler()
        self.headers: dict[str, str] = {}
        if bearer is not None:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {bearer}"
        if tenant_id is not None:
            self.headers["HTTP_X_TENANT_ID"] = tenant_id

    def request(self, method: str, path: str, *, query: str = "", body: Any = None,
                headers: dict[str, str] | None = None) -> Reply:
        payload = b"" if body is None else json.dumps(body).encode()
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1",
            "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(payload)),
            "wsgi.input": io.BytesIO(payload), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http", "wsgi.multithread": False, "wsgi.multiprocess": False,
            "wsgi.run_once": False, **self.headers, **(headers or {}),
        }
        status: list[str] = []
        response = self.app(environ, lambda line, _headers, _exc=None: status.append(line))
        try:
            content = b"".join(response)
        finally:
            response.close()
        return Reply(status=int(status[0].split(" ", 1)[0]), body=content)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> Reply:
        return self.request("POST", path, body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)
