"""The sessions app: device sessions, their rules and the faces (API, page, admin, commands) over them."""

from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "sessions_app"
    label = "sessions_app"
    verbose_name = "Device sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the OpenAPI security schemes of the /v1 credentials with drf-spectacular.
        from hellojohn_project import health, metrics
        from hellojohn_project.api import schema  # noqa: F401
        from sessions_app.gauges import collect_active_sessions, collect_webhook_queue, worker_queue_check

        metrics.register_collector("active_sessions", collect_active_sessions)
        metrics.register_collector("webhook_queue", collect_webhook_queue)
        health.register("worker_queue", worker_queue_check)

        # Registers the check that every HJ_ENCRYPTION_KEY is usable.
        from sessions_app.webhooks import checks  # noqa: F401
