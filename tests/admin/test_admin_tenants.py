"""Tenants, their config and their API keys in the Django admin."""

import re
from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.models import RevocationReason
from tenants_app import secrets
from tenants_app.models import ApiKey, Tenant, TenantConfig
from tenants_app.selectors import api_key_for
from tests.admin_helpers import action, staff_client
from tests.factories import SessionFactory, TenantFactory, UserFactory

TENANTS = "/admin/tenants_app/tenant/"
KEYS = "/admin/tenants_app/apikey/"
KEY_PATTERN = re.compile(r"\b(?:sk|pk)_(?:live|test)_[A-Za-z0-9_-]{32,}")

pytestmark = pytest.mark.django_db


def form_data(response: Any) -> dict[str, Any]:
    """The POST a browser would send back from a rendered change form, inlines included."""
    data: dict[str, Any] = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form[name].value()
        for inline_form in formset.forms:
            for name in inline_form.fields:
                value = inline_form[name].value()
                data[inline_form.add_prefix(name)] = "" if value is None else value
    return data


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Tenants -------------------------------------------------------------------------------------


def test_creating_a_tenant_creates_its_config_and_keys_shown_once(root):
    client, _ = root
    response = client.post(f"{TENANTS}add/", {"name": "Initech", "slug": ""}, follow=True)
    tenant = Tenant.objects.get(name="Initech")
    assert response.redirect_chain == [(f"{TENANTS}{quote(tenant.pk)}/change/", 302)]
    assert tenant.slug == "initech"
    config = TenantConfig.objects.get(tenant=tenant)
    assert (config.max_sessions_per_user, config.idle_timeout) == (None, None)

    (message,) = messages_of(response)
    shown = KEY_PATTERN.findall(message)
    assert len(shown) == 2
    keys = ApiKey.objects.filter(tenant=tenant)
    assert sorted(key.key_hash for key in keys) == sorted(secrets.digest(plaintext) for plaintext in shown)
    assert all(api_key_for(plaintext).tenant_id == tenant.pk for plaintext in shown)

    # Never again, and the hashes never.
    for url in (f"{TENANTS}{tenant.pk}/change/", TENANTS, KEYS, *(f"{KEYS}{key.pk}/change/" for key in keys)):
        html = client.get(url).content.decode()
        assert not any(plaintext in html for plaintext in shown), url
        assert not any(key.key_hash in html for key in keys), url


def test_history_names_the_created_tenant_and_the_changed_rules(root):
    client, operator = root
    client.post(f"{TENANTS}add/", {"name": "Initech", "slug": ""})
    tenant = Tenant.objects.get(name="Initech")
    url = f"{TENANTS}{quote(tenant.pk)}/change/"
    data = form_data(client.get(url))
    data.update({"config-0-idle_timeout": "3600"})
    assert client.post(url, data).status_code == 302
    entries = [(e.action_flag, e.object_id, e.user_id, e.get_change_message())
               for e in LogEntry.objects.order_by("pk")]
    assert entries == [
        (ADDITION, tenant.pk, operator.pk, "Added."),
        (CHANGE, tenant.pk, operator.pk, f"Changed idle_timeout for tenant config “Config of {tenant.pk}”."),
    ]


def test_save_and_add_another_keeps_djangos_answer(root):
    client, _ = root
    response = client.post(f"{TENANTS}add/", {"name": "Initech", "slug": "", "_addanother": "1"}, follow=True)
    assert response.redirect_chain == [(f"{TENANTS}add/", 302)]
    warning, added = messages_of(response)
    assert len(KEY_PATTERN.findall(warning)) == 2
    assert "was added successfully. You may add another tenant below." in added


def test_tenant_slug_must_be_unique(root, tenant):
    client, _ = root
    response = client.post(f"{TENANTS}add/", {"name": "Other Acme", "slug": "acme"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Tenant.objects.filter(name="Other Acme").count() == 0


def test_config_inline_validates_bounds_with_friendly_errors(root, tenant):
    client, _ = root
    url = f"{TENANTS}{tenant.id}/change/"
    data = form_data(client.get(url))
    data.update({"config-0-session_duration": "10", "config-0-max_sessions_per_user": "5000",
                 "config-0-access_token_ttl": "", "config-0-idle_timeout": "59"})
    response = client.post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Must be between 300 and 31,536,000 seconds." in html
    assert "Must be between 1 and 1,000." in html
    assert "Must be between 60 and 31,536,000 seconds." in html
    assert "Required: a whole number of seconds." in html
    config = TenantConfig.objects.get(tenant=tenant.tenant)
    assert (config.session_duration, config.max_sessions_per_user, config.idle_timeout) == (30 * 86400, None, None)


def test_config_and_tenant_changes_are_saved(root, tenant):
    client, _ = root
    url = f"{TENANTS}{tenant.id}/change/"
    data = form_data(client.get(url))
    data.update({"name": "Acme Corp", "config-0-max_sessions_per_user": "3", "config-0-idle_timeout": "3600"})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    config = TenantConfig.objects.get(tenant=tenant.tenant)
    assert (config.max_sessions_per_user, config.idle_timeout, config.session_duration) == (3, 3600, 30 * 86400)
    assert Tenant.objects.get(pk=tenant.id).name == "Acme Corp"
    assert client.get(f"{TENANTS}{tenant.id}/delete/").status_code == 403


def test_tenant_without_config_gets_one_from_the_inline(root):
    client, _ = root
    bare = Tenant.objects.create(name="Bare", slug="bare")
    url = f"{TENANTS}{bare.pk}/change/"
    data = form_data(client.get(url))
    data.update({"config-0-session_duration": "600", "config-0-access_token_ttl": "120"})
    assert client.post(url, data).status_code == 302
    config = TenantConfig.objects.get(tenant=bare)
    assert (config.session_duration, config.access_token_ttl) == (600, 120)


def test_changelist_counts_users_and_active_sessions_in_bounded_queries(root, tenant, other_tenant):
    client, _ = root
    TenantConfig.objects.filter(tenant=tenant.tenant).update(idle_timeout=3600)
    alice, bob = UserFactory(tenant=tenant.tenant), UserFactory(tenant=tenant.tenant)
    now = timezone.now()
    SessionFactory(user=alice)
    SessionFactory(user=bob)
    SessionFactory(user=bob, last_active_at=now - timezone.timedelta(hours=2))  # idle past the timeout
    SessionFactory(user=bob, revoked_at=now, revoked_reason=RevocationReason.SIGNED_OUT)
    carol = UserFactory(tenant=other_tenant.tenant)
    SessionFactory(user=carol, last_active_at=now - timezone.timedelta(hours=2))  # no idle timeout there

    response = client.get(TENANTS)
    rows = {t.pk: (t.user_count, t.active_session_count) for t in response.context["cl"].result_list}
    assert rows == {tenant.id: (2, 2), other_tenant.id: (1, 1)}
    detail = client.get(f"{TENANTS}{tenant.id}/change/").content.decode()
    assert f"?tenant__id__exact={tenant.id}&amp;status=active" in detail

    with CaptureQueriesContext(connection) as few:
        client.get(TENANTS)
    TenantFactory.create_batch(30)
    with CaptureQueriesContext(connection) as many:
        client.get(TENANTS)
    assert len(many) == len(few)


# --- API keys ------------------------------------------------------------------------------------


def test_issuing_a_key_shows_the_plaintext_once(root, tenant):
    client, _ = root
    response = client.post(f"{KEYS}add/", {"tenant": tenant.id, "kind": "secret", "mode": "test"}, follow=True)
    assert response.status_code == 200
    (plaintext,) = KEY_PATTERN.findall(" ".join(messages_of(response)))
    assert plaintext.startswith("sk_test_")
    key = api_key_for(plaintext)
    assert key is not None and key.tenant_id == tenant.id and key.mode == "test"
    assert list(LogEntry.objects.values_list("action_flag", "object_id")) == [(ADDITION, key.pk)]
    for url in (KEYS, f"{KEYS}{key.pk}/change/"):
        html = client.get(url).content.decode()
        assert plaintext not in html and key.key_hash not in html
        assert key.display_prefix in html


def test_revoke_key_action(root, tenant):
    client, _ = root
    secret, publishable = ApiKey.objects.get(tenant=tenant.tenant, kind="secret"), \
        ApiKey.objects.get(tenant=tenant.tenant, kind="publishable")
    response = action(client, KEYS, "revoke_keys", [secret.pk], follow=True)
    assert messages_of(response) == ["Revoked 1 key(s)."]
    assert api_key_for(tenant.secret_key) is None
    assert api_key_for(tenant.publishable_key) is not None
    assert ApiKey.objects.get(pk=publishable.pk).revoked_at is None
    revoked_at = ApiKey.objects.get(pk=secret.pk).revoked_at
    again = action(client, KEYS, "revoke_keys", [secret.pk], follow=True)
    assert messages_of(again) == ["Those keys were already revoked."]
    assert ApiKey.objects.get(pk=secret.pk).revoked_at == revoked_at
    assert client.get(f"{KEYS}{secret.pk}/delete/").status_code == 403
    assert client.post(f"{KEYS}{secret.pk}/change/", {"mode": "test"}).status_code == 403


def test_view_only_staff_cannot_issue_or_revoke_keys_or_edit_tenants(tenant):
    client, _ = staff_client("viewer")
    assert client.get(KEYS).status_code == 200
    assert "revoke_keys" not in client.get(KEYS).content.decode()
    assert client.get(f"{KEYS}add/").status_code == 403
    assert client.post(f"{KEYS}add/", {"tenant": tenant.id, "kind": "secret", "mode": "live"}).status_code == 403
    action(client, KEYS, "revoke_keys", list(ApiKey.objects.values_list("pk", flat=True)))
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 0
    assert ApiKey.objects.count() == 2
    assert client.get(f"{TENANTS}{tenant.id}/change/").status_code == 200
    assert client.post(f"{TENANTS}{tenant.id}/change/", {"name": "Hacked"}).status_code == 403
    assert client.post(f"{TENANTS}add/", {"name": "Nope"}).status_code == 403
    assert Tenant.objects.get(pk=tenant.id).name == "Acme"
    assert not Tenant.objects.filter(name="Nope").exists()
