"""The project's own app: shared rate counters, the cache table, and deployment checks."""

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "hellojohn_project"
    label = "hellojohn"
    verbose_name = "HelloJohn infrastructure"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported for their side effects: system checks and the operator-login audit receivers.
        from hellojohn_project import checks, operator_login  # noqa: F401
