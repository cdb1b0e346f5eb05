from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "sessions_app"
    label = "sessions_app"
    verbose_name = "Device sessions"
    default_auto_field = "django.db.models.BigAutoField"
