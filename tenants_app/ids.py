"""Public identifiers: `<prefix>_<ULID>` (`docs/api.md` section 3). Ids are handles, never secrets."""

import re

from ulid import ULID

# 26 Crockford base32 characters; the first is at most 7 because a ULID is 128 bits.
_ULID = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"
ID_LENGTH = 31  # the longest prefix ("tnt_") is four characters


def new_id(prefix: str) -> str:
    return f"{prefix}_{ULID()}"


def is_valid_id(value: object, prefix: str) -> bool:
    return isinstance(value, str) and re.fullmatch(f"{prefix}_{_ULID}", value) is not None


# Module-level callables so that migrations can reference them as field defaults.
def new_tenant_id() -> str:
    return new_id("tnt")


def new_user_id() -> str:
    return new_id("usr")


def new_key_id() -> str:
    return new_id("key")
