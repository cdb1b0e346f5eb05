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
