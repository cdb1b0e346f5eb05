"""`manage.py purge_events`: deletes events older than HJ_EVENT_RETENTION_DAYS."""

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sessions_app.event_retention import purge_events, purgeable_events
from sessions_app.services import retention_cutoff


class Command(BaseCommand):
    help = ("Deletes events older than HJ_EVENT_RETENTION_DAYS from the event log, in short batches that are "
            "safe to run while the service is serving.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch-size", type=int, default=5000, help="Events deleted per transaction.")
        parser.add_argument("--days", type=int, default=None,
                            help="Retention in days (default: HJ_EVENT_RETENTION_DAYS).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = settings.HJ_EVENT_RETENTION_DAYS if options["days"] is None else options["days"]
        if days < 0:
            raise CommandError("--days must be zero or more.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        cutoff = retention_cutoff(days=days)
        total = purgeable_events(cutoff=cutoff).count()
        with tqdm(total=total, unit="event", desc="dry run" if options["dry_run"] else "purging",
                  file=self.stderr, disable=total == 0) as bar:
            result = purge_events(cutoff=cutoff, batch_size=options["batch_size"], dry_run=options["dry_run"],
                                  progress=bar.update)
        verb = "Would delete" if result.dry_run else "Deleted"
        self.stdout.write(f"{verb} {result.events} events created before {result.cutoff:%Y-%m-%dT%H:%M:%SZ} "
                          f"({days} days of retention).")
