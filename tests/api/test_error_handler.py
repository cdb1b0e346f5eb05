"""The envelope handler wraps DRF's own: DRF's rollback and headers survive the reshaping."""

import pytest
from django.db import connection, transaction
from rest_framework import exceptions
from rest_framework.test import APIRequestFactory

from hellojohn_project.api.errors import envelope_exception_handler
from tenants_app.exceptions import InvalidCredentials

pytestmark = pytest.mark.django_db


def _context() -> dict[str, object]:
    request = APIRequestFactory().post("/v1/auth/sign-in")
    request.request_id = "req_test"
    return {"request": request, "view": None}


def test_a_domain_error_marks_the_open_transaction_for_rollback(monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF rolls back only the request's own transaction, which exists under ATOMIC_REQUESTS.
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    with transaction.atomic():
        response = envelope_exception_handler(InvalidCredentials(), _context())
        assert transaction.get_rollback() is True
        transaction.set_rollback(False)
    assert response is not None and response.status_code == 401
    assert response.data == {"error": {"code": "invalid_credentials", "message": InvalidCredentials().message,
                                       "status": 401, "request_id": "req_test"}}


def test_drf_headers_survive_in_the_envelope() -> None:
    failed = exceptions.AuthenticationFailed("nope")
    failed.auth_header = "Bearer"
    response = envelope_exception_handler(failed, _context())
    assert response is not None and response["WWW-Authenticate"] == "Bearer"
    assert response.data["error"]["code"] == "invalid_token"
    throttled = envelope_exception_handler(exceptions.Throttled(wait=1.2), _context())
    assert throttled is not None and throttled["Retry-After"] == "2"  # rounded up, never down
    assert throttled.data["error"]["code"] == "rate_limited"


def test_an_unknown_exception_is_left_to_django() -> None:
    assert envelope_exception_handler(RuntimeError("boom"), _context()) is None
