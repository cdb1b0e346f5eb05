"""Retention (issue 7): `purge_sessions` deletes sessions revoked or expired more than
HJ_SESSION_RETENTION_DAYS ago, with their refresh tokens, in batches, and nothing else."""

import io
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from sessions_app.models import RefreshToken, RevocationReason, Session
from sessions_app.services import purge_sessions, retention_cutoff
from tenants_app.models import TenantConfig
from tests.conftest import TenantKeys, client_with
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def session(user: Any, *, created: datetime, expires: datetime, revoked: datetime | None = None,
            tokens: int = 2) -> Session:
    row = SessionFactory(user=user, created_at=created, last_active_at=created, expires_at=expires,
                         revoked_at=revoked, revoked_reason=RevocationReason.SIGNED_OUT if revoked else None)
    previous = None
    for n in range(tokens):  # a rotation chain: each token points at its successor
        token = RefreshToken.objects.create(session=row, token_hash=f"{row.id}-{n}".ljust(64, "0")[:64],
                                            created_at=created, expires_at=expires,
                                            retired_at=created if n < tokens - 1 else None)
        if previous is not None:
            RefreshToken.objects.filter(pk=previous.pk).update(replaced_by=token)
        previous = token
    return row


@pytest.fixture
def history(tenant: TenantKeys, other_tenant: TenantKeys) -> dict[str, Session]:
    now = timezone.now()
    alice = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    bob = UserFactory(tenant=other_tenant.tenant, email="bob@example.com")
    TenantConfig.objects.update_or_create(tenant=tenant.tenant, defaults={"idle_timeout": 3600})
    return {
        # purgeable: ended more than 30 days ago
        "revoked_31d": session(alice, created=now - 60 * DAY, expires=now + 5 * DAY, revoked=now - 31 * DAY),
        "expired_31d": session(alice, created=now - 61 * DAY, expires=now - 31 * DAY),
        "other_tenant_revoked_400d": session(bob, created=now - 500 * DAY, expires=now - 470 * DAY,
                                             revoked=now - 400 * DAY),
        "revoked_and_expired_long_ago": session(bob, created=now - 90 * DAY, expires=now - 60 * DAY,
                                                revoked=now - 80 * DAY, tokens=5),
        # kept
        "active": session(alice, created=now - DAY, expires=now + 29 * DAY),
        "revoked_29d": session(alice, created=now - 40 * DAY, expires=now + DAY, revoked=now - 29 * DAY),
        "expired_29d": session(alice, created=now - 59 * DAY, expires=now - 29 * DAY),
        # idle for 50 days under a one-hour idle_timeout, but the absolute expiry is still ahead:
        # the tenant could drop its idle_timeout and make it active again.
        "idle_50d": session(alice, created=now - 50 * DAY, expires=now + 10 * DAY),
    }


PURGED = {"revoked_31d", "expired_31d", "other_tenant_revoked_400d", "revoked_and_expired_long_ago"}


def purge(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("purge_sessions", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_purges_exactly_what_ended_before_the_retention(history: dict[str, Session]) -> None:
    kept_tokens = set(RefreshToken.objects.exclude(session_id__in=[history[n].id for n in PURGED])
                      .values_list("pk", "token_hash", "retired_at", "replaced_by"))

    out, err = purge("--batch-size", "3")

    assert set(Session.objects.values_list("pk", flat=True)) == {s.id for n, s in history.items() if n not in PURGED}
    assert set(RefreshToken.objects.values_list("pk", "token_hash", "retired_at", "replaced_by")) == kept_tokens
    assert out.startswith("Deleted 4 sessions and 11 refresh tokens that ended before ")
    assert "(30 days of retention)" in out
    assert "purging" in err and "4/4" in err  # the progress bar


def test_dry_run_counts_and_deletes_nothing(history: dict[str, Session]) -> None:
    before = (Session.objects.count(), RefreshToken.objects.count())
    out, _ = purge("--dry-run", "--batch-size", "1")
    assert out.startswith("Would delete 4 sessions and 11 refresh tokens")
    assert (Session.objects.count(), RefreshToken.objects.count()) == before


def test_retention_comes_from_the_setting(history: dict[str, Session], settings: Any) -> None:
    settings.HJ_SESSION_RETENTION_DAYS = 10
    out, _ = purge()
    assert out.startswith("Deleted 6 sessions")  # the 29-day-old ones go too
    assert set(Session.objects.values_list("pk", flat=True)) == {history["active"].id, history["idle_50d"].id}


def test_days_option_overrides_the_setting(history: dict[str, Session]) -> None:
    out, _ = purge("--days", "365")
    assert out.startswith("Deleted 1 sessions")
    assert not Session.objects.filter(pk=history["other_tenant_revoked_400d"].id).exists()


def test_nothing_to_purge(tenant: TenantKeys) -> None:
    out, err = purge()
    assert out.startswith("Deleted 0 sessions and 0 refresh tokens")
    assert err == ""  # no empty progress bar


@pytest.mark.parametrize("args", [["--batch-size", "0"], ["--days", "-1"]])
def test_refuses_bad_options(args: list[str]) -> None:
    with pytest.raises(CommandError):
        purge(*args)


def test_batches_are_small_and_constant_in_queries(history: dict[str, Session],
                                                   django_assert_max_num_queries: Any) -> None:
    sizes: list[int] = []
    cutoff = retention_cutoff(days=30)
    # Per batch: select ids, collect and delete (tokens' links, tokens, sessions), in a savepoint.
    with django_assert_max_num_queries(4 * 12):
        result = purge_sessions(cutoff=cutoff, batch_size=1, progress=sizes.append)
    assert sizes == [1, 1, 1, 1]
    assert (result.sessions, result.refresh_tokens) == (4, 11)


def test_a_purge_is_audited(history: dict[str, Session], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="hellojohn.audit"):
        purge()
    [line] = [r for r in caplog.records if getattr(r, "event", "") == "sessions.purged"]
    assert (line.sessions, line.refresh_tokens) == (4, 11)


def test_serving_goes_on_around_a_purge(tenant: TenantKeys, sign_in: Any) -> None:
    """The refresh token of a purged session is simply unknown; live sessions are untouched."""
    UserFactory(tenant=tenant.tenant, email="alice@example.com")
    live, dead = sign_in(), sign_in()
    Session.objects.filter(pk=dead["session"]["id"]).update(revoked_at=timezone.now() - 40 * DAY,
                                                            revoked_reason=RevocationReason.SIGNED_OUT)
    purge()
    public = client_with(tenant.publishable_key, tenant.id)
    gone = public.post("/v1/auth/token/refresh", {"refresh_token": dead["session"]["refresh_token"]}, format="json")
    assert gone.status_code == 401 and gone.json()["error"]["code"] == "refresh_token_invalid"
    dead_token = client_with(dead["session"]["access_token"], tenant.id).get("/v1/auth/me")
    assert dead_token.status_code == 401 and dead_token.json()["error"]["code"] == "invalid_token"
    alive = public.post("/v1/auth/token/refresh", {"refresh_token": live["session"]["refresh_token"]}, format="json")
    assert alive.status_code == 200
