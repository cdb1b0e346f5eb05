"""Hostile requests (issue 7): each answers the contract's error envelope and changes nothing.

"Nothing" is checked on every table the service writes: the snapshot before and after each request
must be equal (API keys' last_used_at aside: using a key is allowed to record that it was used).
"""

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from django.db import models
from django.test import Client
from rest_framework.test import APIClient

from sessions_app.models import RefreshToken, Session, SigningKey
from sessions_app.services import active_signing_key
from tenants_app.models import ApiKey, Tenant, TenantConfig, User
from tests.conftest import DESKTOP_CHROME, TenantKeys, client_with, error_code
from tests.factories import TEST_PASSWORD, UserFactory

SNAPSHOT_MODELS: list[tuple[type[models.Model], set[str]]] = [
    (Tenant, set()), (TenantConfig, set()), (ApiKey, {"last_used_at"}), (User, set()), (Session, set()),
    (RefreshToken, set()), (SigningKey, set()),
]

# Metacharacters of SQL, Django and Jinja templates, shells, HTML and JSON-in-strings.
METACHARACTERS = [
    "' OR '1'='1' --",
    '"; DROP TABLE sessions_app_session; --',
    "1; SELECT pg_sleep(5)",
    "%' AND 1=1 AND '%'='",
    "\\'; --",
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "{{7*7}}${7*7}#{7*7}",
    "<script>alert(1)</script>",
    "$(id)`id`",
    '{"$ne": null}',
    "%00%27",
    "../../../../etc/passwd",
]


def snapshot() -> dict[str, list[tuple]]:
    state = {}
    for model, volatile in SNAPSHOT_MODELS:
        names = [f.attname for f in model._meta.concrete_fields if f.name not in volatile]
        state[model.__name__] = sorted(model.objects.values_list(*names), key=repr)
    return state


@pytest.fixture
def world(tenant: TenantKeys, other_tenant: TenantKeys, sign_in: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Two tenants, each with a signed-in user: the state hostile requests must leave untouched."""
    UserFactory(tenant=tenant.tenant, email="alice@example.com")
    UserFactory(tenant=other_tenant.tenant, email="mallory@example.com")
    return {
        "alice": sign_in("alice@example.com"),
        "mallory": sign_in("mallory@example.com", keys=other_tenant),
    }


@pytest.fixture
def unchanged(world: dict[str, Any]) -> Iterator[Callable[[], None]]:
    """Call it after a hostile request: fails if any table changed since the fixture was set up."""
    before = snapshot()

    def check() -> None:
        assert snapshot() == before

    yield check


def assert_refused(response: Any, status: int, *codes: str) -> None:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    assert error_code(response) in codes, response.json()


def raw_post(client: Client, path: str, body: bytes, **headers: str) -> Any:
    return client.generic("POST", path, data=body, content_type="application/json", **headers)


def pk_headers(keys: TenantKeys) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {keys.publishable_key}", "HTTP_X_TENANT_ID": keys.id}


def sk_headers(keys: TenantKeys) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {keys.secret_key}", "HTTP_X_TENANT_ID": keys.id}


# --- Oversized and malformed bodies ---------------------------------------------------------------


def test_8kb_user_agent_on_a_refused_sign_in(tenant: TenantKeys, unchanged: Callable[[], None]) -> None:
    client = client_with(tenant.publishable_key, tenant.id, HTTP_USER_AGENT="Mozilla/5.0 " + "A" * 8192)
    response = client.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": "wrong password!"},
                           format="json")
    assert_refused(response, 401, "invalid_credentials")
    unchanged()


def test_8kb_user_agent_is_stored_truncated_on_a_real_sign_in(tenant: TenantKeys, world: dict[str, Any]) -> None:
    user_agent = DESKTOP_CHROME + " " + "A" * 8192
    client = client_with(tenant.publishable_key, tenant.id, HTTP_USER_AGENT=user_agent)
    response = client.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD},
                           format="json")
    assert response.status_code == 200
    stored = Session.objects.get(pk=response.json()["session"]["id"])
    assert stored.user_agent == user_agent[:512]
    assert stored.browser == "Chrome 120"


@pytest.mark.parametrize("body", [
    b'{"email": "\xff\xfe@example.com", "password": "x"}',
    b'{"email": "alice@example.com", "password": "\xc3\x28"}',
    b"\xef\xbb\xbf\xff",
    b'{"email": "\xed\xa0\x80@example.com", "password": "x"}',  # an encoded lone surrogate
], ids=["invalid-bytes", "bad-continuation", "bom-then-garbage", "encoded-surrogate"])
def test_invalid_utf8_bodies(tenant: TenantKeys, unchanged: Callable[[], None], client: Client, body: bytes) -> None:
    assert_refused(raw_post(client, "/v1/auth/sign-in", body, **pk_headers(tenant)), 400, "invalid_request")
    unchanged()


@pytest.mark.parametrize("field", ["email", "password"])
@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\u0000", "a\\u0000b"])
def test_json_escapes_of_unstorable_characters(tenant: TenantKeys, unchanged: Callable[[], None], client: Client,
                                               field: str, escape: str) -> None:
    """Lone surrogates cannot be encoded and NUL cannot be stored in PostgreSQL text: 400, not 500."""
    fields = {"email": '"alice@example.com"', "password": '"wrong password!"'}
    fields[field] = f'"{escape}"'
    body = ("{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}").encode()
    response = raw_post(client, "/v1/auth/sign-in", body, **pk_headers(tenant))
    assert_refused(response, 400, "invalid_parameter")
    assert set(response.json()["error"]["fields"]) == {field}
    unchanged()


@pytest.mark.parametrize("body", [
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"email": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
], ids=["arrays-5000", "objects-5000", "arrays-100000-in-a-field"])
def test_json_nested_thousands_deep(tenant: TenantKeys, unchanged: Callable[[], None], client: Client,
                                    body: bytes) -> None:
    path, headers = "/v1/auth/sign-in", pk_headers(tenant)
    if len(body) > 64 * 1024:
        assert_refused(raw_post(client, path, body, **headers), 413, "payload_too_large")
    else:
        assert_refused(raw_post(client, path, body, **headers), 400, "invalid_request")
    unchanged()


@pytest.mark.parametrize("value", [b"1e400", b"-1e400", b"1" * 5000, b"-" + b"9" * 4000, b"100000000000000000000",
                                   b"1.5", b"1000.0", b"0x10", b"NaN", b"Infinity"])
@pytest.mark.parametrize("field", ["max_sessions_per_user", "session_duration", "idle_timeout", "access_token_ttl"])
def test_huge_and_odd_numbers_in_config(tenant: TenantKeys, unchanged: Callable[[], None], client: Client,
                                        field: str, value: bytes) -> None:
    body = b'{"' + field.encode() + b'": ' + value + b"}"
    response = client.generic("PATCH", "/v1/admin/config", data=body, content_type="application/json",
                              **sk_headers(tenant))
    assert_refused(response, 400, "invalid_request", "invalid_parameter")
    unchanged()


@pytest.mark.parametrize("body", [
    b"[]", b'[{"email": "alice@example.com", "password": "x"}]', b'"alice@example.com"', b"42", b"null", b"true",
    b'{"email": ["alice@example.com"], "password": "x"}', b'{"email": {"$gt": ""}, "password": {"$gt": ""}}',
    b'{"email": "alice@example.com", "password": ["x"]}',
], ids=lambda b: b.decode()[:30])
def test_arrays_and_scalars_where_objects_belong(tenant: TenantKeys, unchanged: Callable[[], None], client: Client,
                                                 body: bytes) -> None:
    assert_refused(raw_post(client, "/v1/auth/sign-in", body, **pk_headers(tenant)), 400, "invalid_request")
    unchanged()


@pytest.mark.parametrize("path", ["/v1/auth/sign-in", "/v1/auth/sign-up", "/v1/users", "/v1/sessions/verify",
                                  "/v1/auth/token/refresh"])
def test_a_1mb_body(tenant: TenantKeys, unchanged: Callable[[], None], client: Client, path: str) -> None:
    body = json.dumps({"email": "a" * (1024 * 1024), "password": "x"}).encode()
    assert_refused(raw_post(client, path, body, **sk_headers(tenant)), 413, "payload_too_large")
    assert_refused(raw_post(client, path, body), 413, "payload_too_large")  # refused before authentication too
    unchanged()


def test_a_lying_content_length(tenant: TenantKeys, unchanged: Callable[[], None], client: Client) -> None:
    response = raw_post(client, "/v1/auth/sign-in", b"{}", CONTENT_LENGTH="12abc", **pk_headers(tenant))
    assert_refused(response, 400, "invalid_request")
    unchanged()


# --- Metacharacters in every field -----------------------------------------------------------------


@pytest.mark.parametrize("evil", METACHARACTERS)
def test_metacharacters_in_every_body_field(tenant: TenantKeys, world: dict[str, Any],
                                            unchanged: Callable[[], None], evil: str) -> None:
    public, admin = client_with(tenant.publishable_key, tenant.id), client_with(tenant.secret_key, tenant.id)
    user = client_with(world["alice"]["session"]["access_token"], tenant.id)
    attempts = [
        (public, "/v1/auth/sign-in", {"email": evil, "password": evil}, 401, "invalid_credentials"),
        (public, "/v1/auth/sign-in", {"email": "alice@example.com", "password": evil}, 401, "invalid_credentials"),
        (public, "/v1/auth/sign-up", {"email": evil, "password": TEST_PASSWORD + "!x"}, 422, "invalid_email"),
        (public, "/v1/auth/token/refresh", {"refresh_token": evil}, 401, "refresh_token_invalid"),
        (public, "/v1/auth/sign-out", {"refresh_token": evil}, 401, "refresh_token_invalid"),
        (admin, "/v1/users", {"email": evil, "name": evil}, 422, "invalid_email"),
        (user, "/v1/auth/password", {"current_password": evil, "new_password": evil}, 401, "invalid_credentials"),
        (public, "/v1/auth/sign-in", {evil: "x", "email": "a@b.c", "password": "x"}, 400, "invalid_parameter"),
    ]
    for client, path, body, status, code in attempts:
        assert_refused(client.post(path, body, format="json"), status, code)
    verify = admin.post("/v1/sessions/verify", {"token": evil}, format="json")
    assert verify.status_code == 200 and verify.json() == {"valid": False, "reason": "invalid_token", "session": None}
    unchanged()


@pytest.mark.parametrize("evil", METACHARACTERS)
def test_metacharacters_in_every_query_and_path_parameter(tenant: TenantKeys, world: dict[str, Any],
                                                          unchanged: Callable[[], None], evil: str) -> None:
    admin = client_with(tenant.secret_key, tenant.id)
    for name in ["user_id", "cursor", "status", "country", "device_type", "limit"]:
        assert_refused(admin.get("/v1/sessions", {name: evil}), 400, "invalid_parameter")
    assert_refused(admin.delete(f"/v1/sessions?user_id={evil}"), 400, "invalid_parameter")
    users = admin.get("/v1/users", {"email": evil})
    assert users.status_code == 200 and users.json()["data"] == []
    for path in (f"/v1/sessions/{evil}", f"/v1/users/{evil}"):
        response = admin.get(path)
        assert response.status_code in {400, 404}, response.content
        assert error_code(response) in {"session_not_found", "user_not_found", "not_found", "invalid_request"}
    unchanged()


@pytest.mark.parametrize("evil", METACHARACTERS)
def test_metacharacters_in_headers(tenant: TenantKeys, world: dict[str, Any], unchanged: Callable[[], None],
                                   evil: str) -> None:
    mismatch = APIClient(HTTP_AUTHORIZATION=f"Bearer {tenant.secret_key}", HTTP_X_TENANT_ID=evil)
    assert_refused(mismatch.get("/v1/sessions"), 403, "tenant_mismatch")
    bad_credential = APIClient(HTTP_AUTHORIZATION=f"Bearer {evil}", HTTP_X_TENANT_ID=tenant.id)
    assert_refused(bad_credential.get("/v1/sessions"), 401, "invalid_token", "invalid_api_key")
    bad_key = APIClient(HTTP_AUTHORIZATION=f"Bearer sk_live_{evil}", HTTP_X_TENANT_ID=tenant.id)
    assert_refused(bad_key.get("/v1/sessions"), 401, "invalid_api_key")
    unchanged()


def test_metacharacters_are_stored_as_data(tenant: TenantKeys) -> None:
    """What a client may legitimately store (a name) comes back byte for byte, never evaluated."""
    admin = client_with(tenant.secret_key, tenant.id)
    name = "".join(METACHARACTERS)[:200]
    created = admin.post("/v1/users", {"email": "bobby@example.com", "name": name}, format="json")
    assert created.status_code == 201
    assert admin.get(f"/v1/users/{created.json()['id']}").json()["name"] == name
    assert User.objects.get(pk=created.json()["id"]).name == name
    assert Session.objects.count() == 0 and User.objects.count() == 1


# --- Forged client addresses ----------------------------------------------------------------------


@pytest.mark.parametrize("chain", ["1.2.3.4", "1.2.3.4, 10.0.0.1", "127.0.0.1", "not-an-ip, 8.8.8.8",
                                   ", , ,", "::1, 2001:db8::1", "8.8.8.8" + ", 9.9.9.9" * 500])
def test_forwarded_for_from_an_untrusted_peer_is_ignored(tenant: TenantKeys, world: dict[str, Any],
                                                         settings: Any, chain: str) -> None:
    settings.HJ_TRUSTED_PROXIES = ["10.0.0.0/8"]
    client = client_with(tenant.publishable_key, tenant.id, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=chain,
                         HTTP_USER_AGENT=DESKTOP_CHROME)
    response = client.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD},
                           format="json")
    assert response.status_code == 200
    assert response.json()["session"]["ip_address"] == "203.0.113.7"
    assert Session.objects.get(pk=response.json()["session"]["id"]).ip_address == "203.0.113.7"


# --- Forged and foreign tokens --------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _forged(token: str, header: dict[str, Any], signature: str = "") -> str:
    return f"{_b64(header)}.{_b64(_claims_of(token))}.{signature}"


def _assert_token_refused(tenant: TenantKeys, token: str, code: str = "invalid_token") -> None:
    user = client_with(token, tenant.id)
    assert_refused(user.get("/v1/auth/me"), 401, code)
    assert_refused(user.get("/v1/sessions"), 401, code)
    assert_refused(user.delete("/v1/sessions"), 401, code)
    verify = client_with(tenant.secret_key, tenant.id).post("/v1/sessions/verify", {"token": token}, format="json")
    if len(token) > 4096:  # longer than any token this service issues: refused as a parameter
        assert_refused(verify, 400, "invalid_parameter")
    else:
        assert verify.status_code == 200 and verify.json() == {"valid": False, "reason": code, "session": None}


def test_alg_none(tenant: TenantKeys, world: dict[str, Any], unchanged: Callable[[], None]) -> None:
    token = world["alice"]["session"]["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    for alg in ("none", "None", "NONE", "nOnE"):
        _assert_token_refused(tenant, _forged(token, {"alg": alg, "typ": "JWT", "kid": kid}))
        _assert_token_refused(tenant, _forged(token, {"alg": alg, "kid": kid}, signature="e30"))
    unchanged()


def test_hs256_signed_with_the_public_key(tenant: TenantKeys, world: dict[str, Any],
                                          unchanged: Callable[[], None]) -> None:
    """The classic key-confusion attack: the verifier must never accept a MAC keyed by its public key."""
    token = world["alice"]["session"]["access_token"]
    key = active_signing_key()
    claims = {**_claims_of(token), "sub": world["alice"]["user"]["id"]}
    public_jwk = next(k for k in client_with(None, None).get("/.well-known/jwks.json").json()["keys"]
                      if k["kid"] == key.id)
    for secret in (key.public_key_pem.encode(), public_jwk["x"].encode(), json.dumps(public_jwk).encode()):
        forged = _hmac_token(claims, secret, {"alg": "HS256", "typ": "JWT", "kid": key.id})
        _assert_token_refused(tenant, forged)
    unchanged()


def _hmac_token(claims: dict[str, Any], secret: bytes, header: dict[str, Any]) -> str:
    import hashlib
    import hmac

    signing_input = f"{_b64(header)}.{_b64(claims)}".encode()
    signature = base64.urlsafe_b64encode(hmac.new(secret, signing_input, hashlib.sha256).digest()).decode()
    return f"{signing_input.decode()}.{signature.rstrip('=')}"


def test_a_token_of_another_tenant(tenant: TenantKeys, other_tenant: TenantKeys, world: dict[str, Any],
                                   unchanged: Callable[[], None]) -> None:
    foreign = world["mallory"]["session"]["access_token"]
    client = client_with(foreign, tenant.id)
    assert_refused(client.get("/v1/auth/me"), 403, "tenant_mismatch")
    assert_refused(client.get("/v1/sessions"), 403, "tenant_mismatch")
    assert_refused(client.delete(f"/v1/sessions/{world['alice']['session']['id']}"), 403, "tenant_mismatch")
    assert_refused(client.delete("/v1/sessions"), 403, "tenant_mismatch")
    verify = client_with(tenant.secret_key, tenant.id).post("/v1/sessions/verify", {"token": foreign}, format="json")
    assert verify.status_code == 200 and verify.json() == {"valid": False, "reason": "invalid_token", "session": None}
    # Another tenant's refresh token is unknown here, and presenting it must not revoke anything there.
    refresh = client_with(tenant.publishable_key, tenant.id).post(
        "/v1/auth/token/refresh", {"refresh_token": world["mallory"]["session"]["refresh_token"]}, format="json")
    assert_refused(refresh, 401, "refresh_token_invalid")
    unchanged()


def test_a_token_whose_kid_is_unknown(tenant: TenantKeys, world: dict[str, Any],
                                      unchanged: Callable[[], None]) -> None:
    token = world["alice"]["session"]["access_token"]
    header = jwt.get_unverified_header(token)
    signing_input, _, signature = token.rpartition(".")
    body = signing_input.split(".")[1]
    for kid in ["key_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "", "key_\x00", "' OR 1=1 --", "k" * 10_000, 42, None, ["x"],
                {"$ne": None}]:
        forged = f"{_b64({**header, 'kid': kid})}.{body}.{signature}"
        _assert_token_refused(tenant, forged)
    unchanged()


@pytest.mark.parametrize("garbage", ["a.b.c", "....", "eyJ.eyJ.", "Bearer", "x" * 5000, "ey" + "J" * 3000 + ".e.e"])
def test_garbage_tokens(tenant: TenantKeys, world: dict[str, Any], unchanged: Callable[[], None],
                        garbage: str) -> None:
    _assert_token_refused(tenant, garbage)
    unchanged()
