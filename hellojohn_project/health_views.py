"""`GET /healthz` (liveness) and `GET /readyz` (readiness), for load balancers and orchestrators.

Both are JSON, take no credential, are not rate limited, and are not logged at info level (a probe
every few seconds would drown the log): /healthz touches nothing, so it answers whenever the process
does; /readyz runs hellojohn_project.health's checks and answers 503 when one fails.
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from hellojohn_project import health


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results = health.run_checks()
    ready = all(result.ok for result in results.values())
    checks = {name: {"ok": result.ok, **({"detail": result.detail} if result.detail else {})}
              for name, result in results.items()}
    response = JsonResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                            status=200 if ready else 503)
    # health.run_checks already logged the failing check at warning; Django's request logger would
    # add an error line per probe.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
