"""Playwright driving Debian's Chromium against pytest-django's live server.

Playwright's own browser download is not used: the tests launch the system Chromium. Without one
they skip with a clear message locally and fail under CI=true, where `.ci/run` installs it.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import DESKTOP_CHROME, IPHONE_SAFARI

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Browser contexts of the two devices the issue names: a desktop Chrome and an iPhone at 375 px.
DESKTOP = {"user_agent": DESKTOP_CHROME, "viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1}
PHONE = {"user_agent": IPHONE_SAFARI, "viewport": {"width": 375, "height": 812}, "is_mobile": True,
         "has_touch": True, "device_scale_factor": 2}


def chromium_path() -> str | None:
    for candidate in (*CHROMIUM_CANDIDATES, shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        message = "No Chromium found (install Debian's `chromium` package; .ci/run does)."
        if os.environ.get("CI") == "true":
            pytest.fail(message + " CI requires the browser tests to run.")
        pytest.skip(message)
    return path


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """The system Chromium under Playwright, for one test module (tests/browser/conftest.py wraps it)."""
    path = require_chromium()
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body
    # would otherwise refuse to run in what looks like an async context.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
