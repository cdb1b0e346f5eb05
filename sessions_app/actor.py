"""Who made a change: the `actor` of its event (docs/api.md, "Events") and of its audit line."""

from dataclasses import dataclass

from sessions_app.event_model import ActorType


@dataclass(frozen=True)
class Actor:
    """`type` is user, api_key, operator or system; `id` the user or key id, the operator's username,
    or None for the system. `operator` is the Django staff user, set for the admin's changes only
    (a revoked session's `revoked_by` points at it)."""

    type: str
    id: str | None = None
    operator: object | None = None

    @property
    def label(self) -> str:
        """"api_key:key_…", "operator:alice", "system": how audit lines name the actor."""
        return self.type if self.id is None else f"{self.type}:{self.id}"

    def as_dict(self) -> dict[str, str | None]:
        return {"type": self.type, "id": self.id}


SYSTEM = Actor(ActorType.SYSTEM.value)


def user_actor(user_id: str) -> Actor:
    return Actor(ActorType.USER.value, user_id)
