"""Fixtures of the browser tests: one system Chromium per test module."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.browser.chromium import launched_chromium


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Browser]:
    with launched_chromium() as launched:
        yield launched
