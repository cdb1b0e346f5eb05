"""`manage.py create_api_key --tenant tnt_… --kind secret|publishable [--mode live|test] [--json]`."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants_app.models import ApiKey, Tenant
from tenants_app.services import issue_api_key


class Command(BaseCommand):
    help = "Creates an API key for a tenant and prints it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's id (tnt_…).")
        parser.add_argument("--kind", required=True, choices=ApiKey.Kind.values)
        parser.add_argument("--mode", choices=ApiKey.Mode.values, default=ApiKey.Mode.LIVE)
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(pk=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']}.")
        issued = issue_api_key(tenant=tenant, kind=options["kind"], mode=options["mode"])
        if options["json"]:
            self.stdout.write(json.dumps({"id": issued.api_key.id, "tenant_id": tenant.id, "kind": issued.api_key.kind,
                                          "mode": issued.api_key.mode, "key": issued.plaintext}))
            return
        self.stdout.write(f"{issued.api_key.kind} key {issued.api_key.id} for {tenant.id}: {issued.plaintext}")
        self.stdout.write(self.style.WARNING("The key is shown only now; only its hash is stored."))
