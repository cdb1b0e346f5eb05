"""`manage.py create_tenant NAME [--slug S] [--mode live|test] [--json]`: a tenant and its first keys."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants_app.models import ApiKey, Tenant
from tenants_app.services import create_tenant


class Command(BaseCommand):
    help = "Creates a tenant with one secret and one publishable key, and prints the keys once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--slug")
        parser.add_argument("--mode", choices=ApiKey.Mode.values, default=ApiKey.Mode.LIVE)
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["slug"] and Tenant.objects.filter(slug=options["slug"]).exists():
            raise CommandError(f"A tenant with slug {options['slug']!r} already exists.")
        created = create_tenant(name=options["name"], slug=options["slug"], mode=options["mode"])
        result = {
            "tenant_id": created.tenant.id,
            "tenant_slug": created.tenant.slug,
            "secret_key": created.secret_key.plaintext,
            "publishable_key": created.publishable_key.plaintext,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"Tenant {created.tenant.name}: {created.tenant.id} (slug {created.tenant.slug})")
        self.stdout.write(f"Secret key:      {result['secret_key']}")
        self.stdout.write(f"Publishable key: {result['publishable_key']}")
        self.stdout.write(self.style.WARNING("The keys are shown only now; only their hashes are stored."))
