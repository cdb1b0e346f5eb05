"""Webhook signing secrets: generated, shown once, stored encrypted (Fernet) under HJ_ENCRYPTION_KEY.

The server must sign with the secret, so unlike API keys it cannot keep only a hash: it keeps a Fernet
token of it. `MultiFernet` encrypts with the first configured key and decrypts with any, so an
operator rotates the key by putting a new one first (and re-encrypts with `rotate_encryption`).
"""

import base64
import secrets
from datetime import datetime

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 32  # 256 bits


def generate_secret() -> str:
    """`whsec_` + standard base64 of 32 random bytes (the Standard Webhooks secret format)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _fernet() -> MultiFernet:
    # Built per call from settings: cheap, and a test's override_settings takes effect.
    return MultiFernet([Fernet(key.encode()) for key in settings.HJ_ENCRYPTION_KEYS])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def rotate_encryption(token: str) -> str:
    """The same secret encrypted under the first (newest) key."""
    return _fernet().rotate(token.encode()).decode()


def signing_secrets(*, secret_encrypted: str, previous_encrypted: str, previous_expires_at: datetime | None,
                    now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during the rotation overlap."""
    current = [decrypt(secret_encrypted)]
    if previous_encrypted and previous_expires_at is not None and previous_expires_at > now:
        current.append(decrypt(previous_encrypted))
    return current
