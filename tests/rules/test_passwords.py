"""End users' passwords are hashed with Argon2 (first in PASSWORD_HASHERS), never stored in clear."""

import subprocess
import sys
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher
from rest_framework.test import APIClient

from tenants_app.models import User
from tests.conftest import TenantKeys, error_code, user_client
from tests.factories import TEST_PASSWORD

PASSWORD = "a perfectly long passphrase"


def assert_argon2(stored: str, plaintext: str) -> None:
    assert stored.startswith("argon2$argon2id$")
    assert identify_hasher(stored).algorithm == "argon2"
    assert plaintext not in stored
    assert check_password(plaintext, stored)
    assert not check_password(plaintext + "!", stored)


def test_argon2_is_the_first_hasher_of_the_production_settings() -> None:
    # The suite's settings swap in a cheaper Argon2; ask the real settings module in a clean process.
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'hellojohn_project.settings'; "
            "django.setup(); from django.conf import settings; print(settings.PASSWORD_HASHERS[0])")
    env = {"DJANGO_SECRET_KEY": "x" * 50, "PATH": "/usr/bin:/bin",
           "HJ_ENCRYPTION_KEY": "dGVzdC1vbmx5LXdlYmhvb2stc2VjcmV0LWtleS0wMzI="}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            cwd=settings.BASE_DIR, check=True)
    assert result.stdout.strip() == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_user_created_by_the_backend_has_an_argon2_hash(secret_key_client: APIClient) -> None:
    response = secret_key_client.post("/v1/users", {"email": "bob@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    assert "password" not in response.json()
    assert_argon2(User.objects.get(email="bob@example.com").password, PASSWORD)


def test_user_who_signs_up_has_an_argon2_hash(public_client: APIClient) -> None:
    response = public_client.post("/v1/auth/sign-up", {"email": "carol@example.com", "password": PASSWORD},
                                  format="json")
    assert response.status_code == 201, response.content
    assert_argon2(User.objects.get(email="carol@example.com").password, PASSWORD)


def test_new_password_set_by_the_backend_is_argon2_too(secret_key_client: APIClient, user: User) -> None:
    response = secret_key_client.patch(f"/v1/users/{user.id}", {"password": PASSWORD + " two"}, format="json")
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert_argon2(user.password, PASSWORD + " two")


def test_user_created_without_a_password_cannot_sign_in(secret_key_client: APIClient, public_client: APIClient,
                                                        tenant: TenantKeys) -> None:
    response = secret_key_client.post("/v1/users", {"email": "dave@example.com"}, format="json")
    assert response.status_code == 201, response.content
    stored = User.objects.get(email="dave@example.com").password
    assert stored.startswith("!")  # Django's unusable password marker
    for attempt in ("!", stored):
        response = public_client.post("/v1/auth/sign-in", {"email": "dave@example.com", "password": attempt},
                                      format="json")
        assert response.status_code == 401
        assert error_code(response) == "invalid_credentials"


def test_weak_passwords_answer_422_naming_the_request_field(secret_key_client: APIClient, public_client: APIClient,
                                                            user: User, sign_in: Any) -> None:
    before = User.objects.get(pk=user.pk).password
    attempts = [
        (public_client.post, "/v1/auth/sign-up", {"email": "erin@example.com", "password": "12345678901"}, "password"),
        (secret_key_client.post, "/v1/users", {"email": "erin@example.com", "password": "short"}, "password"),
        (secret_key_client.patch, f"/v1/users/{user.id}", {"password": "password123"}, "password"),
        (user_client(sign_in()).post, "/v1/auth/password",
         {"current_password": TEST_PASSWORD, "new_password": "alice@example.com"}, "new_password"),
    ]
    for send, path, body, field in attempts:
        response = send(path, body, format="json")
        assert response.status_code == 422, (path, response.content)
        assert error_code(response) == "password_too_weak"
        fields = response.json()["error"]["fields"]
        assert list(fields) == [field], path
        assert all(isinstance(message, str) and message for message in fields[field])
    assert not User.objects.filter(email="erin@example.com").exists()
    assert User.objects.get(pk=user.pk).password == before
