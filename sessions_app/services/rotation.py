"""A refresh rotation: find the presented token and, if it may be rotated, retire it for a successor.

`rotate` is the only code that writes a rotation, and it alone chooses how, by database. It writes
only when every rule of a rotation holds at the moment of the write: the token is the tenant's, an
API token, unretired and unexpired; its session is unrevoked, not past `expires_at`, not idle past
the tenant's `idle_timeout` (`Session.status_at`), and its user is active. When nothing was written
the caller explains why from the rows as read (services/refresh.py), by the same rules in Python;
a write that found a rule broken which the read did not (a revocation or a racing rotation that
committed in between) is told apart by `Rotation.retired_meanwhile` and by "every rule held".

- **PostgreSQL**: one statement for the whole rotation, lookup included: a data-modifying WITH list
  put before the token lookup's own SELECT (a `PrecompiledLookup`), because the ORM cannot chain
  writes in one statement and a rotation is a hot path (README "Performance", section 4).
  `presented` locks the token row by its digest (`FOR UPDATE`); under READ COMMITTED a racing
  rotation waits for the winner's commit, then reads the row's newest version, finds it retired and
  writes nothing. `touched` is an UPDATE of the session whose WHERE holds the rules above;
  PostgreSQL re-evaluates it on the newest row version after waiting for a concurrent revocation's
  lock, so that revocation shows up as no row. Only then is the successor's id drawn, the token
  retired with its link and the successor inserted. The link's foreign key is deferred (Django's
  default on PostgreSQL), so it may name the row inserted by the same statement. Locks are taken
  token first, session second, as everywhere else. The SELECT after the WITH list sees the rows as
  they were when the statement began (PostgreSQL's rule for data-modifying WITH), which is what the
  caller's explanation reads; its two annotations say what the WITH list found and wrote.
- **SQLite** runs no DML in a WITH list: the lookup is its own query, then the writes are three
  statements in one transaction, which `BEGIN IMMEDIATE` (the project's transaction mode)
  serialises with every other writer. The successor is inserted first (SQLite draws its id), the
  token retired and the session touched under the same rules (`active_q`, the ORM's spelling of
  `status_at`), and when either finds no row the whole transaction is rolled back.

The rules are spelled in SQL here and in Python in `Session.status_at` and refresh.py;
`tests/rules/test_refresh_rotation.py` runs every rule's case, at its boundary, on both databases
and checks that, with nothing else writing meanwhile, nothing is written exactly when the Python
rules refuse. (With writes meanwhile the write's newer view decides: a session another request
touched after the read is rotated, though the rows as read looked idle.)

`_rotating_lookup` is usable only after `_WITH`: its annotations read the WITH list's names.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from sessions_app.models import CredentialKind, RefreshToken, Session, active_q, idle_cutoff
from sessions_app.orm_internals import PrecompiledLookup
from sessions_app.selectors import idle_timeout_of, refresh_token_for
from tenants_app import secrets
from tenants_app.models import Tenant, User

# Positional parameters, in order: digest; now, kind, now, tenant, now, idle cutoff, user status;
# now; successor digest, kind, now. The lookup's own digest follows.
_WITH = """
WITH presented AS (
    SELECT id, session_id, retired_at, kind, expires_at FROM sessions_app_refreshtoken
    WHERE token_hash = %s FOR UPDATE
), touched AS (
    UPDATE sessions_app_session SET last_active_at = %s
    WHERE id = (SELECT session_id FROM presented WHERE retired_at IS NULL AND kind = %s AND expires_at > %s)
      AND tenant_id = %s AND revoked_at IS NULL AND expires_at > %s
      AND last_active_at > %s
      AND EXISTS (SELECT 1 FROM tenants_app_user WHERE id = sessions_app_session.user_id AND status = %s)
    RETURNING id, expires_at
), successor AS (
    SELECT nextval(pg_get_serial_sequence('sessions_app_refreshtoken', 'id')) AS id FROM touched
), retired AS (
    UPDATE sessions_app_refreshtoken SET retired_at = %s, replaced_by_id = (SELECT id FROM successor)
    WHERE id = (SELECT id FROM presented) AND EXISTS (SELECT 1 FROM successor)
    RETURNING replaced_by_id
), inserted AS (
    INSERT INTO sessions_app_refreshtoken (id, session_id, token_hash, kind, created_at, expires_at)
    SELECT retired.replaced_by_id, touched.id, %s, %s, %s, touched.expires_at FROM retired, touched
    RETURNING id
)
"""

_NO_IDLE_CUTOFF = datetime.min.replace(tzinfo=UTC)

# The token by its digest with its session and user (the tenant is the caller's, compared below),
# and what the WITH list found (the token's newest row version, read under its lock) and wrote.
_rotating_lookup = PrecompiledLookup(
    lambda digest: RefreshToken.objects.select_related("session__user").filter(token_hash=digest).order_by().annotate(
        retired_when_locked=RawSQL("(SELECT retired_at IS NOT NULL FROM presented)", ()),
        successor_pk=RawSQL("(SELECT id FROM inserted)", ()),
    ),
    placeholder="0" * 64,
)


@dataclass(frozen=True)
class Rotation:
    """What `rotate` found and did.

    `token`: the presented token as read, with its session, the session's user and tenant; None when
    the tenant has no such token. `successor`: the new token when every rule held and it was written
    (else None: nothing was written). `retired_meanwhile`: the token was found retired by the write
    though the read saw it unretired (a racing rotation won)."""

    token: RefreshToken | None
    successor: RefreshToken | None
    retired_meanwhile: bool = False


class _Undone(Exception):
    """Rolls the SQLite transaction back; never leaves this module."""

    def __init__(self, retired: bool) -> None:
        self.retired = retired


def rotate(*, tenant: Tenant, presented: str, successor_hash: str, now: datetime) -> Rotation:
    """Rotates the refresh token `presented` within `tenant` at `now` when the rules allow it, for a
    successor stored as `successor_hash` (an API token expiring with its session); see the module
    docstring."""
    if connection.vendor == "postgresql":
        return _rotate_postgresql(tenant, presented, successor_hash, now)
    return _rotate_sqlite(tenant, presented, successor_hash, now)


def _rotate_postgresql(tenant: Tenant, presented: str, successor_hash: str, now: datetime) -> Rotation:
    idle_timeout = idle_timeout_of(getattr(tenant, "config", None))
    # Without an idle timeout, the beginning of time: one parameter type either way, so psycopg
    # prepares one statement for every tenant (it keys a statement by its parameters' types too).
    cutoff = idle_cutoff(now, idle_timeout) if idle_timeout is not None else _NO_IDLE_CUTOFF
    digest = secrets.digest(presented)
    record = _rotating_lookup.first(digest, with_clause=_WITH, with_params=(
        digest, now, CredentialKind.API, now, tenant.id, now, cutoff, User.Status.ACTIVE, now,
        successor_hash, CredentialKind.API, now,
    ))
    # The write names the tenant; the lookup matched on the digest, and the constant-time comparison
    # makes the final decision (as selectors.refresh_token_for does).
    if record is None or record.session.tenant_id != tenant.id or not secrets.matches(presented, record.token_hash):
        return Rotation(token=None, successor=None)
    record.session.tenant = record.session.user.tenant = tenant
    if record.successor_pk is None:
        return Rotation(token=record, successor=None,
                        retired_meanwhile=bool(record.retired_when_locked) and record.retired_at is None)
    successor = RefreshToken(pk=record.successor_pk, session=record.session, token_hash=successor_hash,
                             kind=CredentialKind.API, created_at=now, expires_at=record.session.expires_at)
    successor._state.adding = False
    return Rotation(token=record, successor=successor)


def _rotate_sqlite(tenant: Tenant, presented: str, successor_hash: str, now: datetime) -> Rotation:
    record = refresh_token_for(tenant=tenant, token=presented)
    if record is None:
        return Rotation(token=None, successor=None)
    session = record.session
    # The rules' tenant is the caller's, as on PostgreSQL: the writes' filters and the caller's
    # explanation then read one config.
    session.tenant = session.user.tenant = tenant
    successor = RefreshToken(session=session, token_hash=successor_hash, kind=CredentialKind.API,
                             created_at=now, expires_at=session.expires_at)
    usable = active_q(now=now, idle_timeout=idle_timeout_of(getattr(tenant, "config", None)))
    try:
        with transaction.atomic():
            successor.save(force_insert=True)
            won = bool(RefreshToken.objects.filter(pk=record.pk, retired_at__isnull=True, kind=CredentialKind.API,
                                                   expires_at__gt=now)
                       .update(retired_at=now, replaced_by=successor))
            if not won or not (Session.objects.filter(usable, pk=session.pk, tenant_id=tenant.id,
                                                      user__status=User.Status.ACTIVE)
                               .update(last_active_at=now)):
                raise _Undone(retired=not won and RefreshToken.objects.filter(
                    pk=record.pk, retired_at__isnull=False).exists())
    except _Undone as undone:
        return Rotation(token=record, successor=None,
                        retired_meanwhile=undone.retired and record.retired_at is None)
    return Rotation(token=record, successor=successor)
