"""`release report` in html, md and pdf for a release built through the real Ledger API."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.changeboard import SECRET_VALUE, build_board_project, cli_env, release_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("report")
    project = build_board_project(tmp)
    home = tmp / "home"
    home.mkdir()
    env = cli_env(home)
    out = {}
    for fmt in ("html", "md", "pdf"):
        path = tmp / f"record.{fmt}"
        done = release_cli(project, env, "report", "1.1.0", "--format", fmt, "--out", str(path))
        assert done.returncode == 0, done.stderr
        assert SECRET_VALUE not in done.stdout + done.stderr
        out[fmt] = path
    out["tmp"] = tmp
    out["project"] = project.path  # type: ignore[assignment]
    return out


def test_html_is_standalone_with_inline_svg_charts(rendered: dict[str, Path]) -> None:
    html = rendered["html"].read_text()
    assert html.count("<svg") >= 3  # the bar chart and the search and register CDFs
    assert "Latency CDF: event.search" in html and "Latency CDF: event.actions.register.request" in html
    assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', html)
    assert 'src="data:image/png;base64,' in html  # the failed browser test's screenshot, inline
    for text in ("BLOCKED", "v1.1.0-rc.1", "rm@example.org", "1.0.0", "Breaking changes", "search clients must read total",
                 "Backout plan", "Redeploy 1.0.0", "event.search", "0.990", "AC-1", "Content hash", "Audit head"):
        assert text in html, text


def test_markdown_for_a_ticket(rendered: dict[str, Path]) -> None:
    md = rendered["md"].read_text()
    assert md.startswith("# Change record: release 1.1.0")
    assert "| event.search | 1000 | 90.0 | 126.0 | 162.0 | 150.0 |" in md
    assert "<svg" not in md


def test_pdf_renders_to_text_and_png(rendered: dict[str, Path]) -> None:
    pdf = rendered["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for needle in ("Change record: release 1.1.0", "BLOCKED", "Test evidence", "Latency CDF"):
        assert needle in text, needle
    prefix = rendered["tmp"] / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(prefix)], check=True)
    pngs = sorted(rendered["tmp"].glob("page*.png"))
    assert pngs and pngs[0].read_bytes().startswith(b"\x89PNG") and pngs[0].stat().st_size > 1000


def test_no_secret_in_any_format(rendered: dict[str, Path]) -> None:
    for fmt in ("html", "md", "pdf"):
        assert SECRET_VALUE.encode() not in rendered[fmt].read_bytes(), fmt
    text = subprocess.run(["pdftotext", str(rendered["pdf"]), "-"], capture_output=True, text=True).stdout
    assert SECRET_VALUE not in text


def test_unknown_release_is_a_one_line_error(rendered: dict[str, Path], tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    done = subprocess.run([sys.executable, "-m", "release.cli.main", "report", "9.9.9", "--format", "md"],
                          cwd=rendered["project"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error:") and len(done.stderr.strip().splitlines()) == 1
