"""`manage.py purge_sessions`: deletes sessions that ended more than HJ_SESSION_RETENTION_DAYS ago."""

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from sessions_app.management.retention_arguments import add_retention_arguments, retention_days
from sessions_app.services import purge_sessions, purgeable_sessions, retention_cutoff


class Command(BaseCommand):
    help = ("Deletes sessions revoked or expired more than HJ_SESSION_RETENTION_DAYS ago, with their refresh "
            "tokens, in short batches that are safe to run while the service is serving.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_retention_arguments(parser, rows="Sessions", batch_size=1000, setting="HJ_SESSION_RETENTION_DAYS")

    def handle(self, *args: Any, **options: Any) -> None:
        days = retention_days(options, default=settings.HJ_SESSION_RETENTION_DAYS)
        cutoff = retention_cutoff(days=days)
        total = purgeable_sessions(cutoff=cutoff).count()
        with tqdm(total=total, unit="session", desc="dry run" if options["dry_run"] else "purging",
                  file=self.stderr, disable=total == 0) as bar:
            result = purge_sessions(cutoff=cutoff, batch_size=options["batch_size"], dry_run=options["dry_run"],
                                    progress=bar.update)
        verb = "Would delete" if result.dry_run else "Deleted"
        self.stdout.write(f"{verb} {result.sessions} sessions and {result.refresh_tokens} refresh tokens "
                          f"that ended before {result.cutoff:%Y-%m-%dT%H:%M:%SZ} ({days} days of retention).")
