"""`GET /metrics`: the Prometheus exposition, only for `Authorization: Bearer $HJ_METRICS_TOKEN`.

Off (404, like any unknown path) when HJ_METRICS_TOKEN is unset; 401 for a missing or wrong token,
compared in constant time. Under gunicorn (PROMETHEUS_MULTIPROC_DIR set) the answer sums every
worker's files; otherwise it is this process's registry.
"""

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from hellojohn_project.metrics import RegisteredCollectors


def _authorized(request: HttpRequest) -> bool:
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        supplied.strip().encode("utf-8", "surrogateescape"), settings.HJ_METRICS_TOKEN.encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.HJ_METRICS_TOKEN:
        raise Http404
    if not _authorized(request):
        response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if settings.PROMETHEUS_MULTIPROC_DIR:
        counted = CollectorRegistry()
        MultiProcessCollector(counted, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        counted = REGISTRY
    read = CollectorRegistry(auto_describe=False)
    read.register(RegisteredCollectors())
    return HttpResponse(generate_latest(counted) + generate_latest(read), content_type=CONTENT_TYPE_LATEST)
