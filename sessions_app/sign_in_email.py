"""The new-sign-in email: a plain-text and an HTML part, from templates/email/new_sign_in.*."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from sessions_app.models import Session
from sessions_app.wording import country_name, device_type_name, flag_reasons


def sessions_page_url(slug: str) -> str:
    return f"{settings.HJ_PUBLIC_URL}{reverse('web:sessions', kwargs={'slug': slug})}"


def build_sign_in_email(session: Session) -> EmailMultiAlternatives:
    # Users have no stored language; the email is in the service's default language.
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "tenant_name": session.tenant.name,
            "device_type": device_type_name(session.device_type),
            "browser": session.browser or _("Unknown browser"),
            "os": session.os or _("Unknown system"),
            "country": country_name(session.country),
            "when": f"{session.created_at:%Y-%m-%d %H:%M} UTC",
            "ip_address": session.ip_address or "",
            "reasons": flag_reasons(session.flags),
            "sessions_url": sessions_page_url(session.tenant.slug),
        }
        subject = _("New sign-in to %(tenant)s") % {"tenant": session.tenant.name}
        text = render_to_string("email/new_sign_in.txt", context)
        html = render_to_string("email/new_sign_in.html", context)
    email = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL,
                                   to=[session.user.email])
    email.attach_alternative(html, "text/html")
    return email
