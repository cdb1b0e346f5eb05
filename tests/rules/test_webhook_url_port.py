"""A webhook URL's explicit port is where it is sent: port 0 is refused, not replaced by the default."""

import pytest

from sessions_app.webhook_models import WebhookEndpoint
from sessions_app.webhooks import outbound
from sessions_app.webhooks.exceptions import InvalidWebhookUrl
from tests.conftest import error_code

pytestmark = pytest.mark.django_db


def test_port_zero_is_refused_at_save(secret_key_client):
    response = secret_key_client.post("/v1/webhooks", {"url": "https://93.184.216.34:0/hook", "events": ["*"]},
                                      format="json")
    assert response.status_code == 422 and error_code(response) == "invalid_webhook_url"
    assert response.json()["error"]["fields"] == {"url": ["The port must be between 1 and 65535."]}
    assert not WebhookEndpoint.objects.exists()


def test_an_explicit_port_is_kept_and_the_default_fills_in_only_when_none_is_given():
    assert outbound.check_url("https://93.184.216.34:8443/hook").port == 8443
    assert outbound.check_url("https://93.184.216.34/hook").port == 443
    with pytest.raises(InvalidWebhookUrl):
        outbound.check_url("https://93.184.216.34:0/hook")
