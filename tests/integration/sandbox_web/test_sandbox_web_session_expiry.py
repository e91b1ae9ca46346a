"""An expired API token sends the web client's user back to the login page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect, sync_playwright

from sandbox.process import SandboxProcess

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TOKEN_TTL_SECONDS = 3


@pytest.fixture(scope="module")
def short_token_sandbox_url() -> Iterator[str]:
    with SandboxProcess(token_ttl=TOKEN_TTL_SECONDS) as sandbox:
        yield sandbox.register_url


def test_an_expired_token_sends_the_user_back_to_login(short_token_sandbox_url: str):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=short_token_sandbox_url)
            page.goto("/login")
            page.get_by_test_id("login-username").fill("k.mweene")
            page.get_by_test_id("login-password").fill("test")
            page.get_by_test_id("login-submit").click()
            page.get_by_test_id("code-input").fill("000000")
            page.get_by_test_id("code-submit").click()
            expect(page.get_by_test_id("current-user")).to_contain_text("k.mweene")
            time.sleep(TOKEN_TTL_SECONDS + 1)  # let the API token expire; the web session itself is still valid
            page.goto("/search?name=Banda")
            expect(page).to_have_url(re.compile(r"/login$"))
            expect(page.get_by_test_id("flash-info")).to_contain_text("session has ended")
            page.goto("/")
            expect(page).to_have_url(re.compile(r"/login$"))
        finally:
            browser.close()
