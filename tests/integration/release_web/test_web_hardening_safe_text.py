"""Hostile text recorded through the real CLI comes out neutralised in every output: one table row per format.

A board member rejects with a comment full of workflow commands, HTML, Markdown links, pipes and terminal escapes;
QA signs off with the same comment; a commit subject and an acceptance criterion carry the same payload. Then
`release status` in each CI format, the terminal checklist, `release report` as Markdown and HTML, and the web
page each get read back by their own reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from release.safe_text import md_inline, one_line, xml_text
from tests.changeboard import (
    BOARD,
    PREPARER,
    QA,
    T0,
    VERSION,
    BoardProject,
    build_board_project,
    cli_env,
    release_cli,
)
from tests.gitrepo import Commit
from tests.integration.release_web.test_web_hardening import PASSWORD, login, serve
from tests.unit.release_ci.test_safe_text import (
    CONTROL,
    legacy_command,
    markdown,
    runner_command,
    runner_lines,
)

pytestmark = pytest.mark.integration

PAYLOAD = ("::notice ::pwned %0A::error::x ##[add-mask]x <script>alert(1)</script> <img src=x onerror=alert(1)> "
           "[click](javascript:alert(1)) ![x](http://evil/x.png) a | b")
COMMENT = f"looks fine\n{PAYLOAD}\r\n::set-output name=approved::true \x1b[2K\x1b[1APROMOTABLE\x07"
SUBJECT = f"fix(print): {PAYLOAD}"  # a commit subject is one line
CRITERION = f"Certificates print\n{PAYLOAD}"


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_safe_html(html: str) -> None:
    """No script, no javascript: URL, no image but inline data, no event handler; the payload shown as text."""
    parser = Tags()
    parser.feed(html)
    assert not [t for t, _ in parser.tags if t in ("script", "iframe", "object", "embed")]
    for tag, attrs in parser.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name, value)
        if tag == "img":
            assert (attrs.get("src") or "").startswith("data:image/png;base64,")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, escaped


def assert_safe_markdown(md: str) -> None:
    tokens = markdown().parse(md)
    inline = [c for t in tokens if t.type == "inline" for c in t.children or ()]
    assert "<script" not in md and "<img" not in md
    assert not [t.type for t in tokens if t.type.startswith(("html", "link", "image"))]
    assert not [c.type for c in inline if c.type.startswith(("html", "link", "image"))]
    assert not CONTROL.search(md.replace("\n", ""))
    # Each table row has as many cells as its header.
    for i, t in enumerate(tokens):
        if t.type == "table_open":
            end = next(j for j in range(i, len(tokens)) if tokens[j].type == "table_close")
            widths = []
            for j in range(i, end):
                if tokens[j].type == "tr_open":
                    stop = next(k for k in range(j, end) if tokens[k].type == "tr_close")
                    widths.append(sum(tokens[k].type in ("td_open", "th_open") for k in range(j, stop)))
            assert len(set(widths)) == 1, widths


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BoardProject, dict[str, str]]]:
    """The board project with a hostile rc.2, criterion, rejection and sign-off, all recorded through the CLI."""
    tmp = tmp_path_factory.mktemp("hostile")
    project = build_board_project(tmp)
    home = tmp / "home"
    home.mkdir()
    env = cli_env(home)
    sha = project.repo.commit(Commit(SUBJECT, author="dev@example.org"))
    with project.ledger() as ledger:
        ledger.add_candidate(VERSION, rc=2, tag=f"v{VERSION}-rc.2", sha=sha, created_by=PREPARER,
                             now=T0 + timedelta(hours=2))
    toml = project.path / "release.toml"
    text = toml.read_text()
    old = '"Certificates print with the correct registration number"'
    assert old in text
    toml.write_text(text.replace(old, json.dumps(CRITERION)))  # a JSON string is a TOML basic string
    for actor, args in ((BOARD[0], ("approve", VERSION, "--reject", "--comment", COMMENT)),
                        (QA, ("sign-off", "qa", VERSION, "--comment", COMMENT))):
        done = release_cli(project, {**env, "RELEASE_ACTOR": actor}, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not CONTROL.search(done.stdout.replace("\n", ""))
    yield project, env


def status(project: tuple[BoardProject, dict[str, str]], *args: str) -> tuple[str, str]:
    done = release_cli(project[0], project[1], "status", VERSION, *args)
    assert done.returncode == 1, done.stdout + done.stderr  # blocked: rejected
    return done.stdout, done.stderr


def test_the_comment_is_in_the_ledger_as_typed(project: tuple[BoardProject, dict[str, str]]) -> None:
    data = json.loads(status(project, "--json")[0])
    [rejection] = [d for g in data["gates"] for d in g["decisions"] if d["kind"] == "rejection"]
    assert rejection["comment"] == COMMENT  # the data is kept; only the outputs neutralise it
    out, _ = status(project, "--format", "json")
    assert not any(legacy_command(line) or runner_command(line) for line in runner_lines(out))


def test_github_format_issues_only_the_tools_annotations(project: tuple[BoardProject, dict[str, str]]) -> None:
    out, err = status(project, "--format", "github")
    commands = [c for line in runner_lines(out + "\n" + err) if (c := runner_command(line))]
    assert commands and all(name == "error" and set(props) == {"title"} and props["title"].startswith("gate ")
                            for name, props, _ in commands)
    assert len(commands) == sum(line.startswith("::error ") for line in runner_lines(err))
    assert not any(legacy_command(line) for line in runner_lines(out + "\n" + err))
    [board] = [data for _, props, data in commands if props["title"] == "gate change-board: FAILED"]
    assert "looks fine\n::notice ::pwned %0A::error::x" in board  # one annotation, its message as typed
    assert "\\x1b[2K" in board and "\x1b" not in board
    assert_safe_markdown(out)


def test_gitlab_format_is_safe_markdown(project: tuple[BoardProject, dict[str, str]]) -> None:
    out, _ = status(project, "--format", "gitlab")
    assert_safe_markdown(out)
    assert md_inline(f"rejected by {BOARD[0]}: {COMMENT}") in out


def test_junit_format_parses_and_carries_the_comment(project: tuple[BoardProject, dict[str, str]]) -> None:
    out, _ = status(project, "--format", "junit")
    root = ET.fromstring(out.split("?>", 1)[1])
    failures = {case.get("name"): case.find("failure") for case in root.iter("testcase")
                if case.find("failure") is not None}
    board = failures["change-board"]
    assert board is not None
    message = board.get("message") or ""
    assert xml_text(COMMENT) in (board.text or "")
    assert "\n" not in message and one_line(COMMENT)[:40] in message


def test_text_format_keeps_the_comment_on_its_line(project: tuple[BoardProject, dict[str, str]]) -> None:
    out, _ = status(project)
    lines = runner_lines(out.rstrip("\n"))
    for line in lines:
        assert not CONTROL.search(line) and runner_command(line) is None and not legacy_command(line), line
    assert any(one_line(COMMENT) in line for line in lines)


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_change_record_is_safe(project: tuple[BoardProject, dict[str, str]], fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"record.{fmt}"
    done = release_cli(project[0], project[1], "report", VERSION, "--format", fmt, "--out", str(path))
    assert done.returncode == 0, done.stderr
    text = path.read_text(encoding="utf-8")
    if fmt == "md":
        assert_safe_markdown(text)
        assert md_inline(COMMENT) in text  # in the decisions
        assert md_inline(PAYLOAD) in text  # the commit subject, in the scope and the changelog
        assert md_inline(CRITERION) in text  # in the criteria table
    else:
        assert_safe_html(text)


def test_web_page_is_safe(project: tuple[BoardProject, dict[str, str]]) -> None:
    board_project, env = project
    done = release_cli(board_project, env, "users", "add", BOARD[1], "--role", "change-board", input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    with serve(board_project, env, "--insecure-cookies") as url:
        page = login(url, BOARD[1]).get(f"/releases/{VERSION}")
        assert page.status_code == 200
        assert_safe_html(page.text)
        assert "default-src 'none'" in page.headers["content-security-policy"]
