"""Root URLs: the /v1 API, the JWK Set, the API reference, the end-user pages and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from hellojohn_project.health_views import healthz, readyz
from hellojohn_project.metrics_views import metrics
from sessions_app.api.jwks_views import JwksView

# The schema and its reference page are public documentation.
PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}


# A database outage answers 503 even when middleware raised it; any other error Django's 500.
handler500 = "hellojohn_project.unavailable.server_error"

urlpatterns = [
    path("v1/", include(("sessions_app.api.urls", "v1"))),
    # JSON whatever the Accept header says: the path promises it (the generic view answers YAML by default).
    path("v1/openapi.json", SpectacularJSONAPIView.as_view(**PUBLIC), name="openapi-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="openapi-schema", **PUBLIC), name="api-docs"),
    path(".well-known/jwks.json", JwksView.as_view(), name="jwks"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("t/", include(("sessions_app.web.urls", "web"))),
    path("admin/", admin.site.urls),
]
