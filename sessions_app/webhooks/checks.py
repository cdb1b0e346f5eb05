"""System checks: every HJ_ENCRYPTION_KEY is a Fernet key and every HJ_WEBHOOK_ALLOWED_NETWORKS entry a
CIDR, so a typo stops `check`, `migrate` and the worker at start instead of answering 500 to
POST /v1/webhooks (docs/api.md, "Webhooks")."""

import ipaddress
from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def encryption_keys_valid(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    problems: list[checks.CheckMessage] = []
    for index, key in enumerate(settings.HJ_ENCRYPTION_KEYS):
        try:
            Fernet(key.encode() if isinstance(key, str) else key)
        except (ValueError, TypeError):
            problems.append(checks.Error(
                f"HJ_ENCRYPTION_KEY entry {index} is not a Fernet key: webhook secrets cannot be encrypted "
                "or decrypted with it.",
                hint="Each entry is 32 random bytes in URL-safe base64, e.g. the output of "
                     "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`.",
                id="hj.E001",
            ))
    return problems


@checks.register(checks.Tags.security)
def allowed_networks_valid(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    problems: list[checks.CheckMessage] = []
    for cidr in settings.HJ_WEBHOOK_ALLOWED_NETWORKS:
        try:
            if cidr.strip():
                ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            problems.append(checks.Error(
                f"HJ_WEBHOOK_ALLOWED_NETWORKS entry {cidr!r} is not a network: every webhook URL check would fail.",
                hint="Comma-separated CIDRs such as 127.0.0.0/8,::1/128.",
                id="hj.E002",
            ))
    return problems
