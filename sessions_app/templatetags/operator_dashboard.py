"""`{% operator_dashboard %}`: renders the dashboard (sessions_app/admin/dashboard.py) on the admin index.

A template tag, like the admin's own `{% get_admin_log %}` on the same page, rather than a custom
AdminSite or a context processor: nothing in settings or the URLconf changes, and the queries run
only when the index renders. Django finds tag libraries only in an app's `templatetags` package,
so this module stays here and holds nothing but the registration.
"""

from typing import Any

from django import template

from sessions_app.admin.dashboard import dashboard_context

register = template.Library()


@register.inclusion_tag("admin/sessions_app/dashboard.html", takes_context=True)
def operator_dashboard(context: template.Context) -> dict[str, Any]:
    return dashboard_context(context["request"])
