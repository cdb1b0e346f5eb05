"""Who may open the admin: operators (staff `auth.User`) only, never a tenant's end user."""

import pytest
from django.contrib.auth.models import User as Operator
from django.test import Client

from tests.admin_helpers import OPERATOR_PASSWORD
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def log_in(username: str, password: str) -> tuple[Client, int]:
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password})
    return client, response.status_code


def test_end_user_credentials_do_not_open_the_admin(user):
    client, status = log_in(user.email, TEST_PASSWORD)
    assert status == 200  # the login form again, with its error
    assert "_auth_user_id" not in client.session
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.get("/admin/sessions_app/session/").status_code == 302
    assert not Operator.objects.filter(username=user.email).exists()


def test_non_staff_operator_account_is_refused_and_staff_is_let_in(db):
    Operator.objects.create_user("clerk", "clerk@ops.example", OPERATOR_PASSWORD)
    client, status = log_in("clerk", OPERATOR_PASSWORD)
    assert status == 200 and "_auth_user_id" not in client.session

    Operator.objects.create_superuser("chief", "chief@ops.example", OPERATOR_PASSWORD)
    client, status = log_in("chief", OPERATOR_PASSWORD)
    assert status == 302
    assert client.get("/admin/").status_code == 200


def test_anonymous_requests_are_sent_to_the_login(db):
    client = Client()
    for url in ("/admin/", "/admin/sessions_app/session/", "/admin/tenants_app/user/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    response = client.post("/admin/sessions_app/session/ses_x/revoke/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
