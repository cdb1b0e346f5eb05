"""Signing keys: the key that signs access tokens (the first created on demand), and rotation."""

from datetime import datetime, timedelta
from itertools import pairwise

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.utils import timezone

from sessions_app.models import Session, SigningKey
from sessions_app.tokens import AccessToken, encode_access_token
from tenants_app.models import ACCESS_TOKEN_TTL_RANGE


def _create_signing_key() -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    return SigningKey.objects.create(
        private_key_pem=private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        public_key_pem=private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
    )


def active_signing_key() -> SigningKey:
    """The newest unretired key; the first one is created on demand."""
    key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
    return key or _create_signing_key()


def issue_access_token(*, session: Session, ttl_seconds: int, now: datetime) -> AccessToken:
    """An access token for `session`, signed by the active key."""
    return encode_access_token(session=session, key=active_signing_key(), ttl_seconds=ttl_seconds, now=now)


@transaction.atomic
def rotate_signing_key() -> tuple[SigningKey, list[str]]:
    """Creates a new signing key and retires keys no unexpired token can still carry.

    A key stops signing when a newer key appears; tokens it signed live at most the largest
    access_token_ttl after that. Keys replaced longer ago than that are retired (dropped from the
    JWK Set); younger ones keep verifying, so a rotation never breaks a token in flight.
    """
    now = timezone.now()
    horizon = now - timedelta(seconds=ACCESS_TOKEN_TTL_RANGE[1])
    keys = list(SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at"))
    retired: list[str] = []
    # keys[i] was replaced when keys[i - 1] was created.
    for newer, older in pairwise(keys):
        if newer.created_at <= horizon:
            retired.append(older.id)
    SigningKey.objects.filter(pk__in=retired).update(retired_at=now)
    return _create_signing_key(), retired
