"""Which Chromium the browser tests drive: the named one, else Playwright's own, else Debian's; none fails, naming
all three places. Real files in tmp_path stand for the browsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from regression.plugin import CHROMIUM_ENV, ChromiumMissing, _playwright_chromium, find_chromium

pytestmark = pytest.mark.integration


def browser(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def test_the_named_chromium_wins_over_the_others(tmp_path: Path):
    named = browser(tmp_path / "named" / "chrome")
    found = find_chromium({CHROMIUM_ENV: named}, browser(tmp_path / "pw" / "chrome"),
                          browser(tmp_path / "usr" / "chromium"))
    assert found == named


def test_a_named_chromium_that_is_missing_fails_instead_of_falling_back(tmp_path: Path):
    missing = str(tmp_path / "no-chromium-here")
    with pytest.raises(ChromiumMissing) as caught:
        find_chromium({CHROMIUM_ENV: missing}, browser(tmp_path / "pw" / "chrome"),
                      browser(tmp_path / "usr" / "chromium"))
    assert f"browser tests need Chromium at {missing}" in str(caught.value)


def test_playwrights_chromium_comes_before_debians(tmp_path: Path):
    playwright = browser(tmp_path / "ms-playwright" / "chrome")
    assert find_chromium({}, playwright, browser(tmp_path / "usr" / "chromium")) == playwright


def test_debians_chromium_when_playwright_has_none(tmp_path: Path):
    debian = browser(tmp_path / "usr" / "chromium")
    assert find_chromium({CHROMIUM_ENV: "  "}, str(tmp_path / "ms-playwright" / "chrome"), debian) == debian
    assert find_chromium({}, None, debian) == debian


def test_no_chromium_names_every_place_it_looked(tmp_path: Path):
    playwright, debian = tmp_path / "ms-playwright" / "chrome", tmp_path / "usr" / "chromium"
    with pytest.raises(ChromiumMissing) as caught:
        find_chromium({}, str(playwright), str(debian))
    message = str(caught.value)
    assert CHROMIUM_ENV in message
    assert str(playwright) in message and "playwright install --with-deps chromium" in message
    assert str(debian) in message and "apt-get install chromium" in message


def test_playwright_names_where_its_own_chromium_lives():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        path = _playwright_chromium(playwright)
    finally:
        playwright.stop()
    # Installed or not, Playwright says where `playwright install chromium` puts its build.
    assert path is not None and Path(path).is_absolute()
    assert Path(path).name == "chrome" and "/chromium-" in path, path
