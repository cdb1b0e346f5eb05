"""Access tokens: encoding and verifying EdDSA (Ed25519) JWTs, and the JWK Set of the verifying keys.

Which key signs, and rotating keys, are writes: `services.signing_keys`.
"""

import base64
import binascii
import functools
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from jwt.algorithms import OKPAlgorithm
from ulid import ULID

from hellojohn_project import change_feed
from sessions_app.models import Session, SigningKey
from tenants_app.ids import is_valid_id

ALGORITHM = "EdDSA"
# How long verifiers and HTTP caches may keep the JWK Set (its Cache-Control max-age, seconds).
JWKS_MAX_AGE = 300
REQUIRED_CLAIMS = ("iss", "aud", "sub", "session_id", "tenant_id", "iat", "exp", "jti")


class InvalidAccessToken(Exception):
    """Bad format, signature, algorithm, key or claims."""


class ExpiredAccessToken(InvalidAccessToken):
    """Well-formed and correctly signed, but past `exp`."""


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: datetime


# Public keys by kid, with the time they were loaded. A key never changes once created, but it can
# be retired (on schedule by rotate_signing_key, or at once by an operator if it leaks). Under the
# change feed's lease (PostgreSQL) a key is remembered until the log says it changed; on SQLite a
# process re-reads a cached key after VERIFICATION_KEY_TTL; on PostgreSQL without a lease, every time.
VERIFICATION_KEY_TTL = 300.0
_verification_keys: dict[str, tuple[Ed25519PublicKey, float]] = {}
_remembered_keys = change_feed.Cache("verification keys", size=1000)
# Verified claims by a digest of the token (16 bytes, not the token: memory), until the token's exp
# or the log names its signing key (hellojohn_project/change_feed.py).
_verified = change_feed.Cache("verified tokens")


def encode_access_token(*, session: Session, key: SigningKey, ttl_seconds: int, now: datetime) -> AccessToken:
    """An access token for `session`, signed with `key`, valid for `ttl_seconds` from `now`."""
    expires_at = now + timedelta(seconds=ttl_seconds)
    claims = {
        "iss": settings.HJ_PUBLIC_URL,
        "aud": session.tenant_id,
        "sub": session.user_id,
        "session_id": session.id,
        "tenant_id": session.tenant_id,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": str(ULID()),
    }
    token = jwt.encode(claims, _private_key(key.private_key_pem), algorithm=ALGORITHM,
                       headers={"kid": key.id, "typ": "JWT"})
    return AccessToken(token=token, expires_at=expires_at.replace(microsecond=0))


@functools.lru_cache(maxsize=8)
def _private_key(pem: str) -> Ed25519PrivateKey:
    # Parsed once per key rather than on every token signed: PyJWT would parse the PEM each time
    # (a tenth of a millisecond of every sign-in and refresh). Which key signs is decided elsewhere
    # (services.signing_keys); a retired key's entry here only waits to be pushed out.
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _verification_key(kid: str, *, remembered: bool) -> Ed25519PublicKey | None:
    if remembered:
        key = _remembered_keys.get(kid)
        if key is not None:
            return key
    elif not change_feed.enabled():
        cached = _verification_keys.get(kid)
        if cached is not None and time.monotonic() - cached[1] < VERIFICATION_KEY_TTL:
            return cached[0]
    generation = change_feed.generation()
    row = SigningKey.objects.filter(pk=kid, retired_at__isnull=True).only("public_key_pem").first()
    if row is None:
        _verification_keys.pop(kid, None)
        return None
    key = serialization.load_pem_public_key(row.public_key_pem.encode())
    if remembered:
        _remembered_keys.put(kid, key, tags=[("signing_key", kid)], generation=generation,
                             expires_at=time.monotonic() + VERIFICATION_KEY_TTL * 12)
    else:
        _verification_keys[kid] = (key, time.monotonic())
    return key


def _unverified_header(token: str) -> dict[str, Any]:
    """The header, only to pick the key. Read here rather than with jwt.get_unverified_header, which
    decodes and validates the whole token once more before jwt.decode does it again: `make bench`
    measured that second pass at about a tenth of a request. jwt.decode still checks everything."""
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError, binascii.Error, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidAccessToken("malformed token") from exc
    if not isinstance(header, dict) or token.count(".") != 2:
        raise InvalidAccessToken("malformed token")
    return header


def decode_access_token(token: str, *, tenant_id: str | None = None, remembered: bool = False) -> dict[str, Any]:
    """Verified claims of `token`, or InvalidAccessToken / ExpiredAccessToken.

    With `tenant_id`, a token of any other tenant is InvalidAccessToken whether or not it has expired:
    expiry is checked only once the tenant matches, so nothing about another tenant's token shows
    (docs/api.md §9, "Verify"). With `remembered` (the caller holds the change feed's lease), a token
    verified before is not verified again: its claims come from memory, checked for tenant and
    expiry exactly as a fresh verification checks them.
    """
    digest = hashlib.blake2b(token.encode(), digest_size=16).digest() if remembered else b""
    claims = _verified.get(digest) if remembered else None
    if claims is None:
        generation = change_feed.generation()
        claims = _verify(token, remembered=remembered)
        if remembered:
            _verified.put(digest, claims, tags=[("signing_key", claims["_kid"])], generation=generation,
                          expires_at=time.monotonic() + (claims["exp"] - time.time()))
    if tenant_id is not None and claims["tenant_id"] != tenant_id:
        raise InvalidAccessToken("another tenant's token")  # say nothing more about it, not even expiry
    if claims["exp"] <= time.time():  # PyJWT's own rule, with no leeway
        raise ExpiredAccessToken("token expired")
    return claims


def _verify(token: str, *, remembered: bool) -> dict[str, Any]:
    """The signature and shape checks: claims (with the key id as `_kid`), or InvalidAccessToken."""
    header = _unverified_header(token)
    kid = header.get("kid")
    # The kid is read before any signature check, so it is only looked up when shaped like our key ids
    # (a NUL byte in it would otherwise reach PostgreSQL as an error, not a refusal).
    if header.get("alg") != ALGORITHM or not is_valid_id(kid, "key"):
        raise InvalidAccessToken("wrong algorithm or no key id")
    key = _verification_key(kid, remembered=remembered)
    if key is None:
        raise InvalidAccessToken("unknown key id")
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], issuer=settings.HJ_PUBLIC_URL,
            options={"require": list(REQUIRED_CLAIMS), "verify_aud": False, "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(str(exc)) from exc
    if not all(isinstance(claims[name], str) for name in ("aud", "sub", "session_id", "tenant_id")):
        raise InvalidAccessToken("claims of the wrong type")
    # The audience is the tenant the token was issued for; it must agree with the tenant claim.
    if claims["aud"] != claims["tenant_id"]:
        raise InvalidAccessToken("audience does not match tenant")
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise InvalidAccessToken("exp is not a number")
    return {**claims, "_kid": kid}


def public_jwks() -> dict[str, Any]:
    """Every unretired public key as a JWK Set (RFC 7517), newest first: keys not signing yet included."""
    keys = []
    for row in SigningKey.objects.filter(retired_at__isnull=True).order_by("-activates_at", "-created_at"):
        public_key = serialization.load_pem_public_key(row.public_key_pem.encode())
        jwk = json.loads(OKPAlgorithm.to_jwk(public_key))
        keys.append({**jwk, "kid": row.id, "alg": ALGORITHM, "use": "sig"})
    return {"keys": keys}
