"""The change record on paper and on screen: the demo's blocked candidate and a generated 1,200-change release.

The PDF is WeasyPrint's, read back with poppler: `pdftotext -bbox` gives every word with its box, so a column that
falls off the page is a header word missing from its table's page (poppler drops text outside the page), and
`pdftoppm` gives the pixels, so a page that is nearly blank shows as a page with almost no ink.
"""

from __future__ import annotations

import html as html_lib
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from release.changelog import ChangelogData, ChangelogEntry, ChangelogSection
from release.report.changes import changelog_view
from release.report.record import change_record_data, render_record
from release.report.sections import scope_section
from release.report.summary import summary_section
from tests.integration.release_report.records import build_blocked_demo

pytestmark = pytest.mark.integration

#: A page whose ink (outside the footer) is under this fraction of its area is nearly empty.
MIN_INK = 0.004
#: A page that is not the last must be used at least this far down.
MIN_FILL = 0.45


class _Tables(HTMLParser):
    """The header cells (<th>) of every table of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[str]] = []
        self._th: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "th" and self.tables:
            self._th = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "th" and self._th is not None:
            self.tables[-1].append(" ".join("".join(self._th).split()))
            self._th = None

    def handle_data(self, data: str) -> None:
        if self._th is not None:
            self._th.append(data)


@dataclass
class Printed:
    """One record rendered: its HTML, PDF, the words on each PDF page and the ink of each page."""

    html: str
    pdf: Path
    pages: list[dict[str, Any]]
    ink: list[tuple[float, float]]


def _words(pdf: Path) -> list[dict[str, Any]]:
    """Each page's size and words (text, xMin, xMax) from `pdftotext -bbox`."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', out, re.DOTALL):
        words = [{"text": html_lib.unescape(m.group(3)), "x0": float(m.group(1)), "x1": float(m.group(2))}
                 for m in re.finditer(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">(.*?)</word>',
                                      page.group(3))]
        pages.append({"width": float(page.group(1)), "words": words})
    return pages


def _ink(pdf: Path, tmp: Path) -> list[tuple[float, float]]:
    """Per page: the fraction of dark pixels above the footer, and how far down the page the content reaches."""
    from PIL import Image

    subprocess.run(["pdftoppm", "-png", "-gray", "-r", "30", str(pdf), str(tmp / "page")], check=True)
    result = []
    for png in sorted(tmp.glob("page*.png"), key=lambda p: int(re.findall(r"\d+", p.stem)[-1])):
        img = Image.open(png).convert("L")
        width, height = img.size
        body = int(height * 0.93)  # the footer (page numbers) is not content
        pixels = img.crop((0, 0, width, body)).load()
        rows = [y for y in range(body) if any(pixels[x, y] < 160 for x in range(width))]
        dark = sum(1 for y in rows for x in range(width) if pixels[x, y] < 160)
        result.append((dark / (width * body), (rows[-1] / body) if rows else 0.0))
    return result


def _print(data: dict[str, Any], tmp: Path) -> Printed:
    tmp.mkdir(parents=True, exist_ok=True)
    html = render_record(data, "html").decode("utf-8")
    pdf = tmp / "record.pdf"
    pdf.write_bytes(render_record(data, "pdf"))
    return Printed(html, pdf, _words(pdf), _ink(pdf, tmp))


def _thousand_changes(n: int = 1200) -> ChangelogData:
    """A farajaland-2.0.0-shaped changelog: a few breaking changes and features, mostly "Other"."""
    def entries(kind: str, count: int, scopes: tuple[str, ...]) -> tuple[ChangelogEntry, ...]:
        return tuple(ChangelogEntry(f"{kind} change number {i} with `code` and **emphasis**", scopes[i % len(scopes)],
                                    f"{i:07x}", (f"#{1000 + i}",) if i % 3 == 0 else ()) for i in range(count))

    return ChangelogData("2.0.0", "1.9.0", "2026-12-01", (
        ChangelogSection("Breaking changes", entries("breaking", 4, ("events",))),
        ChangelogSection("New features", entries("feature", 60, ("events", "search", "print"))),
        ChangelogSection("Bug fixes", entries("fix", 90, ("client", "gateway"))),
        ChangelogSection("Other", entries("other", n - 154, ("ui", "deps", "ci", "config", "docs", "tests", "seed"))),
    ))


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The change record data of the demo's blocked candidate, from its ledger, evidence and git history."""
    record = build_blocked_demo(tmp_path_factory.mktemp("demo-blocked"))
    ctx = record.context()
    try:
        yield change_record_data(ctx, "1.2.0")
    finally:
        ctx.ledger.close()


@pytest.fixture(scope="module")
def demo(demo_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Printed:
    return _print(demo_data, tmp_path_factory.mktemp("demo-print"))


@pytest.fixture(scope="module")
def large(demo_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Printed:
    """The same candidate with a 1,200-change changelog in place of its own."""
    data = dict(demo_data)
    data["scope"] = scope_section(_thousand_changes())
    data["changelog_view"] = changelog_view(data["scope"])
    data["summary"] = summary_section(data)
    assert data["summary"]["approvals"][1]["role"] == "change-board"  # the record's own people, reused
    return _print(data, tmp_path_factory.mktemp("large-print"))


def _assert_every_header_on_its_page(printed: Printed) -> None:
    parser = _Tables()
    parser.feed(printed.html)
    assert len(parser.tables) >= 5
    for headers in parser.tables:
        wanted = {w for h in headers for w in h.split()}
        fits = [p for p in printed.pages
                if wanted <= {w["text"] for w in p["words"] if w["x0"] >= 0 and w["x1"] <= p["width"]}]
        assert fits, f"a table's headers are not all on one page: {headers}"
    for page in printed.pages:
        assert all(w["x1"] <= page["width"] + 0.5 for w in page["words"]), "text runs off the page"


def _assert_no_nearly_empty_page(printed: Printed) -> None:
    assert len(printed.ink) == len(printed.pages)
    for n, (ink, reach) in enumerate(printed.ink, start=1):
        assert ink >= MIN_INK, f"page {n} of {len(printed.ink)} is nearly empty (ink {ink:.4f})"
        if n < len(printed.ink):
            assert reach >= MIN_FILL, f"page {n} ends {reach:.0%} down the page"


def test_demo_pdf_shows_every_column_and_no_empty_page(demo: Printed) -> None:
    _assert_every_header_on_its_page(demo)
    _assert_no_nearly_empty_page(demo)
    first = " ".join(w["text"] for w in demo.pages[0]["words"])
    for needed in ("BLOCKED", "HIGH", "load", "FAILED", "event.search", "chair@example.org", "ops@example.org"):
        assert needed in first, f"{needed} is not on the first page"
    load_page = next(p for p in demo.pages if {"Slowdown", "Verdict", "SLO", "Baseline"}
                     <= {w["text"] for w in p["words"]})
    assert "FAIL" in {w["text"] for w in load_page["words"]}


def test_demo_record_summary_comes_first_and_says_why(demo: Printed, demo_data: dict[str, Any]) -> None:
    md = render_record(demo_data, "md").decode("utf-8")
    assert md.index("## Decision summary") < md.index("**Risk: HIGH**") < md.index("# Details")
    assert "- **load** FAILED: A/B against production: event.search FAIL" in md
    assert "Evidence files:" not in md and md.count("ab-comparison.json") == 0  # files are counted, not listed twice
    html = demo.html
    summary, details = html.index('data-testid="record-summary"'), html.index('class="details"')
    assert summary < details
    head = html[summary:details]
    assert "Risk: Medium" not in html and "Medium: release" not in html
    assert 'risk risk-HIGH' in head and "event.search x10.98" in head
    assert 'href="#evidence-load"' in head and 'id="evidence-load"' in html
    for target in re.findall(r'href="#([^"]+)"', html):
        assert f'id="{target}"' in html, target  # every summary link lands somewhere
    assert html.count("<svg") >= 4  # the slowdown picture, p95 bars and two CDFs
    assert 'aria-label="Slowdown ratio per procedure' in html
    # each evidence file is listed once (folded under its evidence block), not again in the gates table
    for art in re.findall(r"sha256 <code>([0-9a-f]{64})</code>", html):
        assert html.count(art) == 1, art


def test_large_record_is_capped_folded_and_short(large: Printed) -> None:
    size = len(large.html.encode("utf-8"))
    assert size < 300_000, size
    assert len(large.pages) < 15, len(large.pages)
    assert "1200 change(s) since 1.1.0" in large.html or "1200 change(s)" in large.html
    assert "<details" in large.html and "1046 other" in large.html.lower().replace("(", "")
    changes = large.html[large.html.index('id="changes"'):]
    assert "<code>code</code>" in changes and "**emphasis**" not in changes  # the subjects' Markdown, rendered
    _assert_every_header_on_its_page(large)
    _assert_no_nearly_empty_page(large)


def test_gate_tables_fit_1280_px(demo: Printed, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "record.html"
    page_file.write_text(demo.html, encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(page_file.as_uri())
            widths = page.evaluate("() => [document.documentElement.scrollWidth, "
                                   "...[...document.querySelectorAll('table')].map(t => t.getBoundingClientRect().right)]")
            verdict = page.get_by_test_id("record-verdict").bounding_box()
            approvals = page.get_by_test_id("record-approvals").bounding_box()
        finally:
            browser.close()
    assert max(widths) <= 1280, widths
    assert verdict and approvals and verdict["y"] + verdict["height"] <= 800 and approvals["y"] < 800
