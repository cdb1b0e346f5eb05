"""New-sign-in emails through a real SMTP server on loopback and the worker run in-process: which
sign-ins send one, what it says, and that a dead mail server never fails a sign-in and is retried
(docs/api.md, tenant config `sign_in_alerts`)."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from sessions_app.alerts import ATTEMPTS, RETRY_DELAYS, deliver_sign_in_alert, send_sign_in_alert, should_alert
from sessions_app.models import Session
from tenants_app.models import TenantConfig
from tests.conftest import DESKTOP_CHROME, IPHONE_SAFARI, client_with
from tests.factories import TEST_PASSWORD
from tests.smtp import SmtpServer, smtp_server  # noqa: F401 (fixture)
from tests.task_worker import run_worker

# Real commits: the email's task exists only once the sign-in's transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)

PROXY = "10.0.0.7"
US, JP = "8.8.8.8", "133.1.1.1"


@pytest.fixture(autouse=True)
def _behind_a_proxy(settings: Any) -> None:
    settings.HJ_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.HJ_PUBLIC_URL = "https://sessions.example.com"


def set_alerts(tenant: Any, value: str) -> None:
    TenantConfig.objects.filter(tenant=tenant.tenant).update(sign_in_alerts=value)


def sign_in(tenant: Any, ip: str, user_agent: str = DESKTOP_CHROME) -> Any:
    client = client_with(tenant.publishable_key, tenant.id, HTTP_USER_AGENT=user_agent, REMOTE_ADDR=PROXY,
                         HTTP_X_FORWARDED_FOR=ip)
    return client.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD}, format="json")


@pytest.mark.parametrize(("setting", "expected_subjects"), [
    ("off", 0),
    ("flagged", 1),  # only the sign-in from Japan on a phone
    ("all", 3),      # each sign-in
])
def test_which_sign_ins_send_an_email(setting: str, expected_subjects: int, tenant: Any, user: Any,
                                      smtp_server: SmtpServer) -> None:  # noqa: F811
    set_alerts(tenant, setting)
    for ip, agent in ((US, DESKTOP_CHROME), (US, DESKTOP_CHROME), (JP, IPHONE_SAFARI)):
        assert sign_in(tenant, ip, agent).status_code == 200
    assert smtp_server.inbox.messages == []  # never inside the request: the worker sends
    assert alert_tasks().count() == expected_subjects
    assert run_worker() == expected_subjects
    assert len(smtp_server.inbox.messages) == expected_subjects
    assert alert_tasks().filter(status=TaskResultStatus.SUCCESSFUL).count() == expected_subjects
    if setting == "flagged":
        flagged = Session.objects.exclude(flags={}).get()
        assert flagged.country == "JP"


def test_the_email_says_what_signed_in_where_and_what_to_do(tenant: Any, user: Any,
                                                           smtp_server: SmtpServer) -> None:  # noqa: F811
    set_alerts(tenant, "flagged")
    sign_in(tenant, US)
    response = sign_in(tenant, JP, IPHONE_SAFARI)
    assert response.status_code == 200
    run_worker()
    [message] = smtp_server.inbox.messages
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "New sign-in to Acme"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    session = Session.objects.get(pk=response.json()["session"]["id"])
    for part in (text, html):
        assert "Acme" in part
        assert "Phone" in part
        assert "Mobile Safari 17" in part and "iOS 17.1" in part
        assert "Japan" in part
        assert f"{session.created_at:%Y-%m-%d %H:%M} UTC" in part
        assert "https://sessions.example.com/t/acme/sessions" in part
        assert "First sign-in from Japan" in part and "New device" in part
    assert "If this wasn't you, sign it out and change your password" in text
    assert "If this wasn't you, sign it out and change your password</a>" in html


def test_a_dead_mail_server_does_not_fail_the_sign_in_and_the_mail_is_sent_once_it_is_back(
        tenant: Any, user: Any, settings: Any) -> None:
    server = SmtpServer(free_port_for_test())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 2
    set_alerts(tenant, "all")
    response = sign_in(tenant, US)  # nothing listens on the port
    assert response.status_code == 200
    session_id = response.json()["session"]["id"]
    assert Session.objects.filter(pk=session_id, revoked_at__isnull=True).exists()
    started = timezone.now()
    assert run_worker() == 1  # the first attempt meets a refused connection
    assert alert_tasks().filter(status=TaskResultStatus.FAILED).count() == 1
    [retry] = alert_tasks().filter(status=TaskResultStatus.READY)
    assert retry.args_kwargs == {"args": [session_id, 2], "kwargs": {}}
    assert retry.run_after >= started + RETRY_DELAYS[0]
    assert run_worker() == 0  # not due yet
    server.start()
    try:
        with time_machine.travel(retry.run_after + timedelta(seconds=1), tick=True):
            assert run_worker() == 1
        assert [m["Subject"] for m in server.inbox.messages] == ["New sign-in to Acme"]
        assert alert_tasks().get(pk=retry.pk).status == TaskResultStatus.SUCCESSFUL
        assert not alert_tasks().filter(status=TaskResultStatus.READY).exists()
    finally:
        server.stop()


def test_the_retries_are_bounded(tenant: Any, user: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port_for_test(), 2
    set_alerts(tenant, "all")
    session_id = sign_in(tenant, US).json()["session"]["id"]
    with time_machine.travel(timezone.now(), tick=True) as clock:
        for _ in range(ATTEMPTS):
            assert run_worker() == 1
            clock.shift(timedelta(hours=2))
        assert run_worker() == 0
    attempts = sorted(task.args_kwargs["args"][1] if len(task.args_kwargs["args"]) > 1 else 1
                      for task in alert_tasks())
    assert attempts == list(range(1, ATTEMPTS + 1))
    assert alert_tasks().filter(status=TaskResultStatus.FAILED).count() == ATTEMPTS
    assert all(task.args_kwargs["args"][0] == session_id for task in alert_tasks())


def alert_tasks() -> Any:
    return DBTaskResult.objects.filter(task_path=deliver_sign_in_alert.module_path)


def test_sign_up_sends_no_new_sign_in_email(tenant: Any, smtp_server: SmtpServer) -> None:  # noqa: F811
    set_alerts(tenant, "all")
    client = client_with(tenant.publishable_key, tenant.id)
    response = client.post("/v1/auth/sign-up", {"email": "new@example.com", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 201
    run_worker()
    assert not alert_tasks().exists()
    assert smtp_server.inbox.messages == []


def test_a_failed_sign_in_sends_nothing(tenant: Any, user: Any, smtp_server: SmtpServer) -> None:  # noqa: F811
    set_alerts(tenant, "all")
    client = client_with(tenant.publishable_key, tenant.id)
    response = client.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": "nope"}, format="json")
    assert response.status_code == 401
    run_worker()
    assert smtp_server.inbox.messages == []


@pytest.mark.parametrize(("setting", "flags", "expected"), [
    ("off", {}, False), ("off", {"new_device": {}}, False),
    ("flagged", {}, False), ("flagged", {"new_device": {}}, True),
    ("all", {}, True), ("all", {"burst": {}}, True),
])
def test_should_alert(setting: str, flags: dict, expected: bool) -> None:
    assert should_alert(TenantConfig(sign_in_alerts=setting), flags) is expected


def test_a_vanished_session_sends_nothing(smtp_server: SmtpServer) -> None:  # noqa: F811
    assert send_sign_in_alert("ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA") is False
    assert smtp_server.inbox.messages == []


def free_port_for_test() -> int:
    from tests.smtp import free_port
    return free_port()
