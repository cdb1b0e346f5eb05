"""`manage.py withdraw_signing_key key_…`: a leaked key leaves the JWK Set and stops verifying at once."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from sessions_app.exceptions import SigningKeyNotFound
from sessions_app.services import withdraw_signing_key
from sessions_app.tokens import VERIFICATION_KEY_TTL


class Command(BaseCommand):
    help = ("Retires a signing key at once (it leaked): on PostgreSQL its tokens stop verifying in every "
            "process before the command returns; on SQLite within five minutes.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_id", help="the key's id, key_…, as in a token's kid")

    def handle(self, *args: Any, key_id: str, **options: Any) -> None:
        try:
            signing = withdraw_signing_key(key_id=key_id)
        except SigningKeyNotFound as exc:
            raise CommandError(f"No unretired signing key {key_id}.") from exc
        if connection.vendor == "postgresql":
            # withdraw_signing_key returned once every process had read the change (change_feed).
            self.stdout.write(f"Withdrawn: {key_id}. Every process refuses its tokens now; users whose "
                              "access token it signed refresh.")
        else:
            self.stdout.write(f"Withdrawn: {key_id}. Every process refuses its tokens within "
                              f"{int(VERIFICATION_KEY_TTL)} s; users whose access token it signed refresh.")
        if signing is None:
            self.stdout.write("No key signs now: the next token creates a new key, which signs at once "
                              "(verifiers that cached the key set refetch it when they meet its id).")
        else:
            self.stdout.write(f"Signing now: {signing.id}")
