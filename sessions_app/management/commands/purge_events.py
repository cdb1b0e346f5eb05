"""`manage.py purge_events`: deletes events older than HJ_EVENT_RETENTION_DAYS."""

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from sessions_app.event_retention import purge_events, purgeable_events
from sessions_app.management.retention_arguments import add_retention_arguments, retention_days
from sessions_app.services import retention_cutoff


class Command(BaseCommand):
    help = ("Deletes events older than HJ_EVENT_RETENTION_DAYS from the event log, in short batches that are "
            "safe to run while the service is serving.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_retention_arguments(parser, rows="Events", batch_size=5000, setting="HJ_EVENT_RETENTION_DAYS")

    def handle(self, *args: Any, **options: Any) -> None:
        days = retention_days(options, default=settings.HJ_EVENT_RETENTION_DAYS)
        cutoff = retention_cutoff(days=days)
        total = purgeable_events(cutoff=cutoff).count()
        with tqdm(total=total, unit="event", desc="dry run" if options["dry_run"] else "purging",
                  file=self.stderr, disable=total == 0) as bar:
            result = purge_events(cutoff=cutoff, batch_size=options["batch_size"], dry_run=options["dry_run"],
                                  progress=bar.update)
        verb = "Would delete" if result.dry_run else "Deleted"
        self.stdout.write(f"{verb} {result.events} events created before {result.cutoff:%Y-%m-%dT%H:%M:%SZ} "
                          f"({days} days of retention).")
