"""Which credential kind a route accepts (`docs/api.md` section 4: a valid credential of the wrong kind
answers 403 insufficient_permissions). Views list the kinds they take; nothing is open by default."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from hellojohn_project.api.errors import Forbidden
from hellojohn_project.api.principal import Principal


class Denied(BasePermission):
    """The default: a view that forgets to say who may call it is closed, not open."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return False


class AnyOf(BasePermission):
    """Accepts any of the given credential kinds: `permission_classes = [AnyOf.kinds("secret", "user")]`."""

    accepted: frozenset[str] = frozenset()

    @classmethod
    def kinds(cls, *kinds: str) -> type["AnyOf"]:
        return type(f"AnyOf_{'_'.join(kinds)}", (cls,), {"accepted": frozenset(kinds)})

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, Principal):
            return False
        if principal.kind not in self.accepted:
            raise Forbidden()
        return True


SecretKey = AnyOf.kinds("secret")
PublishableKey = AnyOf.kinds("publishable")
EndUser = AnyOf.kinds("user")
