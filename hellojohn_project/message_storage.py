"""Where one-time messages wait for the next page: the operator's server-side session in the admin.

The admin shows a new API key's plaintext once, in a message. Django's default storage keeps
messages in a cookie (signed, not encrypted), which would send the key back and forth and leave
it in the browser; in the admin they wait in the operator's database-backed session instead, and
are deleted once shown. The end users' pages carry no secret in a message and keep the cookie, so
that they need no server-side session.
"""

from django.contrib.messages.storage.base import BaseStorage
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.messages.storage.session import SessionStorage
from django.http import HttpRequest

from hellojohn_project.admin_paths import admin_path


def message_storage(request: HttpRequest, *args: object, **kwargs: object) -> BaseStorage:
    admin = admin_path("admin:index")
    if admin is not None and request.path_info.startswith(admin):
        return SessionStorage(request, *args, **kwargs)
    return FallbackStorage(request, *args, **kwargs)
