"""The /v1 machinery as a Django app, so that its signal receivers (per-tenant CORS) connect at start-up."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "hellojohn_project.api"
    label = "hellojohn_api"
    verbose_name = "HelloJohn API"

    def ready(self) -> None:
        from hellojohn_project.api import cors  # noqa: F401 (connects the check_request_enabled receiver)
