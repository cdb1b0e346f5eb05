"""/v1/users (secret key): create, list, retrieve, update; disabling and new passwords sign out (issue 4)."""

import pytest

from sessions_app.models import RevocationReason, Session
from tenants_app.models import User
from tests.conftest import client_with, error_code, user_client
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_create_and_retrieve(tenant):
    admin = client_with(tenant.secret_key, tenant.id)
    response = admin.post("/v1/users", {"email": "Carol@Example.com", "name": "Carol", "password": TEST_PASSWORD},
                          format="json")
    assert response.status_code == 201
    created = response.json()
    assert created["email"] == "carol@example.com" and created["status"] == "active"
    assert admin.get(f"/v1/users/{created['id']}").json() == created
    duplicate = admin.post("/v1/users", {"email": "CAROL@example.com"}, format="json")
    assert (duplicate.status_code, error_code(duplicate)) == (409, "email_already_exists")
    without_password = admin.post("/v1/users", {"email": "dave@example.com"}, format="json")
    assert without_password.status_code == 201
    signin = client_with(tenant.publishable_key, tenant.id).post(
        "/v1/auth/sign-in", {"email": "dave@example.com", "password": ""}, format="json")
    assert (signin.status_code, error_code(signin)) == (400, "invalid_parameter")  # a blank password is refused


def test_list_paginates_and_filters_by_email(tenant):
    UserFactory.create_batch(25, tenant=tenant.tenant)
    target = UserFactory(tenant=tenant.tenant, email="target@example.com")
    admin = client_with(tenant.secret_key, tenant.id)
    first = admin.get("/v1/users?limit=20").json()
    assert first["pagination"]["total"] == 26 and first["pagination"]["has_more"] is True
    second = admin.get(f"/v1/users?limit=20&cursor={first['pagination']['next_cursor']}").json()
    ids = [u["id"] for u in first["data"] + second["data"]]
    assert len(ids) == len(set(ids)) == 26
    assert [u["id"] for u in admin.get("/v1/users?email=TARGET@example.com").json()["data"]] == [target.id]


def test_disabling_revokes_every_session_and_blocks_sign_in(tenant, user, sign_in):
    bodies = [sign_in(), sign_in()]
    admin = client_with(tenant.secret_key, tenant.id)
    response = admin.patch(f"/v1/users/{user.id}", {"status": "disabled"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "disabled"
    assert set(Session.objects.values_list("revoked_reason", flat=True)) == {RevocationReason.USER_DISABLED}
    assert user_client(bodies[0]).get("/v1/auth/me").status_code == 401
    refused = client_with(tenant.publishable_key, tenant.id).post(
        "/v1/auth/sign-in", {"email": user.email, "password": TEST_PASSWORD}, format="json")
    assert (refused.status_code, error_code(refused)) == (403, "account_disabled")


def test_new_password_revokes_every_session(tenant, user, sign_in):
    sign_in()
    admin = client_with(tenant.secret_key, tenant.id)
    response = admin.patch(f"/v1/users/{user.id}", {"password": "another long passphrase"}, format="json")
    assert response.status_code == 200
    assert set(Session.objects.values_list("revoked_reason", flat=True)) == {RevocationReason.PASSWORD_CHANGED}
    weak = admin.patch(f"/v1/users/{user.id}", {"password": "short"}, format="json")
    assert (weak.status_code, error_code(weak)) == (422, "password_too_weak")


def test_rename_does_not_sign_out(tenant, user, sign_in):
    sign_in()
    admin = client_with(tenant.secret_key, tenant.id)
    assert admin.patch(f"/v1/users/{user.id}", {"name": "Alice L."}, format="json").json()["name"] == "Alice L."
    assert Session.objects.filter(revoked_at__isnull=True).count() == 1


@pytest.mark.parametrize(("body", "code"), [
    ({"status": "banned"}, "invalid_parameter"),
    ({"email": "x@example.com"}, "invalid_parameter"),
    ({"name": 5}, "invalid_request"),  # a JSON number where a string belongs
])
def test_bad_patches_change_nothing(tenant, user, body, code):
    before = User.objects.filter(pk=user.pk).values().get()
    response = client_with(tenant.secret_key, tenant.id).patch(f"/v1/users/{user.id}", body, format="json")
    assert (response.status_code, error_code(response)) == (400, code)
    assert User.objects.filter(pk=user.pk).values().get() == before


def test_users_are_tenant_scoped(tenant, other_tenant, user):
    foreign = client_with(other_tenant.secret_key, other_tenant.id)
    for response in (foreign.get(f"/v1/users/{user.id}"), foreign.patch(f"/v1/users/{user.id}", {"name": "x"},
                                                                         format="json")):
        assert (response.status_code, error_code(response)) == (404, "user_not_found")
    assert foreign.get("/v1/users").json()["data"] == []
    assert foreign.get("/v1/users/not-an-id").status_code == 404
    assert User.objects.get(pk=user.pk).name == user.name
