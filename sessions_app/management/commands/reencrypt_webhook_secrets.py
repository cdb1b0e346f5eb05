"""Re-encrypts every webhook signing secret under the first HJ_ENCRYPTION_KEY, so older keys can be dropped."""

from typing import Any

from django.core.management.base import BaseCommand

from sessions_app.webhooks.services import reencrypt_secrets


class Command(BaseCommand):
    help = "Re-encrypt webhook signing secrets under the first HJ_ENCRYPTION_KEY (after putting a new key first)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = reencrypt_secrets()
        self.stdout.write(f"Re-encrypted the signing secrets of {count} webhook endpoint(s).")
