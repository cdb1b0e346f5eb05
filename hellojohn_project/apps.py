"""The project's own app: shared rate counters, the cache table, and deployment checks."""

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "hellojohn_project"
    label = "hellojohn"
    verbose_name = "HelloJohn infrastructure"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # checks and operator_login are imported for their side effects: system checks and the
        # operator-login audit receivers.
        from hellojohn_project import checks, health, metrics, operator_login  # noqa: F401
        from hellojohn_project.change_feed_health import collect_listener_lag, listener_check

        health.register("listener", listener_check)
        metrics.register_collector("listener", collect_listener_lag)
