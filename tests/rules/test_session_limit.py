"""max_sessions_per_user: the oldest sessions go, in the sign-in's transaction, also under concurrency."""

import threading

import pytest
from django.db import connection, connections

from sessions_app.device import DeviceInfo
from sessions_app.models import RevocationReason, Session
from sessions_app.services import start_session
from tenants_app.models import TenantConfig, User
from tests.conftest import reset_rate_limits
from tests.factories import UserFactory


def set_limit(tenant, limit):
    TenantConfig.objects.filter(tenant=tenant).update(max_sessions_per_user=limit)


def active_ids(user):
    return list(Session.objects.filter(user=user, revoked_at__isnull=True).order_by("created_at", "id")
                .values_list("id", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [1, 5])
def test_sequential_sign_ins_keep_the_newest(tenant, user, sign_in, limit):
    set_limit(tenant.tenant, limit)
    ids = [sign_in()["session"]["id"] for _ in range(limit + 2)]
    assert active_ids(user) == ids[-limit:]
    revoked = Session.objects.filter(pk__in=ids[:2])
    assert {s.revoked_reason for s in revoked} == {RevocationReason.SESSION_LIMIT}


@pytest.mark.django_db
def test_limit_ignores_other_users_and_already_ended_sessions(tenant, user, sign_in):
    other = UserFactory(tenant=tenant.tenant, email="bob@example.com")
    set_limit(tenant.tenant, 2)
    bob = [sign_in(email="bob@example.com")["session"]["id"] for _ in range(2)]
    alice = [sign_in()["session"]["id"] for _ in range(3)]
    assert active_ids(other) == bob
    assert active_ids(user) == alice[1:]


@pytest.mark.django_db
def test_sign_in_query_count_does_not_grow_with_sessions(tenant, user, sign_in, django_assert_max_num_queries):
    set_limit(tenant.tenant, 1000)
    sign_in()  # warm: signing key created
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        sign_in()
    for _ in range(20):
        reset_rate_limits()  # the per-email rate limit would stop this loop otherwise
        sign_in()
    reset_rate_limits()
    with CaptureQueriesContext(connection) as many:
        sign_in()
    assert len(many) == len(few)


@pytest.mark.django_db(transaction=True)
def test_parallel_sign_ins_never_overshoot_the_limit(make_tenant):
    if connection.vendor != "postgresql":
        pytest.skip("row locks under real concurrency are tested on PostgreSQL")
    keys = make_tenant("Parallel", "parallel")
    set_limit(keys.tenant, 3)
    user = UserFactory(tenant=keys.tenant)
    user = User.objects.select_related("tenant__config").get(pk=user.pk)
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def sign_in_once() -> None:
        try:
            barrier.wait()
            start_session(user=User.objects.select_related("tenant__config").get(pk=user.pk),
                          device=DeviceInfo(user_agent="parallel"))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign_in_once) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Session.objects.filter(user=user).count() == 20
    newest = list(Session.objects.filter(user=user).order_by("-created_at", "-id").values_list("id", flat=True)[:3])
    assert sorted(active_ids(user)) == sorted(newest)
    assert Session.objects.filter(user=user, revoked_reason=RevocationReason.SESSION_LIMIT).count() == 17
