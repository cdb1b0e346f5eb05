"""The session rules, every write on sessions, refresh tokens, signing keys and end-user accounts.

One module per job; this package re-exports what the faces call, so they write `services.sign_in(...)`.
Each function is defined once, in its module.
"""

from sessions_app.actors import SYSTEM, Actor
from sessions_app.services.accounts import (
    canonical_email,
    change_password,
    create_user,
    normalize_email,
    update_user,
)
from sessions_app.services.credentials import IssuedSession
from sessions_app.services.refresh import refresh_session, sign_out_with_refresh_token
from sessions_app.services.retention import PurgeResult, purge_sessions, purgeable_sessions, retention_cutoff
from sessions_app.services.revocation import revoke_session, revoke_sessions, revoke_user_sessions
from sessions_app.services.session_use import SessionInUse, use_session
from sessions_app.services.sign_in import SignedIn, authenticate, sign_in, sign_up, start_session
from sessions_app.services.signing_keys import (
    PUBLICATION_LEAD,
    active_signing_key,
    issue_access_token,
    rotate_signing_key,
    withdraw_signing_key,
)

__all__ = [
    "PUBLICATION_LEAD", "SYSTEM", "Actor", "IssuedSession", "PurgeResult", "SessionInUse", "SignedIn",
    "active_signing_key",    "authenticate", "canonical_email", "change_password", "create_user", "issue_access_token",
    "normalize_email", "purge_sessions", "purgeable_sessions", "refresh_session", "retention_cutoff",
    "revoke_session", "revoke_sessions", "revoke_user_sessions", "rotate_signing_key", "sign_in",
    "sign_out_with_refresh_token", "sign_up", "start_session", "update_user", "use_session", "withdraw_signing_key",
]
