"""`manage.py rotate_signing_key`: a new key is published now and signs once verifiers have it."""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from sessions_app.services import PUBLICATION_LEAD, rotate_signing_key


class Command(BaseCommand):
    help = (f"Publishes a new access-token signing key, which starts signing {int(PUBLICATION_LEAD.total_seconds())} "
            "seconds later, and retires keys whose tokens have all expired.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        key, retired = rotate_signing_key(now=now)
        self.stdout.write(f"New signing key: {key.id}")
        if key.activates_at > now:
            seconds = int((key.activates_at - now).total_seconds())
            self.stdout.write(f"Published in the JWK Set now; signs from {key.activates_at.isoformat()} "
                              f"(in {seconds} s), once verifiers' cached key sets hold it.")
        else:
            self.stdout.write("Signs from now (no key signed before it).")
        self.stdout.write(f"Retired: {', '.join(retired) if retired else 'none'}")
