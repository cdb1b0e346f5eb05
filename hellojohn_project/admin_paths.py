"""The admin's fixed paths, reversed once per URLconf and script prefix.

Middlewares compare every request's path with the admin's (which message storage, whether to pin
reads to the primary, whether to clean the sign-in's headers). `reverse()` costs about 44 µs a call
on this URLconf, twice on every API request before this (README "Performance", section 4).
"""

import functools

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse


def admin_path(name: str) -> str | None:
    """`reverse(name)` of a route without arguments, or None when the URLconf has no such route."""
    return _reversed(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), name)


@functools.lru_cache(maxsize=64)
def _reversed(urlconf: str, script_prefix: str, name: str) -> str | None:
    try:
        return reverse(name, urlconf=urlconf)
    except NoReverseMatch:  # a URLconf without the admin (some tests)
        return None
