"""The confirmation page shown before sessions end, saying how many will (Django's delete-confirmation pattern).

An action answers this page instead of acting when the POST lacks `post=yes`; the page's form
re-posts the same action and selection with `post=yes`. The detail page's "Revoke" button leads to
the same page by GET.
"""

from typing import Any

from django.contrib.admin import ModelAdmin, helpers
from django.http import HttpRequest
from django.template.response import TemplateResponse

SHOWN_TARGETS = 20


def confirmed(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get("post") == "yes"


def action_hidden_fields(request: HttpRequest, action: str) -> list[tuple[str, str]]:
    """The fields that make the confirmation's POST the same action on the same selection."""
    hidden = [("action", action)]
    hidden += [(helpers.ACTION_CHECKBOX_NAME, pk) for pk in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)]
    if request.POST.get("select_across"):
        hidden.append(("select_across", request.POST["select_across"]))
    return hidden


def confirmation_page(request: HttpRequest, model_admin: ModelAdmin, *, title: str, will_end: int,
                      targets: list[str], hidden: list[tuple[str, str]], form_action: str, cancel_url: str,
                      confirm_label: str, selected: int | None = None) -> TemplateResponse:
    """`targets` names the first of the `selected` objects (all of them when `selected` is None)."""
    summary = (f"{will_end} active session{'s' if will_end != 1 else ''} will end." if will_end
               else "No active session would end: nothing to do.")
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "summary": summary,
        "will_end": will_end,
        "targets": targets[:SHOWN_TARGETS],
        "more": max(0, (len(targets) if selected is None else selected) - SHOWN_TARGETS),
        "hidden": hidden,
        "form_action": form_action,
        "cancel_url": cancel_url,
        "confirm_label": confirm_label,
    }
    return TemplateResponse(request, "admin/sessions_app/confirm_revocation.html", context)
