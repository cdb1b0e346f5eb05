"""Risk flags in the operators' console: a filter on the sessions list, the flags in words, a count.

The flags are a JSON mapping keyed by code (docs/api.md, "Risk flags"), so every lookup here is a
key test that both databases answer.
"""

from datetime import datetime
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from sessions_app.flags import FLAG_CODES, describe, flag_list
from sessions_app.models import Session

ANY = "any"


def flagged_q(code: str = ANY) -> Q:
    return Q(flags__has_any_keys=list(FLAG_CODES)) if code == ANY else Q(flags__has_key=code)


class FlagFilter(admin.SimpleListFilter):
    """Any flag, or one code."""

    title = "risk flag"
    parameter_name = "flag"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(ANY, "Any flag"), *[(code, code.replace("_", " ")) for code in FLAG_CODES]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Session]) -> QuerySet[Session]:
        value = self.value()
        if value != ANY and value not in FLAG_CODES:
            return queryset
        return queryset.filter(flagged_q(value))


def flags_html(session: Session) -> str:
    """Each flag's code and what the rule saw, one per line; "—" when none."""
    flags = flag_list(session.flags or {})
    if not flags:
        return "—"
    return format_html_join("", "<div><strong>{}</strong>: {}</div>",
                            ((code, describe(code, params)) for code, params in flags))


def flagged_since(*, since: datetime, tenant_id: str | None) -> int:
    sessions = Session.objects.filter(created_at__gte=since).filter(flagged_q())
    return (sessions.filter(tenant_id=tenant_id) if tenant_id else sessions).count()
