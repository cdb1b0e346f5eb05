"""Webhooks: endpoint rules, fan-out of events to deliveries, signing, outbound safety and the worker."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sessions_app.event_model import Event


def enqueue_for(*, events: Sequence["Event"]) -> int:
    """The webhook outbox of `sessions_app.events.record_many`: see services.enqueue_for.

    Imported late, so that importing the package (the event log does, for this function) loads
    neither the task library nor the HTTP client.
    """
    from sessions_app.webhooks.services import enqueue_for as fan_out

    return fan_out(events)
