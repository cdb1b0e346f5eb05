"""Test-only URLconf: the project's routes plus two /v1 views that crash, to prove the 500 path.

One crash is a plain Django view, the other a DRF view, because the two reach Django's handler
by different roads (DRF's exception handler declines unknown exceptions and re-raises them).
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hellojohn_project.urls import urlpatterns as project_urlpatterns

# Something a traceback would show and the client must never see.
CRASH_MESSAGE = "database password is hunter2"


def crashing_django_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(CRASH_MESSAGE)


class CrashingApiView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise RuntimeError(CRASH_MESSAGE)


urlpatterns = [
    path("v1/test-crash/django", crashing_django_view),
    path("v1/test-crash/drf", CrashingApiView.as_view()),
    *project_urlpatterns,
]
