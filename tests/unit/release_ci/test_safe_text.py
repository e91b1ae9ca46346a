"""The neutralisers of release.safe_text, one table per output format, checked by that format's own reader.

Markdown is read back with markdown-it-py (a CommonMark parser, installed with rich), XML with ElementTree, JSON with
json, and workflow commands with a copy of the GitHub runner's parser (actions/runner ActionCommand.cs): the
neutralised text must come back as plain text, with no tag, link, image, cell, block or command of its own.
"""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from release.safe_text import (
    CI_TEXT_LIMIT,
    gh_data,
    gh_property,
    json_text,
    md_code,
    md_inline,
    one_line,
    truncate,
    xml_text,
)

pytestmark = pytest.mark.unit

HOSTILE = [
    "looks fine\n::notice ::pwned",
    "%0A::error::x",
    "ok\r\n::set-output name=approved::true",
    "bare\rcarriage ::warning::y",
    "  ::error file=x::leading blanks",
    "##[add-mask]secret and ##[stop-commands]token ##vso[task.setvariable variable=x]y",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "![x](http://evil/x.png)",
    "[ref]: javascript:alert(1)",
    "<http://evil/autolink>",
    "a | b || c",
    "`code` ``more`` *em* _u_ ~~s~~ \\ &amp; &lt;script&gt;",
    "# heading",
    "- item",
    "1. ordered",
    "2) ordered",
    "    indented code",
    "> quote",
    "---",
    "\x1b[2K\x1b[1A\rPROMOTABLE\x07",
    "nul\x00 del\x7f c1\x85\x9b",
    "bidi \u202eevil\u202c and \u2066isolate\u2069",
    "line\u2028sep\u2029para\x0bvt\x0cff\x1cfs",
    "tab\there",
    "lone surrogate \ud800 and \ufffe",
    "x" * 5000,
]

# Line breaks and other controls as release.safe_text knows them: re-stated here so the tests do not trust it.
BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufeff\ufffe\uffff]")


def visible(text: str) -> str:
    """What a text should read as once neutralised on one line, before any format's own escaping."""
    text = BREAKS.sub(" ", text).replace("\t", " ")
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                       text)


def markdown() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table").enable("strikethrough")


def inline_children(src: str) -> list[tuple[str, str]]:
    """(type, content) of every inline token markdown-it makes of src."""
    return [(c.type, c.content) for t in markdown().parse(src) if t.type == "inline" for c in t.children or ()]


# ----- runner: a copy of actions/runner's ActionCommand parsing ---------------------------------------------------


def runner_lines(text: str) -> list[str]:
    """Lines as the runner reads a process's output (.NET ReadLine: \\r\\n, \\r or \\n)."""
    return re.split("\r\n|\r|\n", text)


def runner_command(line: str) -> tuple[str, dict[str, str], str] | None:
    """(command, properties, data) when the runner takes this line as a workflow command (TryParseV2), else None."""
    message = line.lstrip()  # C# TrimStart()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, _, props = info.partition(" ")
    properties = {}
    for prop in filter(None, props.strip().split(",")):
        key, sep, value = prop.partition("=")
        if sep and key and value:
            properties[key] = unescape_property(value)
    return name, properties, unescape_data(message[end + 2:])


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return (text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",")
            .replace("%25", "%"))


LOG_COMMAND = re.compile(r"##(?=\[|vso\[)", re.IGNORECASE)


def legacy_command(line: str) -> bool:
    """True when a log parser would look at this line: GitHub's legacy `##[` (ActionCommand.TryParse) or Azure
    Pipelines' `##vso[`, anywhere in it."""
    return LOG_COMMAND.search(line) is not None


# ----- one line (terminal text, CI logs) --------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_one_line_stays_on_its_line_with_no_control_and_no_command(text: str) -> None:
    out = one_line(text)
    assert len(runner_lines(out)) == 1 and len(out.splitlines()) <= 1
    assert not CONTROL.search(out)
    assert not legacy_command(out)
    assert runner_command("release: " + out) is None
    # Shown, not dropped: every break and control is a visible escape, a tab a space.
    shown = "".join({"\n": "\\n", "\r": "\\r", "\t": " "}.get(c) or
                    ((f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
                     if CONTROL.match(c) or c in "\u2028\u2029" else c) for c in text)
    assert out == LOG_COMMAND.sub("#\\\\#", shown)


def test_one_line_shows_what_was_folded() -> None:
    assert one_line("a\nb\r\nc\x1b[0m") == "a\\nb\\r\\nc\\x1b[0m"
    assert one_line("##[add-mask]x ##VSO[task.setvariable]") == "#\\#[add-mask]x #\\#VSO[task.setvariable]"
    assert one_line("x" * 30, limit=10) == "x" * 10 + "… (20 more characters)"


# ----- GitHub workflow commands -----------------------------------------------------------------------------------


def shown_keeping_line_ends(text: str) -> str:
    """Controls and separators as escapes; tab, CR and LF kept (the runner's unescaping gives them back)."""
    return LOG_COMMAND.sub("#\\\\#", "".join(c if c in "\t\r\n" or not (CONTROL.match(c) or c in "\u2028\u2029") else
                   (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") for c in text))


@pytest.mark.parametrize("text", HOSTILE)
def test_command_data_is_one_line_and_the_runner_reads_it_back(text: str) -> None:
    line = f"::error title={gh_property('gate ' + text, limit=None)}::{gh_data(text, limit=None)}"
    [only] = runner_lines(line)
    parsed = runner_command(only)
    assert parsed is not None
    name, properties, data = parsed
    # One command, ours; its data and title come back as written (a multi-line annotation, controls shown).
    assert name == "error"
    assert data == shown_keeping_line_ends(text)
    assert properties == {"title": "gate " + shown_keeping_line_ends(text)}


def test_toolkit_escaping_table() -> None:
    # actions/toolkit packages/core/src/command.ts: escapeData and escapeProperty.
    assert gh_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert gh_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert gh_data("%0A::error::x") == "%250A::error::x"
    assert unescape_data(gh_data("%0A::error::x")) == "%0A::error::x"
    assert len(gh_data("y" * 50_000)) < CI_TEXT_LIMIT + 40


# ----- Markdown -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_is_one_paragraph_of_plain_text(text: str) -> None:
    out = md_inline(text)
    assert "\n" not in out and "\r" not in out
    assert "<script" not in out and "<img" not in out and "](" not in out.replace("\\](", "")
    tokens = markdown().parse(out)
    if not visible(text).strip():
        assert tokens == []
        return
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    assert inline_children(out) == [("text", visible(text).strip())]


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_in_a_table_cell_stays_in_its_cell(text: str) -> None:
    row = f"| {md_inline(text)} | {md_code(text)} | end |"
    src = f"| a | b | c |\n|---|---|---|\n{row}\n"
    tokens = markdown().parse(src)
    cells = [i for i, t in enumerate(tokens) if t.type == "td_open"]
    assert len(cells) == 3
    body = [(c.type, c.content) for t in tokens[cells[0]:] if t.type == "inline" for c in t.children or ()]
    shown = visible(text)
    assert body[0] == ("text", shown.strip()) if shown.strip() else True
    assert ("code_inline", shown) in body
    assert body[-1] == ("text", "end")
    assert not [t for t in tokens if t.type.startswith(("html", "link", "image"))]
    assert not [c for t in tokens if t.type == "inline" for c in t.children or ()
                if c.type.startswith(("html", "link", "image", "em", "strong", "s_"))]


def test_markdown_escapes_table() -> None:
    assert md_inline("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert md_inline("[click](javascript:alert(1))") == "\\[click\\](javascript:alert(1))"
    assert md_inline("![x](http://evil/x.png)") == "!\\[x\\](http://evil/x.png)"
    assert md_inline("a|b") == "a\\|b"
    assert md_inline("ok\n::notice ::pwned") == "ok ::notice ::pwned"
    assert md_inline("1. x") == "1\\. x" and md_inline("1.2.0") == "1.2.0"
    assert md_inline("# h") == "\\# h" and md_inline("- x") == "\\- x"
    assert md_code("a`b") == "``a`b``" and md_code("`x") == "`` `x ``" and md_code("  ") == "`  `"
    assert md_code("a|b") == "`a\\|b`"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_one_paragraph_of_exactly_that_text(text: str) -> None:
    shown = visible(text).strip()
    if not shown:
        return
    assert inline_children(md_inline(text)) == [("text", shown)]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_stays_in_its_table_cells(text: str) -> None:
    src = f"| a | b |\n|---|---|\n| {md_inline(text)} | {md_code(text)} |\n"
    tokens = markdown().parse(src)
    assert sum(t.type == "td_open" for t in tokens) == 2
    children = [(c.type, c.content) for t in tokens if t.type == "inline" for c in t.children or ()][2:]
    shown = visible(text)
    expected = ([("text", shown.strip())] if shown.strip() else []) + ([("code_inline", shown)] if shown else [])
    assert children == expected


# ----- XML and JSON -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_xml_text_parses_and_round_trips(text: str) -> None:
    case = ET.Element("testcase", name=xml_text(one_line(text)))
    ET.SubElement(case, "failure", message=xml_text(one_line(text))).text = xml_text(text)
    back = ET.fromstring(ET.tostring(case, encoding="unicode"))
    assert back.get("name") == one_line(text)
    assert back.findtext("failure") == xml_text(text)
    assert "\r" not in xml_text(text) and not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe]",
                                                        xml_text(text))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_valid_xml_and_comes_back_as_written(text: str) -> None:
    element = ET.Element("x", a=xml_text(text))
    element.text = xml_text(text)
    back = ET.fromstring(ET.tostring(element, encoding="unicode"))
    assert back.text == xml_text(text) or (back.text is None and xml_text(text) == "")
    assert back.get("a") == xml_text(text)
    if "\r" not in text and not CONTROL.search(text.replace("\n", "").replace("\t", "")):
        assert xml_text(text) == text  # text XML can hold is left alone


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12))
def test_json_keeps_the_data_and_holds_no_legacy_command(value: object) -> None:
    dumped = json_text(json.dumps(value, indent=2, sort_keys=True))
    assert not legacy_command(dumped)
    assert json.loads(dumped) == value


def test_json_hides_a_legacy_command_but_keeps_it() -> None:
    dumped = json_text(json.dumps({"comment": "##[add-mask]x ###[y ##vso[z"}))
    assert not legacy_command(dumped) and json.loads(dumped) == {"comment": "##[add-mask]x ###[y ##vso[z"}


def test_truncate_says_what_it_left_out() -> None:
    assert truncate("abc", None) == "abc" and truncate("abc", 3) == "abc"
    assert truncate("abcdef", 2) == "ab… (4 more characters)"
