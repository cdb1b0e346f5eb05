"""Failed sign-ins per email, kept for the `after_failures` risk rule and purged after a day.

Emails are stored as an HMAC keyed with the project's secret key: the table says how often an
address failed, never which address, to someone holding only a copy of the database.
"""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.crypto import salted_hmac

from sessions_app.models import SignInFailure
from tenants_app.models import Tenant

# Far longer than any rule looks back (15 minutes), short enough that the table stays small.
KEPT_FOR = timedelta(days=1)


def email_hash(*, tenant_id: str, email: str) -> str:
    return salted_hmac("hellojohn.sign_in_failure", f"{tenant_id}:{email}", algorithm="sha256").hexdigest()


def record_failure(*, tenant: Tenant, email: str, now: datetime | None = None) -> None:
    """`email` as typed; it is normalized the way sign-in looks users up (trimmed, lower case)."""
    SignInFailure.objects.create(tenant=tenant, email_hash=email_hash(tenant_id=tenant.id, email=email.strip().lower()),
                                 at=now or timezone.now())


def failures_since(*, tenant_id: str, email: str, since: datetime, until: datetime) -> int:
    """One indexed count (sign_in_failure_email)."""
    return SignInFailure.objects.filter(tenant_id=tenant_id, email_hash=email_hash(tenant_id=tenant_id, email=email),
                                        at__gte=since, at__lte=until).count()


def purge_failures(*, now: datetime | None = None) -> int:
    """Deletes failures older than KEPT_FOR; answers how many."""
    deleted, _ = SignInFailure.objects.filter(at__lt=(now or timezone.now()) - KEPT_FOR).delete()
    return deleted
