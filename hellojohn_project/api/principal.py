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
    def actor_type(self) -> str:
        """The `actor.type` of the events this caller causes: api_key (secret key) or user."""
        return "api_key" if self.api_key is not None else "user"

    @property
    def actor_id(self) -> str | None:
        """The `actor.id` of the events this caller causes: the key's or the user's id."""
        if self.api_key is not None:
            return self.api_key.id
        return self.user.id if self.user is not None else None
