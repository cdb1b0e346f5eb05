"""New-sign-in emails: which sign-ins send one, the worker's task that sends it, and its retries.

`enqueue_alert` runs inside the sign-in's transaction and, when an email is due, inserts a task row
(django-tasks, database backend): the task exists exactly when the sign-in commits, and the request
never talks to the mail server (docs/api.md, tenant config `sign_in_alerts`). The worker
(`manage.py db_worker`) runs `deliver_sign_in_alert`; the task library does not retry, so a failed
send enqueues the next attempt itself, `run_after` a growing delay, at most ATTEMPTS times in all.
"""

import logging
from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django_tasks import task

from sessions_app.models import Session
from sessions_app.sign_in_email import build_sign_in_email
from tenants_app.models import SignInAlerts, TenantConfig

logger = logging.getLogger("hellojohn.alerts")

# Delays before the 2nd, 3rd, ... attempt: a mail server restarted or briefly unreachable is back
# within these ~1.5 hours; an email about a sign-in that arrives later than that is little use.
RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))
ATTEMPTS = len(RETRY_DELAYS) + 1


def should_alert(config: TenantConfig, flags: dict) -> bool:
    """`off`: never; `flagged`: when a risk rule fired; `all`: every sign-in."""
    if config.sign_in_alerts == SignInAlerts.ALL:
        return True
    if config.sign_in_alerts == SignInAlerts.FLAGGED:
        return bool(flags)
    return False


def enqueue_alert(*, session: Session, config: TenantConfig) -> bool:
    """Called inside the sign-in's transaction: one INSERT of the email's task, if one is due; answers whether."""
    if not should_alert(config, session.flags):
        return False
    deliver_sign_in_alert.enqueue(session.id)
    return True


@task()
def deliver_sign_in_alert(session_id: str, attempt: int = 1) -> bool:
    """Sends the email about one new session; on failure, schedules the next attempt and re-raises.

    Re-raising marks this task row failed with the error (the worker records it); the next attempt
    is a new row, inserted before, so a worker that stops here loses nothing.
    """
    try:
        return send_sign_in_alert(session_id)
    except Exception:
        if attempt < ATTEMPTS:
            at = timezone.now() + RETRY_DELAYS[attempt - 1]
            deliver_sign_in_alert.using(run_after=at).enqueue(session_id, attempt + 1)
            logger.warning("sign_in_alert.retry", extra={"event": "sign_in_alert.retry", "session_id": session_id,
                                                          "attempt": attempt, "next_attempt_at": at.isoformat()})
        else:
            logger.error("sign_in_alert.gave_up", extra={"event": "sign_in_alert.gave_up", "session_id": session_id,
                                                          "attempt": attempt})
        raise


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
