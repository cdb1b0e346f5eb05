"""Outbound safety: URLs refused at save (422 invalid_webhook_url) and at every attempt, DNS rebinding,
allowed networks, cloud metadata (docs/api.md, "Endpoint URLs")."""

import pytest
from django.test import override_settings
from pytest_httpserver import HTTPServer

from sessions_app.webhook_models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from sessions_app.webhooks import outbound, services
from sessions_app.webhooks.exceptions import InvalidWebhookUrl
from sessions_app.webhooks.worker import deliver_due
from tests.conftest import error_code
from tests.webhook_helpers import emit, receiver_url

REFUSED_ADDRESSES = [
    "127.0.0.1", "127.1.2.3", "::1",  # loopback
    "10.0.0.1", "172.16.0.1", "192.168.1.1",  # private
    "169.254.1.1", "fe80::1",  # link-local
    "100.64.0.1", "100.127.255.254",  # CGNAT, shared address space
    "fc00::1", "fd12:3456::1",  # unique local
    "0.0.0.0", "0.1.2.3", "::",  # noqa: S104 - this network, unspecified
    "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.51.100.1", "203.0.113.1", "198.18.0.1",  # reserved, docs
    "2001:db8::1",  # documentation
    "::ffff:127.0.0.1", "::ffff:8.8.8.8",  # IPv4-mapped
    "64:ff9b::a00:1", "2002:a00:1::1",  # NAT64, 6to4 embedding 10.0.0.1
    "224.0.0.1", "239.1.2.3", "ff02::1",  # multicast
    "169.254.169.254", "fd00:ec2::254", "100.100.100.200",  # cloud metadata
]
METADATA = ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2", "192.0.0.192"]


def answering(*addresses: str):
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def url_for(address: str, scheme: str = "https") -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{scheme}://{host}/hook"


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_every_non_public_address_is_refused_as_a_literal_and_as_a_resolved_name(address):
    with pytest.raises(InvalidWebhookUrl):
        outbound.check_url(url_for(address))
    with pytest.raises(InvalidWebhookUrl):
        outbound.check_url("https://hooks.example.com/hook", resolver=answering(address))
    # One bad address among good ones is enough to refuse.
    with pytest.raises(InvalidWebhookUrl):
        outbound.check_url("https://hooks.example.com/hook", resolver=answering("93.184.216.34", address))


def test_public_addresses_are_accepted_and_the_target_keeps_the_name():
    target = outbound.check_url("https://hooks.example.com:8443/in?x=1",
                                resolver=answering("93.184.216.34", "2606:2800:220:1::1"))
    assert target.host == "hooks.example.com" and target.port == 8443 and target.path == "/in?x=1"
    assert target.addresses == ("93.184.216.34", "2606:2800:220:1::1")


@pytest.mark.parametrize("url", [
    "http://93.184.216.34/hook",  # http:// to a public address
    "ftp://93.184.216.34/hook", "file:///etc/passwd", "gopher://93.184.216.34/", "//93.184.216.34/hook",
    "https://user:pass@93.184.216.34/hook",  # credentials
    "https:///hook", "https://", "", "https://93.184.216.34/hook#frag",
    "https://93.184.216.34:99999/", "https://93.184.216.34/ho ok", "https://93.184.216.34/\nhook",
    "https://" + "a" * 2100 + ".com/",
])
def test_malformed_or_unsafe_urls_are_refused(url):
    with pytest.raises(InvalidWebhookUrl):
        outbound.check_url(url, resolver=answering("93.184.216.34"))


def test_a_name_that_does_not_resolve_is_refused():
    def fails(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(InvalidWebhookUrl, match="does not resolve"):
        outbound.check_url("https://nowhere.example/", resolver=fails)


def test_allowed_networks_open_a_range_and_http_for_it_but_never_metadata():
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8", "10.0.0.0/8", "169.254.0.0/16",
                                                        "fd00::/8", "100.64.0.0/10"]):
        assert outbound.check_url("http://127.0.0.1:9000/hook").addresses == ("127.0.0.1",)
        assert outbound.check_url("https://10.1.2.3/hook").addresses == ("10.1.2.3",)
        for address in METADATA:
            with pytest.raises(InvalidWebhookUrl, match="metadata"):
                outbound.check_url(url_for(address))
            with pytest.raises(InvalidWebhookUrl, match="metadata"):
                outbound.check_url("http://metadata.internal/", resolver=answering(address))
        # http:// stays refused for public addresses outside the allowed networks.
        with pytest.raises(InvalidWebhookUrl):
            outbound.check_url("http://93.184.216.34/hook")
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=["0.0.0.0/0", "::/0"]):
        for address in METADATA:
            with pytest.raises(InvalidWebhookUrl, match="metadata"):
                outbound.check_url(url_for(address))
    with pytest.raises(InvalidWebhookUrl):
        outbound.check_url("http://127.0.0.1:9000/hook")


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "100.64.0.1", "::1",
                                     "::ffff:10.0.0.1"])
def test_the_api_answers_422_invalid_webhook_url_and_stores_nothing(secret_key_client, address):
    response = secret_key_client.post("/v1/webhooks", {"url": url_for(address), "events": ["*"]}, format="json")
    assert response.status_code == 422
    assert error_code(response) == "invalid_webhook_url"
    assert "url" in response.json()["error"]["fields"]
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.django_db
def test_patching_to_a_private_url_is_refused_and_changes_nothing(secret_key_client):
    created = secret_key_client.post("/v1/webhooks", {"url": "https://93.184.216.34/hook", "events": ["*"]},
                                format="json").json()
    response = secret_key_client.patch(f"/v1/webhooks/{created['id']}", {"url": "https://192.168.0.10/hook"},
                                  format="json")
    assert response.status_code == 422 and error_code(response) == "invalid_webhook_url"
    assert WebhookEndpoint.objects.get().url == "https://93.184.216.34/hook"


@pytest.mark.django_db(transaction=True)
def test_dns_rebinding_a_public_answer_at_save_and_loopback_at_send_is_refused_at_send(tenant, httpserver: HTTPServer):
    """The name resolves to a public address when saved and to 127.0.0.1 (the receiver) when sent."""
    httpserver.expect_request("/hook").respond_with_data("must never be reached")
    url = f"http://rebind.example:{httpserver.port}/hook"
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=["93.184.216.0/24"]):
        services.create_endpoint(tenant=tenant.tenant, url=url, events=["*"], resolver=answering("93.184.216.34"))
        emit(tenant.tenant)
        assert deliver_due(resolver=answering("127.0.0.1")) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts[0]["error"] == "url_refused" and delivery.attempts[0]["response_status"] is None
    assert "127.0.0.1 is not a public address" in delivery.attempts[0]["response_excerpt"]
    assert httpserver.log == []


@pytest.mark.django_db(transaction=True)
def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(tenant, httpserver: HTTPServer):
    """The sender connects to the address the check approved; the Host header keeps the name."""
    httpserver.expect_request("/hook").respond_with_data("ok")
    calls: list[str] = []

    def once_then_elsewhere(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) <= 2 else ["10.9.9.9"]

    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        services.create_endpoint(tenant=tenant.tenant, url=f"http://receiver.test:{httpserver.port}/hook",
                                 events=["*"], resolver=once_then_elsewhere)
        emit(tenant.tenant)
        deliver_due(resolver=once_then_elsewhere)
    assert calls == ["receiver.test", "receiver.test"]  # at save, at the attempt; never by the HTTP client
    [(request, _)] = httpserver.log
    assert request.headers["Host"] == f"receiver.test:{httpserver.port}"
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_an_allowed_network_removed_after_save_is_refused_at_the_attempt(tenant, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        services.create_endpoint(tenant=tenant.tenant, url=receiver_url(httpserver), events=["*"])
    emit(tenant.tenant)
    deliver_due()
    assert WebhookDelivery.objects.get().attempts[0]["error"] == "url_refused"
    assert httpserver.log == []
