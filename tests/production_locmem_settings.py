"""Production settings on a per-process cache: what `check --deploy` must warn about (hj.W001)."""

from hellojohn_project.settings import *  # noqa: F403

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
