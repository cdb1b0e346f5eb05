"""Signing out from the page: one other device, all other devices, or this one. Every action is a
POST with CSRF protection, goes through the revocation rule (`services.revoke_session`), and refuses sessions that are
not the visitor's own."""

from typing import Any

import pytest
from django.utils import timezone

from sessions_app.models import RevocationReason, Session
from tenants_app.models import User
from tests.conftest import IPHONE_SAFARI
from tests.factories import SessionFactory, UserFactory
from tests.webpages import COOKIE, messages_on, session_of, signed_in

pytestmark = pytest.mark.django_db


def revocations() -> dict[str, tuple[str | None, str | None]]:
    """Every session's (revoked_reason, revoked_by), to prove what changed and what did not."""
    return {s.id: (s.revoked_reason, s.revoked_by_id) for s in Session.objects.all()}


def test_signing_out_another_device(user: User, caplog: Any, django_capture_on_commit_callbacks: Any) -> None:
    desktop = signed_in()
    iphone = session_of(signed_in(user_agent=IPHONE_SAFARI))
    current = session_of(desktop)
    bystander = SessionFactory(user=user)

    with django_capture_on_commit_callbacks(execute=True):  # the audit line follows the commit
        response = desktop.post(f"/t/acme/sessions/{iphone.id}/sign-out")

    assert (response.status_code, response["Location"]) == (302, "/t/acme/sessions")
    iphone.refresh_from_db()
    assert (iphone.revoked_reason, iphone.revoked_by_id) == (RevocationReason.REVOKED_BY_USER, None)
    assert iphone.revoked_at is not None
    assert revocations()[current.id] == revocations()[bystander.id] == (None, None)
    # The one revocation path wrote the audit line, with the user as actor.
    audit = [r for r in caplog.records if getattr(r, "event", "") == "session.revoked"]
    assert [(r.session_id, r.reason, r.actor) for r in audit] == [(iphone.id, "revoked_by_user", f"user:{user.id}")]
    page = desktop.get("/t/acme/sessions")
    assert messages_on(page) == ["Signed out of Mobile Safari 17 on iOS 17.1."]
    assert iphone.id not in page.content.decode()


def test_the_signed_out_device_lands_on_sign_in(user: User) -> None:
    desktop, iphone = signed_in(), signed_in(user_agent=IPHONE_SAFARI)
    desktop.post(f"/t/acme/sessions/{session_of(iphone).id}/sign-out")
    response = iphone.get("/t/acme/sessions", follow=True)
    assert response.redirect_chain[0][0] == "/t/acme/sign-in?next=%2Ft%2Facme%2Fsessions"
    assert messages_on(response) == ["This device was signed out from another of your devices."]


def test_signing_out_an_already_ended_session_changes_nothing(user: User) -> None:
    desktop = signed_in()
    old = SessionFactory(user=user, revoked_at=timezone.now(), revoked_reason=RevocationReason.SESSION_LIMIT)
    before = revocations()
    response = desktop.post(f"/t/acme/sessions/{old.id}/sign-out", follow=True)
    assert response.status_code == 200
    assert messages_on(response) == ["Chrome 120 on macOS 10.15 was already signed out."]
    assert revocations() == before


@pytest.mark.parametrize("whose", ["other user", "other tenant", "nobody", "malformed"])
def test_a_session_that_is_not_the_visitors_answers_404_and_changes_nothing(
    user: User, other_tenant: Any, whose: str,
) -> None:
    desktop = signed_in()
    targets = {
        "other user": lambda: SessionFactory(user=UserFactory(tenant=user.tenant)).id,
        "other tenant": lambda: SessionFactory(user=UserFactory(tenant=other_tenant.tenant)).id,
        "nobody": lambda: "ses_01HZZZZZZZZZZZZZZZZZZZZZZZ",
        "malformed": lambda: "ses_' OR 1=1 --",
    }
    target = targets[whose]()
    before = revocations()
    response = desktop.post(f"/t/acme/sessions/{target}/sign-out")
    assert response.status_code == 404
    assert revocations() == before


def test_posting_the_current_session_signs_this_browser_out(user: User) -> None:
    desktop = signed_in()
    current = session_of(desktop)
    response = desktop.post(f"/t/acme/sessions/{current.id}/sign-out")
    assert (response.status_code, response["Location"]) == (302, "/t/acme/sign-in")
    assert response.cookies[COOKIE]["max-age"] == 0
    current.refresh_from_db()
    assert current.revoked_reason == RevocationReason.SIGNED_OUT


def test_signing_out_all_other_devices_keeps_only_this_one(user: User) -> None:
    desktop = signed_in()
    current = session_of(desktop)
    others = [session_of(signed_in(user_agent=IPHONE_SAFARI)), SessionFactory(user=user)]
    neighbour = SessionFactory(user=UserFactory(tenant=user.tenant))

    response = desktop.post("/t/acme/sessions/sign-out-others", follow=True)

    assert response.redirect_chain == [("/t/acme/sessions", 302)]
    assert messages_on(response) == ["Signed out of 2 other devices."]
    state = revocations()
    assert [state[s.id] for s in others] == [(RevocationReason.REVOKED_BY_USER, None)] * 2
    assert state[current.id] == state[neighbour.id] == (None, None)

    again = desktop.post("/t/acme/sessions/sign-out-others", follow=True)
    assert messages_on(again) == ["No other devices were signed in."]
    assert revocations() == state


def test_signing_out_this_device(user: User) -> None:
    desktop = signed_in()
    current = session_of(desktop)
    other = SessionFactory(user=user)
    response = desktop.post("/t/acme/sign-out")
    assert (response.status_code, response["Location"]) == (302, "/t/acme/sign-in")
    assert response.cookies[COOKIE]["max-age"] == 0
    state = revocations()
    assert state[current.id] == (RevocationReason.SIGNED_OUT, None)
    assert state[other.id] == (None, None)
    assert messages_on(desktop.get("/t/acme/sign-in")) == ["You signed out."]
    assert desktop.get("/t/acme/sessions")["Location"].startswith("/t/acme/sign-in")


@pytest.mark.parametrize("path", ["/t/acme/sign-out", "/t/acme/sessions/sign-out-others", "{iphone}"])
def test_actions_without_the_csrf_token_are_refused(user: User, path: str) -> None:
    desktop = signed_in(enforce_csrf_checks=True)
    iphone = session_of(signed_in(user_agent=IPHONE_SAFARI))
    before = revocations()
    url = f"/t/acme/sessions/{iphone.id}/sign-out" if path == "{iphone}" else path
    response = desktop.post(url)
    assert response.status_code == 403
    assert revocations() == before

    # The same request with the page's token goes through: the refusal above was the token.
    token = str(desktop.get("/t/acme/sessions").context["csrf_token"])
    assert desktop.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert revocations() != before


@pytest.mark.parametrize("path", ["/t/acme/sign-out", "/t/acme/sessions/sign-out-others"])
def test_actions_refuse_get(user: User, path: str) -> None:
    desktop = signed_in()
    assert desktop.get(path).status_code == 405
    assert revocations() == {session_of(desktop).id: (None, None)}


def test_a_signed_out_browser_cannot_act(user: User) -> None:
    desktop = signed_in()
    iphone = session_of(signed_in(user_agent=IPHONE_SAFARI))
    desktop.post("/t/acme/sign-out")
    desktop.cookies[COOKIE] = "rft_stale"
    before = revocations()
    response = desktop.post(f"/t/acme/sessions/{iphone.id}/sign-out")
    assert (response.status_code, response["Location"]) == (302, "/t/acme/sign-in")
    assert revocations() == before


def test_a_cookie_of_one_tenant_cannot_act_on_another(user: User, other_tenant: Any) -> None:
    victim = SessionFactory(user=UserFactory(tenant=other_tenant.tenant))
    desktop = signed_in("acme")
    before = revocations()
    for url in (f"/t/globex/sessions/{victim.id}/sign-out", "/t/globex/sessions/sign-out-others",
                "/t/globex/sign-out"):
        response = desktop.post(url)
        assert response.status_code == 302 and response["Location"] == "/t/globex/sign-in"
        desktop.cookies[COOKIE] = response.cookies[COOKIE].value or desktop.cookies[COOKIE].value
    assert revocations() == before


def test_refusals_are_pages_a_person_can_read(user: User) -> None:
    desktop = signed_in(enforce_csrf_checks=True)
    refused = desktop.post("/t/acme/sign-out")
    assert refused.status_code == 403
    assert "Please try again" in refused.content.decode() and "nothing was changed" in refused.content.decode()
    missing = desktop.post("/t/acme/sessions/ses_01HZZZZZZZZZZZZZZZZZZZZZZZ/sign-out",
                           {"csrfmiddlewaretoken": str(desktop.get("/t/acme/sessions").context["csrf_token"])})
    assert missing.status_code == 404
    assert "Page not found" in missing.content.decode()
