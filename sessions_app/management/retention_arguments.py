"""The arguments `purge_sessions` and `purge_events` share: a retention in days, a batch size, a dry run."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

# A century: further back than any row, and well inside what a datetime can subtract (a million days is not).
MAX_DAYS = 36_500


def add_retention_arguments(parser: ArgumentParser, *, rows: str, batch_size: int, setting: str) -> None:
    parser.add_argument("--batch-size", type=int, default=batch_size, help=f"{rows} deleted per transaction.")
    parser.add_argument("--days", type=int, default=None, help=f"Retention in days (default: {setting}).")
    parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")


def retention_days(options: dict[str, Any], *, default: int) -> int:
    """The checked `--days` (or `default`); also checks `--batch-size`."""
    days = default if options["days"] is None else options["days"]
    if not 0 <= days <= MAX_DAYS:
        raise CommandError(f"--days must be from 0 to {MAX_DAYS}.")
    if options["batch_size"] < 1:
        raise CommandError("--batch-size must be at least 1.")
    return days
