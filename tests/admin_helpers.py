"""Operators for the admin tests: Django staff users (`auth.User`), signed in on a test client."""

from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.auth.models import User as Operator
from django.test import Client

OPERATOR_PASSWORD = "operator password 123"
VIEW_ONLY = ("sessions_app.view_session", "tenants_app.view_user", "tenants_app.view_tenant",
             "tenants_app.view_tenantconfig", "tenants_app.view_apikey")


def superuser_client(username: str = "root") -> tuple[Client, Operator]:
    operator = Operator.objects.create_superuser(username, f"{username}@ops.example", OPERATOR_PASSWORD)
    client = Client()
    client.force_login(operator)
    return client, operator


def staff_client(username: str, permissions: tuple[str, ...] = VIEW_ONLY) -> tuple[Client, Operator]:
    """A staff operator holding exactly `permissions` ("app_label.codename")."""
    operator = Operator.objects.create_user(username, f"{username}@ops.example", OPERATOR_PASSWORD, is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        operator.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(operator)
    return client, operator


def action(client: Client, url: str, name: str, ids: list[str], *, confirm: bool = True, **kwargs: Any) -> Any:
    """POSTs a changelist action, as the changelist's form does; `confirm` answers its confirmation page too.

    The actions that end sessions first answer a confirmation page; its form posts again with
    `post=yes`, which is what `confirm=True` sends at once.
    """
    data = {"action": name, "_selected_action": ids, "index": 0, **({"post": "yes"} if confirm else {})}
    return client.post(url, data, **kwargs)
