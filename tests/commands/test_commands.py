"""The management commands: create_tenant, create_api_key and seed_demo print keys that work."""

import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from sessions_app.models import RevocationReason, Session
from tenants_app.models import ApiKey, Tenant, User
from tests.conftest import TenantKeys, client_with, error_code

pytestmark = pytest.mark.django_db

ID = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"
SEED_KEYS = {"tenant_id", "tenant_slug", "secret_key", "publishable_key", "users", "operator", "base_url",
             "allowed_origins"}



def operator_signs_in(client: Any, username: str, password: str) -> bool:
    """Through the admin's sign-in form, as operators do (django-axes refuses a bare authenticate())."""
    response = client.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"})
    return response.status_code == 302

def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def run_json(*args: str) -> dict[str, Any]:
    output = run(*args, "--json")
    return json.loads(output)  # the whole output is one JSON object, nothing before or after


def secret_key_works(key: str, tenant_id: str) -> bool:
    response = client_with(key, tenant_id).get("/v1/admin/config")
    if response.status_code != 200:
        assert error_code(response) == "invalid_api_key"
    return response.status_code == 200


def publishable_key_works(key: str, tenant_id: str) -> bool:
    """A publishable key reaches sign-in (unknown user: 401 invalid_credentials, not invalid_api_key)."""
    response = client_with(key, tenant_id).post("/v1/auth/sign-in", {"email": "probe@example.com", "password": "x"},
                                                format="json")
    return error_code(response) == "invalid_credentials"


def api_key_refused(key: str, tenant_id: str) -> bool:
    """Keys are checked before the route's kind, so any revoked key answers 401 invalid_api_key here."""
    response = client_with(key, tenant_id).get("/v1/admin/config")
    return response.status_code == 401 and error_code(response) == "invalid_api_key"


def signs_in(email: str, password: str, publishable_key: str, tenant_id: str) -> bool:
    response = client_with(publishable_key, tenant_id).post("/v1/auth/sign-in", {"email": email, "password": password},
                                                            format="json")
    if response.status_code != 200:
        assert error_code(response) == "invalid_credentials"
    return response.status_code == 200


# --- create_tenant ------------------------------------------------------------------------------


def test_create_tenant_json_prints_one_object_with_working_keys() -> None:
    result = run_json("create_tenant", "Initech", "--slug", "initech")
    assert set(result) == {"tenant_id", "tenant_slug", "secret_key", "publishable_key"}
    assert re.fullmatch(f"tnt_{ID}", result["tenant_id"])
    assert result["tenant_slug"] == "initech"
    assert result["secret_key"].startswith("sk_live_")
    assert result["publishable_key"].startswith("pk_live_")
    tenant = Tenant.objects.get(pk=result["tenant_id"])
    assert (tenant.name, tenant.slug, tenant.status) == ("Initech", "initech", Tenant.Status.ACTIVE)
    assert tenant.api_keys.count() == 2
    assert secret_key_works(result["secret_key"], tenant.id)
    assert publishable_key_works(result["publishable_key"], tenant.id)
    # The publishable key cannot do what the secret key does.
    assert client_with(result["publishable_key"], tenant.id).get("/v1/admin/config").status_code == 403


def test_create_tenant_derives_a_unique_slug_from_the_name() -> None:
    first = run_json("create_tenant", "Umbrella Corp")
    second = run_json("create_tenant", "Umbrella Corp")
    assert first["tenant_slug"] == "umbrella-corp"
    assert second["tenant_slug"] == "umbrella-corp-2"
    assert first["tenant_id"] != second["tenant_id"]


def test_create_tenant_test_mode_issues_test_keys() -> None:
    result = run_json("create_tenant", "Sandbox", "--mode", "test")
    assert result["secret_key"].startswith("sk_test_")
    assert result["publishable_key"].startswith("pk_test_")
    assert set(ApiKey.objects.filter(tenant_id=result["tenant_id"]).values_list("mode", flat=True)) == {"test"}


def test_create_tenant_refuses_a_taken_slug_and_creates_nothing(tenant: TenantKeys) -> None:
    with pytest.raises(CommandError, match="already exists"):
        run("create_tenant", "Another Acme", "--slug", "acme")
    assert Tenant.objects.count() == 1
    assert ApiKey.objects.count() == 2


def test_create_tenant_human_output_shows_the_keys_once() -> None:
    output = run("create_tenant", "Hooli", "--slug", "hooli")
    tenant = Tenant.objects.get(slug="hooli")
    keys = re.findall(r"(?:sk|pk)_live_[A-Za-z0-9_-]{43}", output)
    assert len(keys) == 2
    assert tenant.id in output
    assert secret_key_works(keys[0], tenant.id)
    assert "only now" in output


# --- create_api_key -----------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "mode"), [("secret", "live"), ("secret", "test"), ("publishable", "live"),
                                            ("publishable", "test")])
def test_create_api_key_json_prints_a_working_key(tenant: TenantKeys, kind: str, mode: str) -> None:
    result = run_json("create_api_key", "--tenant", tenant.id, "--kind", kind, "--mode", mode)
    assert set(result) == {"id", "tenant_id", "kind", "mode", "key"}
    assert re.fullmatch(f"key_{ID}", result["id"])
    assert (result["tenant_id"], result["kind"], result["mode"]) == (tenant.id, kind, mode)
    assert result["key"].startswith(f"{'sk' if kind == 'secret' else 'pk'}_{mode}_")
    row = ApiKey.objects.get(pk=result["id"])
    assert (row.tenant_id, row.kind, row.mode, row.revoked_at) == (tenant.id, kind, mode, None)
    works = secret_key_works if kind == "secret" else publishable_key_works
    assert works(result["key"], tenant.id)
    # Existing keys are untouched.
    assert secret_key_works(tenant.secret_key, tenant.id)


def test_create_api_key_defaults_to_live(tenant: TenantKeys) -> None:
    assert run_json("create_api_key", "--tenant", tenant.id, "--kind", "secret")["mode"] == "live"


def test_create_api_key_human_output(tenant: TenantKeys) -> None:
    output = run("create_api_key", "--tenant", tenant.id, "--kind", "secret")
    (key,) = re.findall(r"sk_live_[A-Za-z0-9_-]{43}", output)
    assert secret_key_works(key, tenant.id)


@pytest.mark.parametrize("args", [
    ("--tenant", "tnt_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "--kind", "secret"),
    ("--tenant", "nope", "--kind", "secret"),
    ("--kind", "secret"),
])
def test_create_api_key_refuses_an_unknown_or_missing_tenant(tenant: TenantKeys, args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        run("create_api_key", *args)
    assert ApiKey.objects.count() == 2


@pytest.mark.parametrize("args", [("--kind", "admin"), ("--kind", "secret", "--mode", "prod"), ()])
def test_create_api_key_refuses_an_unknown_kind_or_mode(tenant: TenantKeys, args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        run("create_api_key", "--tenant", tenant.id, *args)
    assert ApiKey.objects.count() == 2


# --- seed_demo ----------------------------------------------------------------------------------


def assert_seed_shape(result: dict[str, Any]) -> None:
    assert set(result) == SEED_KEYS
    assert re.fullmatch(f"tnt_{ID}", result["tenant_id"])
    assert result["tenant_slug"] == "acme"
    assert result["secret_key"].startswith("sk_")
    assert result["publishable_key"].startswith("pk_")
    assert result["base_url"] == settings.HJ_PUBLIC_URL
    assert set(result["operator"]) == {"username", "password"}
    assert result["operator"]["password"]
    emails = [user["email"] for user in result["users"]]
    assert "alice@example.com" in emails
    assert len(set(emails)) == len(emails)
    for user in result["users"]:
        assert set(user) == {"id", "email", "password"}
        assert re.fullmatch(f"usr_{ID}", user["id"])
        assert len(user["password"]) >= 10


def active_sessions_of(email: str) -> int:
    return Session.objects.filter(user__email=email, revoked_at__isnull=True).count()


def test_seed_demo_json_prints_every_key_and_every_credential_works(client: Any) -> None:
    result = run_json("seed_demo")
    assert_seed_shape(result)
    tenant = Tenant.objects.get(slug="acme")
    assert (tenant.id, tenant.name) == (result["tenant_id"], "Acme")
    assert secret_key_works(result["secret_key"], tenant.id)
    assert publishable_key_works(result["publishable_key"], tenant.id)
    for user in result["users"]:
        assert User.objects.filter(pk=user["id"], tenant=tenant, email=user["email"]).exists()
        assert signs_in(user["email"], user["password"], result["publishable_key"], tenant.id)
    # Alice already has devices to show (three seeded, plus the sign-in just made).
    assert active_sessions_of("alice@example.com") == 4
    operator = get_user_model().objects.get(username=result["operator"]["username"])
    assert operator.is_staff and operator.is_superuser and operator.is_active
    assert operator_signs_in(client, operator.username, result["operator"]["password"])
    assert client.get("/admin/").status_code == 200
    # End users are not operators.
    assert not get_user_model().objects.filter(username="alice@example.com").exists()


def test_seed_demo_reruns_with_fresh_keys_and_passwords_and_revokes_the_old(client: Any) -> None:
    first = run_json("seed_demo")
    second = run_json("seed_demo")
    assert_seed_shape(second)
    assert second["tenant_id"] == first["tenant_id"]
    assert Tenant.objects.filter(slug="acme").count() == 1
    assert second["secret_key"] != first["secret_key"]
    assert second["publishable_key"] != first["publishable_key"]
    assert second["operator"]["password"] != first["operator"]["password"]
    tenant_id = second["tenant_id"]

    assert api_key_refused(first["secret_key"], tenant_id)
    assert api_key_refused(first["publishable_key"], tenant_id)
    assert secret_key_works(second["secret_key"], tenant_id)
    assert publishable_key_works(second["publishable_key"], tenant_id)
    assert ApiKey.objects.filter(tenant_id=tenant_id, revoked_at__isnull=True).count() == 2

    old_users = {user["email"]: user for user in first["users"]}
    for user in second["users"]:
        old = old_users[user["email"]]
        assert user["id"] == old["id"]
        assert user["password"] != old["password"]
        assert not signs_in(user["email"], old["password"], second["publishable_key"], tenant_id)
        assert signs_in(user["email"], user["password"], second["publishable_key"], tenant_id)
    assert User.objects.filter(tenant_id=tenant_id).count() == len(second["users"])

    # The new password signed Alice out of the first run's devices; the rerun seeded three new ones.
    assert Session.objects.filter(user__email="alice@example.com",
                                  revoked_reason=RevocationReason.PASSWORD_CHANGED).count() == 3
    assert active_sessions_of("alice@example.com") == 4  # three seeded + the sign-in above
    assert not operator_signs_in(client, "operator", first["operator"]["password"])
    assert operator_signs_in(client, "operator", second["operator"]["password"])
    assert get_user_model().objects.filter(username="operator").count() == 1


def test_seed_demo_reenables_a_disabled_demo_user() -> None:
    first = run_json("seed_demo")
    User.objects.filter(email="alice@example.com").update(status=User.Status.DISABLED)
    second = run_json("seed_demo")
    alice = User.objects.get(email="alice@example.com")
    assert alice.status == User.Status.ACTIVE
    assert signs_in("alice@example.com", second["users"][0]["password"], second["publishable_key"],
                    first["tenant_id"])


def test_seed_demo_human_output_lists_the_credentials() -> None:
    output = run("seed_demo")
    tenant = Tenant.objects.get(slug="acme")
    assert tenant.id in output
    (secret_key,) = re.findall(r"sk_live_[A-Za-z0-9_-]{43}", output)
    assert secret_key_works(secret_key, tenant.id)
    alice_password = re.search(r"alice@example\.com / (\S+)", output).group(1)
    assert check_password(alice_password, User.objects.get(email="alice@example.com").password)
    operator_password = re.search(r"as operator / (\S+)", output).group(1)
    assert get_user_model().objects.get(username="operator").check_password(operator_password)


def test_seed_demo_keys_work_through_the_api_end_to_end() -> None:
    """The quick start of the README: seed, then sign Alice in and list her sessions as the backend."""
    result = run_json("seed_demo")
    alice = next(user for user in result["users"] if user["email"] == "alice@example.com")
    public = client_with(result["publishable_key"], result["tenant_id"])
    signed_in = public.post("/v1/auth/sign-in", {"email": alice["email"], "password": alice["password"]},
                            format="json")
    assert signed_in.status_code == 200
    admin: APIClient = client_with(result["secret_key"], result["tenant_id"])
    listed = admin.get("/v1/sessions", {"user_id": alice["id"]})
    assert listed.status_code == 200
    assert listed.json()["pagination"]["total"] == 4
    assert signed_in.json()["session"]["id"] in {row["id"] for row in listed.json()["data"]}


# --- A real process: stdout holds exactly the JSON object ---------------------------------------


def test_seed_demo_in_fresh_processes_prints_only_json(tmp_path: Path) -> None:
    """`make run` pipes seed_demo's output; logging and warnings must go to stderr, never into the JSON."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SECRET_KEY": "x" * 50,
        "HJ_ENCRYPTION_KEY": "dGVzdC1vbmx5LXdlYmhvb2stc2VjcmV0LWtleS0wMzI=",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "HJ_PUBLIC_URL": "http://demo.example:8000",
    }

    def manage(*args: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    manage("migrate", "--verbosity", "0")
    first = json.loads(manage("seed_demo", "--json"))
    second = json.loads(manage("seed_demo", "--json"))
    assert_seed_shape_in(first, base_url="http://demo.example:8000")
    assert_seed_shape_in(second, base_url="http://demo.example:8000")
    assert first["tenant_id"] == second["tenant_id"]
    assert first["secret_key"] != second["secret_key"]


def assert_seed_shape_in(result: dict[str, Any], *, base_url: str) -> None:
    assert set(result) == SEED_KEYS
    assert result["base_url"] == base_url
    assert any(user["email"] == "alice@example.com" for user in result["users"])
