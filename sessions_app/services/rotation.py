"""The write of a refresh rotation: retire the presented token, record the session's use, store its successor.

`rotate` is the only code that writes a rotation, and it alone chooses how, by database. The caller
has already checked the token and its session as loaded (services/refresh.py); what can change
since that read is re-checked here, in the writing statement itself: the token still unretired
(of two refreshes racing with one token exactly one wins) and the session still unrevoked (a
revocation that commits meanwhile gets no successor issued). Expiry needs no re-check: expires_at
never moves and last_active_at only advances.

- **PostgreSQL**: one statement, a data-modifying CTE, written as raw SQL because the ORM cannot
  chain writes in one statement (and a rotation is a hot path: README "Performance", section 4).
  `presented` locks the token row (`FOR UPDATE`); under READ COMMITTED a racing rotation waits for
  the winner's commit and then re-reads the row, finds it retired and gets nothing. `touched` is
  an UPDATE of the session whose WHERE PostgreSQL re-evaluates on the newest row version after
  waiting for a concurrent revocation's lock, so that revocation shows up as no row. Only then is
  the successor's id drawn, the token retired with its link and the successor inserted. The
  link's foreign key is deferred (Django's default on PostgreSQL), so it may name the row inserted
  by the same statement. Locks are taken token first, session second, as before.
- **SQLite** runs no DML in a CTE, so the same writes are three statements in one transaction,
  which `BEGIN IMMEDIATE` (the project's transaction mode) serialises with every other writer: no
  re-check can be raced there. The successor is inserted first (SQLite draws its id), and when
  the token was already retired or the session revoked the whole transaction is rolled back.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from sessions_app.models import CredentialKind, RefreshToken, Session

_POSTGRESQL = """
WITH presented AS (
    SELECT id FROM sessions_app_refreshtoken WHERE id = %(token)s AND retired_at IS NULL FOR UPDATE
), touched AS (
    UPDATE sessions_app_session SET last_active_at = %(now)s
    WHERE id = %(session)s AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM presented)
    RETURNING id
), successor AS (
    SELECT nextval(pg_get_serial_sequence('sessions_app_refreshtoken', 'id')) AS id FROM touched
), retired AS (
    UPDATE sessions_app_refreshtoken SET retired_at = %(now)s, replaced_by_id = (SELECT id FROM successor)
    WHERE id IN (SELECT id FROM presented) AND EXISTS (SELECT 1 FROM successor)
    RETURNING replaced_by_id
), inserted AS (
    INSERT INTO sessions_app_refreshtoken (id, session_id, token_hash, kind, created_at, expires_at)
    SELECT replaced_by_id, %(session)s, %(hash)s, %(kind)s, %(now)s, %(expires)s FROM retired
    RETURNING id
)
SELECT EXISTS (SELECT 1 FROM presented), EXISTS (SELECT 1 FROM touched), (SELECT id FROM inserted)
"""


@dataclass(frozen=True)
class Rotation:
    """What the write found: `won` the token was still unretired, `active` the session unrevoked;
    `successor` the new token's record when both held (else None: nothing was written)."""

    won: bool
    active: bool
    successor: RefreshToken | None


class _Undone(Exception):
    """Rolls the SQLite transaction back; never leaves this module."""

    def __init__(self, won: bool) -> None:
        self.won = won


def rotate(*, token: RefreshToken, session: Session, successor_hash: str, now: datetime) -> Rotation:
    """Retires `token` for a successor stored as `successor_hash` (an API refresh token expiring
    with `session`), and records `session` as used at `now`; see the module docstring."""
    successor = RefreshToken(session=session, token_hash=successor_hash, kind=CredentialKind.API,
                             created_at=now, expires_at=session.expires_at)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_POSTGRESQL, {"token": token.pk, "session": session.pk, "now": now,
                                         "hash": successor_hash, "kind": CredentialKind.API,
                                         "expires": session.expires_at})
            won, active, successor.pk = cursor.fetchone()
        if successor.pk is None:
            return Rotation(won=won, active=active, successor=None)
        successor._state.adding = False
        return Rotation(won=True, active=True, successor=successor)
    try:
        with transaction.atomic():
            successor.save(force_insert=True)
            won = bool(RefreshToken.objects.filter(pk=token.pk, retired_at__isnull=True)
                       .update(retired_at=now, replaced_by=successor))
            if not won or not Session.objects.filter(pk=session.pk, revoked_at__isnull=True).update(last_active_at=now):
                raise _Undone(won)
    except _Undone as undone:
        return Rotation(won=undone.won, active=False, successor=None)
    return Rotation(won=True, active=True, successor=successor)
