"""New-sign-in emails: which sign-ins send one, and the sending (docs/api.md, tenant config `sign_in_alerts`).

`send_sign_in_alert(session_id)` is a plain function of the session's id, so that the background
worker can run it and retry it; today `alert_after_commit` hands it to `transaction.on_commit`, so
it runs only once the sign-in has committed, and a mail server that is down never fails the sign-in
(robust: the error is logged, the sign-in's answer is unaffected). When the worker arrives,
`alert_after_commit` enqueues the task instead, and its retries deliver the mail once the server is back.
"""

import logging

from django.core.mail import EmailMultiAlternatives
from django.db import transaction

from sessions_app.models import Session
from sessions_app.sign_in_email import build_sign_in_email
from tenants_app.models import SignInAlerts, TenantConfig

logger = logging.getLogger("hellojohn.alerts")


def should_alert(config: TenantConfig, flags: dict) -> bool:
    """`off`: never; `flagged`: when a risk rule fired; `all`: every sign-in."""
    if config.sign_in_alerts == SignInAlerts.ALL:
        return True
    if config.sign_in_alerts == SignInAlerts.FLAGGED:
        return bool(flags)
    return False


def alert_after_commit(*, session: Session, config: TenantConfig) -> None:
    """Called inside the sign-in's transaction: schedules the email for after the commit, if one is due."""
    if not should_alert(config, session.flags):
        return
    session_id = session.id

    def send_after_commit() -> None:  # a named function: Django logs a robust callback's failure by its name
        send_sign_in_alert(session_id)

    transaction.on_commit(send_after_commit, robust=True)


def send_sign_in_alert(session_id: str) -> bool:
    """Sends the email about one new session; answers False when the session is gone. Raises if sending fails."""
    session = Session.objects.select_related("user", "tenant").filter(pk=session_id).first()
    if session is None:
        return False
    email: EmailMultiAlternatives = build_sign_in_email(session)
    email.send(fail_silently=False)
    logger.info("sign_in_alert.sent", extra={"event": "sign_in_alert.sent", "tenant_id": session.tenant_id,
                                             "session_id": session.id})
    return True
