"""`manage.py rotate_signing_key`: a new key signs from now on; old keys verify until their tokens expire."""

from typing import Any

from django.core.management.base import BaseCommand

from sessions_app.services import rotate_signing_key


class Command(BaseCommand):
    help = "Creates a new access-token signing key and retires keys whose tokens have all expired."

    def handle(self, *args: Any, **options: Any) -> None:
        key, retired = rotate_signing_key()
        self.stdout.write(f"New signing key: {key.id}")
        self.stdout.write(f"Retired: {', '.join(retired) if retired else 'none'}")
