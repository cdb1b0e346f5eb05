"""Bearer secrets (API keys, refresh tokens): generation, at-rest hashing and comparison.

These secrets carry 256 bits of randomness, so a single SHA-256 is enough at rest: there is
nothing to brute-force, and a fast hash keeps the per-request lookup cheap. Passwords are a
different matter and use Argon2 (settings.PASSWORD_HASHERS).
"""

import hashlib
import hmac
import secrets


def generate(prefix: str) -> str:
    """`prefix` + 43 URL-safe characters (256 bits)."""
    return f"{prefix}{secrets.token_urlsafe(32)}"


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def matches(plaintext: str, stored_digest: str) -> bool:
    """Constant-time check that `plaintext` hashes to `stored_digest`."""
    return hmac.compare_digest(digest(plaintext), stored_digest)
