"""The admin's own history (Django's LogEntry) of what an operator did, one line per object touched.

Django's "History" link of every change page lists these; `ModelAdmin.log_change` writes one,
`LogEntry.objects.log_actions` (Django 5.1+) one per object of a queryset in a single INSERT.
The rules' audit trail (and the event log) is written by the services themselves; this is the
console's view of the same acts, kept where Django's admin looks for it.
"""

from collections.abc import Iterable

from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import Model
from django.http import HttpRequest


def log_operator_change(request: HttpRequest, objects: Iterable[Model], message: str) -> None:
    """One CHANGE entry per object, attributed to the signed-in operator; nothing when there are none."""
    objects = list(objects)
    if objects:
        LogEntry.objects.log_actions(user_id=request.user.pk, queryset=objects, action_flag=CHANGE,
                                     change_message=message)
