"""Screenshots of the sessions page for the README, at desktop and phone width, with several devices.

They are taken from a real sign-in in Chromium; the other devices are real sessions started through
the service with their own user agents and public addresses (so countries resolve), then aged so the
page shows a believable spread of activity.
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
from sessions_app.models import Session
from tests.browser.chromium import DESKTOP, PHONE, SCREENSHOTS
from tests.conftest import IPHONE_SAFARI
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# (user agent, public address, signed in this long ago, last active this long ago)
OTHER_DEVICES = [
    (IPHONE_SAFARI, "81.2.69.142", timedelta(days=5), timedelta(minutes=5)),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", "8.8.8.8",
     timedelta(days=40), timedelta(hours=3)),
    ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1", "1.1.1.1", timedelta(days=3), timedelta(days=2)),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 "
     "Mobile Safari/537.36", "", timedelta(days=1), timedelta(hours=20)),
]
# The page shows dates: a fixed clock (for the server thread too) keeps the committed PNGs unchanged
# when the suite runs again on the same machine. Five days after the example sign-in date.
CLOCK = datetime(2024, 1, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(CLOCK, tick=False):
        yield


@pytest.fixture
def signed_in_elsewhere(clock: None, user: Any) -> list[Session]:
    now = timezone.now()
    sessions = []
    for user_agent, ip, signed_in_ago, active_ago in OTHER_DEVICES:
        issued = services.start_session(user=user, device=describe_device(user_agent=user_agent,
                                                                          ip_address=ip or None))
        Session.objects.filter(pk=issued.session.pk).update(created_at=now - signed_in_ago,
                                                            last_active_at=now - active_ago)
        sessions.append(issued.session)
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
    page.screenshot(path=SCREENSHOTS / f"sessions-{name}.png", full_page=True, animations="disabled")
    if open_confirm:
        page.locator("li.session summary").first.click()
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
