"""`manage.py seed_demo [--json]`: a ready demo tenant "Acme", its users and devices, and an operator.

Safe to re-run: each run issues fresh keys (revoking the previous ones) and fresh passwords.
"""

import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from hellojohn_project import operator_mfa
from sessions_app import services
from sessions_app.device import describe_device
from tenants_app.models import ApiKey, Tenant, User
from tenants_app.origins import normalize_origins
from tenants_app.services import create_tenant, issue_api_key, revoke_api_key, update_tenant_config

DEMO_USERS = [("alice@example.com", "Alice Liddell"), ("bob@example.com", "Bob Martin")]
OPERATOR_USERNAME = "operator"
# Alice is already signed in on three devices, so the page and the admin have something to show.
DEMO_DEVICES = [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Mobile/15E148 Safari/604.1", "81.2.69.142"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", "8.8.8.8"),
    ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1", "1.1.1.1"),
]


def demo_origins() -> list[str]:
    """The demo's local origin (HJ_PUBLIC_URL), under both loopback names a browser may use."""
    public = urlsplit(settings.HJ_PUBLIC_URL)
    origins = [f"{public.scheme}://{public.netloc}"]
    for a, b in (("127.0.0.1", "localhost"), ("localhost", "127.0.0.1")):
        if public.hostname == a:
            origins.append(f"{public.scheme}://{public.netloc.replace(a, b)}")
    return normalize_origins(origins)


def _password() -> str:
    return secrets.token_urlsafe(12)


class Command(BaseCommand):
    help = "Creates (or refreshes) the demo tenant Acme with users, devices and an admin operator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print exactly one JSON object.")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug="acme").first()
        if tenant is None:
            created = create_tenant(name="Acme", slug="acme")
            tenant, secret_key, publishable_key = created.tenant, created.secret_key, created.publishable_key
        else:
            for api_key in tenant.api_keys.filter(revoked_at__isnull=True):
                revoke_api_key(api_key=api_key)
            secret_key = issue_api_key(tenant=tenant, kind=ApiKey.Kind.SECRET)
            publishable_key = issue_api_key(tenant=tenant, kind=ApiKey.Kind.PUBLISHABLE)
        # The demo's own origin may call the publishable-key and access-token routes from a page's fetch().
        update_tenant_config(tenant=tenant, changes={"allowed_origins": demo_origins()})

        users = []
        for email, name in DEMO_USERS:
            password = _password()
            user = User.objects.filter(tenant=tenant, email=email).first()
            if user is None:
                user = services.create_user(tenant=tenant, email=email, password=password, name=name)
            else:
                # A new password signs the user out everywhere, as it would for a real user.
                services.update_user(user=user, actor=services.SYSTEM, password=password, status=User.Status.ACTIVE)
            if email == DEMO_USERS[0][0]:
                for user_agent, ip in DEMO_DEVICES:
                    services.start_session(user=user, device=describe_device(user_agent=user_agent, ip_address=ip))
            users.append({"id": user.id, "email": email, "password": password})

        operator_password = _password()
        operator = get_user_model().objects.filter(username=OPERATOR_USERNAME).first()
        if operator is None:
            operator = get_user_model().objects.create_superuser(OPERATOR_USERNAME, "operator@example.com",
                                                                 operator_password)
        else:
            operator.set_password(operator_password)
            operator.is_staff = operator.is_superuser = operator.is_active = True
            operator.save()

        # With MFA required the demo operator needs a second factor to sign in: a fresh one, printed.
        mfa: dict[str, Any] = {}
        if operator_mfa.mfa_required():
            uri, secret, codes = operator_mfa.reset_second_factor(operator=operator)
            mfa = {"totp_uri": uri, "totp_secret": secret, "recovery_code": codes[0]}

        result = {
            "tenant_id": tenant.id,
            "tenant_slug": tenant.slug,
            "secret_key": secret_key.plaintext,
            "publishable_key": publishable_key.plaintext,
            "users": users,
            "operator": {"username": OPERATOR_USERNAME, "password": operator_password, **mfa},
            "base_url": settings.HJ_PUBLIC_URL,
            "allowed_origins": demo_origins(),
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        base = settings.HJ_PUBLIC_URL
        self.stdout.write(self.style.SUCCESS("Demo ready: tenant Acme"))
        self.stdout.write(f"  X-Tenant-ID:      {tenant.id}")
        self.stdout.write(f"  Secret key:       {secret_key.plaintext}")
        self.stdout.write(f"  Publishable key:  {publishable_key.plaintext}")
        for user in users:
            self.stdout.write(f"  End user:         {user['email']} / {user['password']}  ({user['id']})")
        self.stdout.write(f"  Sessions page:    {base}/t/{tenant.slug}/sessions")
        self.stdout.write(f"  Admin:            {base}/admin/  as {OPERATOR_USERNAME} / {operator_password}")
        if mfa:
            self.stdout.write(f"  Operator TOTP:    {mfa['totp_uri']}")
            self.stdout.write(f"                    (key {mfa['totp_secret']}; or one recovery code: "
                              f"{mfa['recovery_code']})")
        self.stdout.write(f"  API reference:    {base}/docs/")
        self.stdout.write(f"  Allowed origins:  {', '.join(demo_origins())}  (CORS, for a page's fetch())")
