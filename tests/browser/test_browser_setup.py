"""Without Chromium the browser tests skip with a clear message locally, and fail under CI=true."""

from typing import Any

import pytest

from tests.browser import chromium


def test_without_chromium_the_browser_tests_skip_locally(monkeypatch: Any) -> None:
    monkeypatch.setattr(chromium, "chromium_path", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="No Chromium found"):
        chromium.require_chromium()


def test_without_chromium_the_browser_tests_fail_in_ci(monkeypatch: Any) -> None:
    monkeypatch.setattr(chromium, "chromium_path", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI requires the browser tests to run"):
        chromium.require_chromium()


def test_a_found_chromium_is_used(monkeypatch: Any) -> None:
    monkeypatch.setattr(chromium, "chromium_path", lambda: "/opt/chromium/chrome")
    monkeypatch.setenv("CI", "true")
    assert chromium.require_chromium() == "/opt/chromium/chrome"
