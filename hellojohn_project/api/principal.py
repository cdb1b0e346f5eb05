"""Who is calling a /v1 endpoint: what DRF's `request.user` holds after authentication."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sessions_app.models import Session
    from tenants_app.models import ApiKey, Tenant, User

CredentialKind = Literal["secret", "publishable", "user"]


@dataclass(frozen=True, slots=True)
class Principal:
    kind: CredentialKind
    tenant: Tenant
    api_key: ApiKey | None = None
    user: User | None = None
    session: Session | None = None

    # DRF and Django look for these on request.user.
    is_authenticated = True
    is_anonymous = False

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        if self.api_key is not None:
            return f"api_key:{self.api_key.id}"
        return f"user:{self.user.id}" if self.user is not None else "anonymous"
