"""The project's URLs plus the benchmark's comparison views under /bench/."""

from django.urls import path

from bench.views import CeilingView, HelloJohnAuthView, PeerMeView, PeerStatelessMeView
from hellojohn_project.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/ceiling", CeilingView.as_view()),
    path("bench/hellojohn/me", HelloJohnAuthView.as_view()),
    path("bench/simplejwt/me", PeerMeView.as_view()),
    path("bench/simplejwt-stateless/me", PeerStatelessMeView.as_view()),
    *project_urlpatterns,
]
