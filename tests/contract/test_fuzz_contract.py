"""Fuzzing the /v1 contract: schemathesis generates requests from the served OpenAPI schema and
sends them in-process to the WSGI app, with each kind of credential and with none.

Every answer must be: no 5xx, a status the schema documents, a body that conforms to the schema,
every non-2xx in the contract's error envelope, and schema-violating data refused with a 4xx.
Generation is derandomized and bounded, so CI sees the same requests every run and the suite stays
fast; raise HJ_FUZZ_EXAMPLES to search longer. Set HJ_FUZZ_REPORT=path to write what was tried.
"""

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sessions_app.device import describe_device
from sessions_app.models import Session
from sessions_app.services import start_session
from sessions_app.webhook_models import WebhookEndpoint
from sessions_app.webhooks.services import create_endpoint
from tests.conftest import DESKTOP_CHROME, TenantKeys, reset_rate_limits
from tests.factories import UserFactory

EXAMPLES = int(os.environ.get("HJ_FUZZ_EXAMPLES", "8"))
# Not positive_data_acceptance: the schema types emails, passwords and ids as plain strings, so
# schema-valid data is often refused (422 invalid_email, 400 for a malformed id), as the contract says.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, negative_data_rejection]
CREDENTIALS = ["none", "secret", "publishable", "user"]
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]

# What the fuzzer sent, by credential kind and answer, across the module: the README reports it.
TRIED: Counter[tuple[str, str, int]] = Counter()


def _operation_labels() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation, read from the generator so parametrization needs no request."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return [(method.upper(), path) for path, ops in document["paths"].items() for method in ops]


OPERATIONS = _operation_labels()


@pytest.fixture(scope="module")
def _served_as_localhost() -> Iterator[None]:
    """The WSGI app as Django's test client runs it: on the test's own connection and transaction.

    A bare WSGIHandler closes "obsolete" connections around each request, which would end the test
    transaction; Django's test client disconnects that handler for the same reason. schemathesis's
    WSGI transport addresses the app as "localhost".
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with override_settings(ALLOWED_HOSTS=["localhost", "testserver"]):
            yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def contract(_served_as_localhost: None) -> Any:
    """The schema exactly as served at /v1/openapi.json, bound to the in-process WSGI app."""
    return schemathesis.openapi.from_wsgi("/v1/openapi.json", WSGIHandler())


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    target = os.environ.get("HJ_FUZZ_REPORT")
    if target:
        rows = [{"credential": c, "mode": m, "status": s, "requests": n} for (c, m, s), n in sorted(TRIED.items())]
        with open(target, "w") as handle:
            json.dump({"examples_per_operation": EXAMPLES, "requests": sum(TRIED.values()), "rows": rows},
                      handle, indent=1)


class Credentials:
    """The credential a fuzzed request carries; an end user's is renewed when the fuzzer ends it."""

    def __init__(self, kind: str, keys: TenantKeys):
        self.kind, self.keys = kind, keys
        self.user = UserFactory(tenant=keys.tenant, email="fuzz@example.com")
        self.session_id = ""
        self.token = ""

    def _renew_user_token(self) -> None:
        session = Session.objects.filter(pk=self.session_id, revoked_at__isnull=True).first()
        if session is None:
            issued = start_session(user=self.user, device=describe_device(user_agent=DESKTOP_CHROME,
                                                                         ip_address="203.0.113.9"))
            self.session_id, self.token = issued.session.id, issued.access_token.token

    def headers(self) -> dict[str, str]:
        if self.kind == "none":
            return {}
        if self.kind == "user":
            self._renew_user_token()
            credential = self.token
        else:
            credential = self.keys.secret_key if self.kind == "secret" else self.keys.publishable_key
        return {"Authorization": f"Bearer {credential}", "X-Tenant-ID": self.keys.id}

    def real_ids(self) -> dict[str, str]:
        """Ids that exist in this tenant, so path-parameter operations reach their objects too."""
        self._renew_user_token()
        # A webhook endpoint of the tenant (again, when a fuzzed DELETE removed it).
        endpoint = WebhookEndpoint.objects.filter(tenant=self.keys.tenant).first() or create_endpoint(
            tenant=self.keys.tenant, url="https://93.184.216.34/hook", events=["*"]).endpoint
        webhook_paths = ("", "/rotate-secret", "/test", "/deliveries", "/deliveries/{delivery_id}/retry")
        return {"/v1/sessions/{id}": self.session_id, "/v1/users/{id}": self.user.id,
                **{f"/v1/webhooks/{{id}}{tail}": endpoint.id for tail in webhook_paths}}


def assert_envelope(response: Any) -> None:
    """Every non-2xx answers {"error": {code, message, status, request_id[, fields]}}."""
    if response.status_code < 400:
        return
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "status", "request_id"} <= set(error) <= {"code", "message", "status", "request_id",
                                                                        "fields"}, error
    assert error["status"] == response.status_code, error
    assert isinstance(error["code"], str) and error["code"], error
    assert [error["request_id"]] == response.headers["x-request-id"], error  # lower-case names, lists of values


def _strategy(operation: Any, mode: Any, credentials: Credentials, path: str) -> Any:
    path_parameters = None
    if mode == schemathesis.GenerationMode.POSITIVE and "{id}" in path:
        path_parameters = {"id": credentials.real_ids()[path]}
    return operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)


def _has_negatable_input(operation: Any) -> bool:
    """Negative generation needs something to break besides the headers we always overwrite."""
    definition = operation.definition.raw
    parameters = [p for p in definition.get("parameters", []) if p.get("in") != "header"]
    return bool(parameters) or "requestBody" in definition


@pytest.mark.django_db
# Rate-limit keys come from client input; a key memcached would refuse is a bug (found by this suite).
@pytest.mark.filterwarnings("error::django.core.cache.backends.base.CacheKeyWarning")
@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_answer_keeps_the_contract(contract: Any, tenant: TenantKeys, credential: str, method: str,
                                         path: str) -> None:
    operation = contract[path][method]
    credentials = Credentials(credential, tenant)
    for mode in MODES:
        if mode == schemathesis.GenerationMode.NEGATIVE and not _has_negatable_input(operation):
            continue
        _fuzz(operation, mode, credentials, path, credential)


def _fuzz(operation: Any, mode: Any, credentials: Credentials, path: str, credential: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(case=_strategy(operation, mode, credentials, path))
    def run(case: Any) -> None:
        reset_rate_limits()  # rate limits would otherwise stop the fuzzer before it reaches the views
        headers = dict(case.headers or {})
        headers.pop("Authorization", None)
        headers.pop("X-Tenant-ID", None)
        headers.update(credentials.headers())
        case.headers = headers
        response = case.call()
        TRIED[(credential, str(mode), response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)
        assert_envelope(response)

    run()


def test_the_served_schema_documents_errors_and_credentials(client: Callable[..., Any]) -> None:
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        document = client.get("/v1/openapi.json").json()
    assert set(document["components"]["securitySchemes"]) == {"secretKey", "publishableKey", "accessToken"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "default" in responses, (method, path)
            if path.startswith("/v1/"):
                assert {"400", "401", "403"} <= set(responses), (method, path)
                assert any(p["name"] == "X-Tenant-ID" and p["in"] == "header" for p in operation["parameters"])
