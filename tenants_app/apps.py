"""The tenants app, the kernel: tenants, their config, API keys and end users; it imports no other app."""

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants_app"
    verbose_name = "Tenants"
    default_auto_field = "django.db.models.BigAutoField"
