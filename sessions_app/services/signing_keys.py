"""Signing keys: the key that signs access tokens (the first created on demand), rotation and withdrawal."""

import time
from datetime import datetime, timedelta
from itertools import pairwise

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.utils import timezone

from hellojohn_project import change_feed
from sessions_app.exceptions import SigningKeyNotFound
from sessions_app.models import Session, SigningKey
from sessions_app.tokens import JWKS_MAX_AGE, AccessToken, encode_access_token
from tenants_app.models import ACCESS_TOKEN_TTL_RANGE

# A rotated-in key is published this long before it signs: twice the JWK Set's cache lifetime, so that
# a verifier that cached the set (for up to max-age) behind an HTTP cache that did too has it by then.
PUBLICATION_LEAD = timedelta(seconds=2 * JWKS_MAX_AGE)


def _create_signing_key(*, activates_at: datetime) -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    return SigningKey.objects.create(
        private_key_pem=private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        public_key_pem=private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        activates_at=activates_at,
    )


# Under the change feed's lease (PostgreSQL), the unretired keys, newest activation first, so that
# signing an access token (every sign-in and refresh) reads no key. Retiring, withdrawing or
# activating a key early is in the change log and drops the list before the change's call returns.
# A key rotated in is not (inserts are not logged), so the list lives less than PUBLICATION_LEAD:
# it holds the new key before the key's activation comes, and the key is chosen by its
# activates_at at each signing, as the query below chooses it. Like every cache of the change
# feed it cannot see a TRUNCATE, which no row trigger logs.
_unretired_keys = change_feed.Cache("signing keys", size=1)
REMEMBERED_KEYS = PUBLICATION_LEAD / 4


def forget_signing_keys() -> None:
    """Drops the remembered keys: for a database emptied by TRUNCATE (the test suite's flush), which no
    trigger logs."""
    _unretired_keys.discard("unretired")


def _remembered_signing_key(now: datetime) -> SigningKey | None:
    remembered = _unretired_keys.get("unretired")
    # Aged on the clock that chooses the key too (and on the monotonic one, by the cache).
    if remembered is None or abs(now - remembered[0]) >= REMEMBERED_KEYS:
        generation = change_feed.generation()
        keys = list(SigningKey.objects.filter(retired_at__isnull=True).order_by("-activates_at", "-created_at"))
        remembered = (now, keys)
        _unretired_keys.put("unretired", remembered, tags=[("signing_key", key.id) for key in keys],
                            generation=generation, expires_at=time.monotonic() + REMEMBERED_KEYS.total_seconds())
    signing = next((key for key in remembered[1] if key.activates_at <= now), None)
    if signing is None:
        _unretired_keys.discard("unretired")  # the query below decides, and may create a key
    return signing


def active_signing_key(*, now: datetime | None = None) -> SigningKey:
    """The newest unretired key whose activation has come; one is created on demand when none has.

    A key created on demand signs at once: no key signs (the installation is new, or the signing
    key was withdrawn), so there is no token a caching verifier could be holding a stale set for.
    """
    now = now or timezone.now()
    if change_feed.lease_held() and (remembered := _remembered_signing_key(now)) is not None:
        return remembered
    key = (SigningKey.objects.filter(retired_at__isnull=True, activates_at__lte=now)
           .order_by("-activates_at", "-created_at").first())
    return key or _create_signing_key(activates_at=now)


def issue_access_token(*, session: Session, ttl_seconds: int, now: datetime) -> AccessToken:
    """An access token for `session`, signed by the active key."""
    return encode_access_token(session=session, key=active_signing_key(now=now), ttl_seconds=ttl_seconds, now=now)


@transaction.atomic
def rotate_signing_key(*, now: datetime | None = None) -> tuple[SigningKey, list[str]]:
    """Publishes a new signing key that signs from PUBLICATION_LEAD on; retires keys no token can carry.

    The new key is in the JWK Set at once and signs only after the lead, so verifiers that cached the
    set before the rotation never meet a token signed by a key they do not have (docs/api.md §11). A
    key stops signing when a newer key activates; tokens it signed live at most the largest
    access_token_ttl after that. Keys replaced longer ago than that are retired (dropped from the JWK
    Set); younger ones keep verifying, so a rotation never breaks a token in flight. With no key at
    all yet, the new key signs at once (nothing can be holding a set without it).
    """
    now = now or timezone.now()
    horizon = now - timedelta(seconds=ACCESS_TOKEN_TTL_RANGE[1])
    keys = list(SigningKey.objects.filter(retired_at__isnull=True).order_by("-activates_at", "-created_at"))
    retired: list[str] = []
    # keys[i] was replaced when keys[i - 1] activated.
    for newer, older in pairwise(keys):
        if newer.activates_at <= horizon:
            retired.append(older.id)
    SigningKey.objects.filter(pk__in=retired).update(retired_at=now)
    return _create_signing_key(activates_at=now + PUBLICATION_LEAD if keys else now), retired


@transaction.atomic
def withdraw_signing_key(*, key_id: str, now: datetime | None = None) -> SigningKey | None:
    """Retires `key_id` at once (it leaked, say): it leaves the JWK Set and its tokens stop verifying.

    Answers the key that signs from now on, if one does (else the next token creates one). On
    PostgreSQL every process has dropped the key before this returns (hellojohn_project/change_feed.py);
    on SQLite a process re-reads the keys it has cached within tokens.VERIFICATION_KEY_TTL. When the
    withdrawn key was the only one signing while a rotated-in key waits for its activation, that key
    signs from now on: it is already in the JWK Set, so verifiers that fetched the set since the
    rotation have it, where a key created on demand would be in no cached set at all.
    """
    now = now or timezone.now()
    if not SigningKey.objects.filter(pk=key_id, retired_at__isnull=True).update(retired_at=now):
        raise SigningKeyNotFound(key_id)
    unretired = SigningKey.objects.filter(retired_at__isnull=True).order_by("-activates_at", "-created_at")
    signing = unretired.filter(activates_at__lte=now).first()
    if signing is None and (waiting := unretired.filter(activates_at__gt=now).last()) is not None:
        # The earliest-published waiting key: the one verifiers have had longest.
        SigningKey.objects.filter(pk=waiting.pk).update(activates_at=now)
        waiting.activates_at = now
        signing = waiting
    change_feed.after_change()  # its tokens stop verifying in every process before this returns
    return signing
