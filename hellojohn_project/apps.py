"""The project's own app: shared rate counters, the cache table, deployment checks, the replica's metrics."""

from django.apps import AppConfig
from django.conf import settings


class ProjectConfig(AppConfig):
    name = "hellojohn_project"
    label = "hellojohn"
    verbose_name = "HelloJohn infrastructure"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # checks and operator_login are imported for their side effects: system checks, audit receivers.
        from hellojohn_project import checks, metrics, operator_login, replica  # noqa: F401

        if replica.ALIAS in settings.DATABASES:
            metrics.register_collector("replica", replica.collect)
