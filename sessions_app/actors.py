"""Who acts on a session or an account: the domain value the rules record and the audit trail names.

An actor is a type and an id: an end user (their user id), a tenant's backend (its API key's id), an
operator in the admin (their username) or the service itself (no id). The audit label is derived
here and only here; events will carry `as_record()` (`{"type": ..., "id": ...}`, docs/api.md).
"""

from dataclasses import dataclass, field
from typing import Any, Literal

ActorType = Literal["user", "api_key", "operator", "system"]


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: str | None = None
    # The operator's auth.User, for Session.revoked_by; not part of the actor's identity.
    operator: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def for_user(cls, user_id: str) -> "Actor":
        return cls("user", user_id)

    @classmethod
    def for_api_key(cls, api_key_id: str) -> "Actor":
        return cls("api_key", api_key_id)

    @classmethod
    def for_operator(cls, operator: Any) -> "Actor":
        """`operator` is Django's auth.User of a signed-in staff member."""
        return cls("operator", operator.get_username(), operator=operator)

    @property
    def label(self) -> str:
        """How the audit trail names the actor: "user:usr_…", "api_key:key_…", "operator:alice", "system"."""
        return self.type if self.id is None else f"{self.type}:{self.id}"

    def as_record(self) -> dict[str, str | None]:
        return {"type": self.type, "id": self.id}


SYSTEM = Actor("system")
