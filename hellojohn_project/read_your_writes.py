"""Read-your-writes: per-request routing state, and an operator's reads pinned to the primary after a write.

Each request starts with fresh routing state (hellojohn_project/db_router.py): after its first write,
its reads go to the primary. An operator's next request is another request, though: after "Revoke"
the admin redirects to the list, which would read the replica and could still show the session
active. So a request under /admin/ that wrote answers with a short signed cookie, and for
HJ_REPLICA_PIN_SECONDS the operator's requests read from the primary too (docs/api.md, "Read
replica"). API clients get no cookie: a tenant backend's next call may read a replica that lags
(by well under a second when it is healthy), as the contract says.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from hellojohn_project import db_router, replica
from hellojohn_project.admin_paths import admin_path

PIN_COOKIE = "hj_read_primary"
_SALT = "hellojohn.read-your-writes"


class ReadYourWritesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        end = db_router.start_request()
        try:
            if request.get_signed_cookie(PIN_COOKIE, default=None, salt=_SALT,
                                         max_age=settings.HJ_REPLICA_PIN_SECONDS) is not None:
                db_router.pin_to_primary()
            response = self.get_response(request)
            if db_router.has_written() and replica.configured():
                admin = admin_path("admin:index")
                if admin and request.path_info.startswith(admin):
                    response.set_signed_cookie(PIN_COOKIE, "1", salt=_SALT, max_age=settings.HJ_REPLICA_PIN_SECONDS,
                                               path=admin, secure=settings.SESSION_COOKIE_SECURE, httponly=True,
                                               samesite="Lax")
            return response
        finally:
            end()
