"""Operators' second factor: required mode, enrolment, wrong codes refused and counted, recovery codes once."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from hellojohn_project import operator_mfa

pytestmark = pytest.mark.django_db

PASSWORD = "operator password 0123"
MFA = "/admin/mfa/"
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def operator() -> Any:
    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest.fixture
def required(settings: Any) -> None:
    settings.HJ_OPERATOR_MFA = "required"


def code_of(device: TOTPDevice, *, later: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = timezone.now().timestamp() + later
    return f"{totp.token():06d}"


def sign_in(client: Client, token: str = "", password: str = PASSWORD) -> Any:
    return client.post(LOGIN, {"username": "root", "password": password, "otp_token": token, "next": "/admin/"})


def enrolled(operator: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(user=operator, name="app", confirmed=True)


def test_required_mode_sends_an_operator_without_a_second_factor_to_enrol_and_nowhere_else(required, operator):
    client = Client()
    assert sign_in(client).status_code == 302  # the password alone signs in, to enrol
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/sessions_app/session/").status_code == 302
    login_page = client.get("/admin/login/")
    assert login_page.status_code == 302 and login_page["Location"] == MFA

    page = client.get(MFA)
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=operator, confirmed=False)
    html = page.content.decode()
    assert "otpauth://totp/" in html and "<svg" in html and 'id="hj-totp-secret"' in html

    wrong = client.post(MFA, {"do": "confirm", "token": "000000" if code_of(device) != "000000" else "111111"})
    assert "not the one the app shows" in wrong.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed

    # After a wrong code django-otp throttles the device for a second (then 2, 4, ...): wait it out.
    with time_machine.travel(timezone.now() + timedelta(seconds=3), tick=False):
        done = client.post(MFA, {"do": "confirm", "token": code_of(device)})
    assert done.status_code == 200
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    codes = done.context["codes"]
    assert len(codes) == 10 and StaticToken.objects.filter(device__user=operator).count() == 10
    assert client.get("/admin/").status_code == 200  # this session is now verified


def test_required_mode_sign_in_needs_the_code_and_a_wrong_one_is_refused_and_counted(required, operator):
    device = enrolled(operator)
    for token in ("", "12345x"):
        client = Client(REMOTE_ADDR="203.0.113.7")
        response = sign_in(client, token)
        assert response.status_code == 200
        assert "The code is wrong, expired or already used." in response.content.decode()
        assert client.get("/admin/").status_code == 302
    assert AccessAttempt.objects.get(username="root").failures_since_start == 2  # axes counted both

    client = Client(REMOTE_ADDR="203.0.113.7")
    with time_machine.travel(timezone.now() + timedelta(seconds=3), tick=False):  # past django-otp's throttle
        assert sign_in(client, code_of(device)).status_code == 302
        assert client.get("/admin/").status_code == 200


def test_wrong_codes_lock_the_operator_out_like_wrong_passwords(required, operator):
    enrolled(operator)
    statuses = [sign_in(Client(REMOTE_ADDR="203.0.113.8"), "000001").status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_a_recovery_code_signs_in_once(required, operator):
    enrolled(operator)
    codes = operator_mfa.new_recovery_codes(operator=operator)
    first = Client()
    assert sign_in(first, codes[0]).status_code == 302
    assert first.get("/admin/").status_code == 200
    assert StaticToken.objects.filter(device__user=operator).count() == 9
    again = Client()
    assert sign_in(again, codes[0]).status_code == 200
    assert again.get("/admin/").status_code == 302
    with time_machine.travel(timezone.now() + timedelta(seconds=3), tick=False):  # past django-otp's throttle
        assert sign_in(Client(), codes[1]).status_code == 302


def test_optional_mode_asks_a_code_only_of_enrolled_operators(operator):
    client = Client()
    assert sign_in(client).status_code == 302
    assert client.get("/admin/").status_code == 200
    device = enrolled(operator)
    assert sign_in(Client()).status_code == 200  # enrolled: the code is needed now
    with time_machine.travel(timezone.now(), tick=False):
        assert sign_in(Client(), code_of(device)).status_code == 302


def test_changing_the_second_factor_needs_a_verified_session(required, operator):
    enrolled(operator)
    client = Client()
    client.force_login(operator)  # a password-only session
    assert client.get(MFA).status_code == 302
    assert not TOTPDevice.objects.filter(user=operator, confirmed=False).exists()


def test_the_login_page_has_a_heading_and_the_code_field(operator):
    html = Client().get("/admin/login/").content.decode()
    assert "<h1" in html and 'name="otp_token"' in html and 'autocomplete="one-time-code"' in html


def test_seed_demo_prints_the_demo_operators_second_factor_when_required(required, client):
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    demo = json.loads(out.getvalue())["operator"]
    assert demo["totp_uri"].startswith("otpauth://totp/") and demo["totp_secret"] in demo["totp_uri"]
    signed_in = Client()
    response = signed_in.post(LOGIN, {"username": demo["username"], "password": demo["password"],
                                      "otp_token": demo["recovery_code"], "next": "/admin/"})
    assert response.status_code == 302 and signed_in.get("/admin/").status_code == 200
    device = TOTPDevice.objects.get(user__username=demo["username"])
    assert device.confirmed and code_of(device)
