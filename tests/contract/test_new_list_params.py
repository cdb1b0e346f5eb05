"""Hostile query parameters on the event log and the webhook deliveries list answer the envelope, never
a 500, on SQLite and PostgreSQL (NUL bytes, which PostgreSQL refuses; timestamps at the calendar's ends)."""

import pytest

from tests.conftest import error_code
from tests.webhook_helpers import emit

pytestmark = pytest.mark.django_db

VALUES = ["%00", "x%00", "evt_%00", "ses_%00", "usr_%00", "cur_%00", "9" * 30, "-1", "%F0%9F%98%80",
          "0001-01-01T00:00:00%2B23:59", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00Z",
          "9999-12-31T23:59:59Z", "cur_WyJwIiw5OTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ", "cur_WyJwIiwwXQ",
          "cur_WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzA1OjAwIiwiZGVsXzAxSkRROFo2VjRYM04yTTFLMEhHRkVEQ0JBIl0"]
EVENT_PARAMS = ["type", "user_id", "session_id", "since", "until", "limit", "cursor"]
DELIVERY_PARAMS = ["status", "event", "since", "until", "limit", "cursor"]


def test_event_log_and_delivery_parameters(secret_key_client, tenant):
    endpoint = secret_key_client.post("/v1/webhooks", {"url": "https://93.184.216.34/hook", "events": ["*"]},
                                      format="json").json()["id"]
    emit(tenant.tenant)
    answers = {}
    for base, names in (("/v1/events", EVENT_PARAMS), (f"/v1/webhooks/{endpoint}/deliveries", DELIVERY_PARAMS)):
        for name in names:
            for value in VALUES:
                response = secret_key_client.get(f"{base}?{name}={value}")
                code = error_code(response) if response.status_code != 200 else "ok"
                answers[(base.split("/")[2], name, value)] = (response.status_code, code)
    assert {answer for answer in answers.values()} <= {(200, "ok"), (400, "invalid_parameter")}, answers
    # Every NUL is refused as a parameter, none reaches the database.
    assert all(answers[key] == (400, "invalid_parameter") for key in answers if "%00" in key[2])
