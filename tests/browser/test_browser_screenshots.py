"""Screenshots of the sessions page for the README, at desktop and phone width, with several devices.

They are taken from a real sign-in in Chromium; the other devices are real sessions started through
the service at their own moments with their own user agents and public addresses (so countries
resolve and the risk rules flag what they would), one from a new country, and four older ones ended
for different reasons, so the page shows a flagged row and "Recently signed out".
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Browser, expect

from sessions_app import services
from sessions_app.device import describe_device
from sessions_app.models import RevocationReason, Session
from tenants_app.models import TenantConfig
from tests.browser.chromium import DESKTOP, PHONE, SCREENSHOTS
from tests.conftest import DESKTOP_CHROME, IPHONE_SAFARI
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
IPAD = ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1")
GB, US = "81.2.69.142", "8.8.8.8"
# Older sign-ins, since ended: (user agent, address, signed in this long ago, ended this long ago, why).
# They make every device kind known to the risk rules, and fill "Recently signed out".
ENDED_DEVICES = [
    (FIREFOX_WINDOWS, GB, timedelta(days=85), timedelta(days=25), RevocationReason.REVOKED_BY_USER),
    (IPHONE_SAFARI, GB, timedelta(days=84), timedelta(days=12), RevocationReason.SESSION_LIMIT),
    (DESKTOP_CHROME, GB, timedelta(days=83), timedelta(days=6), RevocationReason.REVOKED_BY_ADMIN),
    (IPAD, GB, timedelta(days=82), timedelta(days=4), RevocationReason.PASSWORD_CHANGED),
]
# Signed in now: (user agent, address, signed in this long ago, last active this long ago). Firefox
# from the United States is the one sign-in from a new country: the flagged row.
OTHER_DEVICES = [
    (IPHONE_SAFARI, GB, timedelta(days=5), timedelta(minutes=5)),
    (FIREFOX_WINDOWS, US, timedelta(days=3), timedelta(hours=3)),
    (IPAD, GB, timedelta(days=2), timedelta(days=2)),
]
# The page shows dates: a fixed clock (for the server thread too) keeps the committed PNGs unchanged
# when the suite runs again on the same machine. Five days after the example sign-in date.
CLOCK = datetime(2024, 1, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(CLOCK, tick=False):
        yield


def _start(user: Any, user_agent: str, ip: str, ago: timedelta) -> Session:
    """A sign-in through the service at its own moment, so the risk rules see the history as it was."""
    with time_machine.travel(CLOCK - ago, tick=False):
        return services.start_session(user=user, device=describe_device(user_agent=user_agent, ip_address=ip)).session


@pytest.fixture
def signed_in_elsewhere(clock: None, user: Any) -> list[Session]:
    # Sessions of this tenant last 90 days, so the oldest sign-ins were still running when they ended.
    TenantConfig.objects.filter(tenant=user.tenant).update(session_duration=90 * 86400)
    user.tenant.config.refresh_from_db()
    for user_agent, ip, signed_in_ago, ended_ago, reason in ENDED_DEVICES:
        session = _start(user, user_agent, ip, signed_in_ago)
        Session.objects.filter(pk=session.pk).update(last_active_at=CLOCK - ended_ago)
        services.revoke_sessions(session_ids=[session.pk], reason=reason,
                                 actor=services.SYSTEM, now=CLOCK - ended_ago)
    sessions = []
    for user_agent, ip, signed_in_ago, active_ago in OTHER_DEVICES:
        session = _start(user, user_agent, ip, signed_in_ago)
        Session.objects.filter(pk=session.pk).update(last_active_at=CLOCK - active_ago)
        sessions.append(session)
    assert [list(Session.objects.get(pk=s.pk).flags) for s in sessions] == [[], ["new_country"], []]
    return sessions


def shoot(browser: Browser, live_server: Any, device: dict[str, Any], name: str, *, devices: int,
          open_confirm: bool = False) -> None:
    context = browser.new_context(java_script_enabled=False, **device)
    page = context.new_page()
    page.goto(f"{live_server.url}/t/acme/sign-in")
    page.screenshot(path=SCREENSHOTS / f"sign-in-{name}.png", full_page=True, animations="disabled")
    page.get_by_label("Email address").fill("alice@example.com")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("li.session")).to_have_count(devices)
    expect(page.locator("li.session--flagged")).to_have_count(1)
    expect(page.locator("li.ended")).to_have_count(len(ENDED_DEVICES))
    page.screenshot(path=SCREENSHOTS / f"sessions-{name}.png", full_page=True, animations="disabled")
    if open_confirm:
        page.locator("li.session--flagged summary").click()
        page.screenshot(path=SCREENSHOTS / f"sessions-{name}-confirm.png", full_page=True, animations="disabled")
    context.close()


def test_screenshots_at_desktop_and_phone_width(chromium_browser: Browser, live_server: Any,
                                                signed_in_elsewhere: list[Session]) -> None:
    assert timezone.now() == CLOCK
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Each shot signs in once more: the phone also sees the desktop signed in a moment before.
    shoot(chromium_browser, live_server, DESKTOP, "desktop", devices=len(OTHER_DEVICES) + 1, open_confirm=True)
    shoot(chromium_browser, live_server, PHONE, "mobile", devices=len(OTHER_DEVICES) + 2, open_confirm=True)
    for name in ("sessions-desktop", "sessions-mobile", "sign-in-desktop", "sign-in-mobile"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000
