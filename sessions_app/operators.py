"""Operators (Django staff, `auth.User`) as the admin's actions see them: who they are, what they may do.

Permissions, all Django model permissions:
- view sessions, users, tenants, keys: `view_<model>`;
- revoke sessions, and "sign out of all devices" on a user: `sessions_app.revoke_session`;
- disable or enable a user: `tenants_app.change_user`;
- create or edit a tenant: `tenants_app.add_tenant` / `change_tenant`, its session rules
  `change_tenantconfig`; issue a key: `add_apikey`; revoke a key: `change_apikey`.
"""

from django.http import HttpRequest

from sessions_app.services import Actor

REVOKE_SESSIONS = "sessions_app.revoke_session"
CHANGE_USERS = "tenants_app.change_user"
REVOKE_KEYS = "tenants_app.change_apikey"


def operator_actor(request: HttpRequest) -> Actor:
    """The audit trail's actor for the signed-in operator; `revoked_by` points at the operator."""
    return Actor("operator", request.user.get_username(), operator=request.user)


def may(request: HttpRequest, permission: str) -> bool:
    return request.user.is_active and request.user.is_staff and request.user.has_perm(permission)
