"""System checks: a per-process cache and static files not collected (deploy), a missing metrics directory."""

import os
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core import checks
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.files.storage import storages

PER_PROCESS_CACHES = (LocMemCache, DummyCache)


@checks.register(checks.Tags.caches, deploy=True)
def shared_cache(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    cache = caches["default"]
    if settings.DEBUG or not isinstance(cache, PER_PROCESS_CACHES):
        return []
    return [checks.Warning(
        f"The default cache ({type(cache).__name__}) is private to each process: with several app "
        "processes, anything counted in it is counted per process.",
        hint="Use the database cache (the default without REDIS_URL) or set REDIS_URL.",
        id="hj.W001",
    )]


@checks.register(checks.Tags.staticfiles, deploy=True)
def static_files_collected(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin) or storage.manifest_storage.exists(storage.manifest_name):
        return []
    return [checks.Warning(
        f"No static files manifest in {settings.STATIC_ROOT}: collectstatic has not run, so pages are "
        "served without their stylesheet and icons.",
        hint="Run `manage.py collectstatic --noinput` before starting the app.",
        id="hj.W002",
    )]


@checks.register()
def metrics_directory(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    directory = settings.PROMETHEUS_MULTIPROC_DIR
    if not directory or os.path.isdir(directory):
        return []
    return [checks.Error(
        f"PROMETHEUS_MULTIPROC_DIR ({directory}) is not a directory: prometheus-client cannot write the "
        "workers' metrics, and every counted request fails.",
        hint="Create it (deploy/gunicorn.conf.py empties and creates it when gunicorn starts) or unset it.",
        id="hj.E003",
    )]
