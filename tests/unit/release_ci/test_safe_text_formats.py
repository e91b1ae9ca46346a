"""Hostile user text through every real formatter: status/gate CI formats, the terminal checklist, the Markdown env.

Each table puts the same hostile comments (newlines, `::`, `%0A`, `##[`, `<script>`, Markdown links and images,
pipes, control characters, very long text) where user text really goes, a rejection's or a waiver's reason inside
a gate's reasons, and checks the property of that format with its own reader.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

import release
from release.changelog import ChangelogData, ChangelogEntry, ChangelogSection
from release.ci_output import github_annotations, junit_xml, markdown_summary, render
from release.gates.model import Checklist, GateKind, GateState, GateStatus
from release.report.render import markdown_env, render_markdown
from release.report.text import checklist_lines
from release.safe_text import CI_TEXT_LIMIT, one_line, xml_text
from release.templating import template_env
from tests.unit.release_ci.test_safe_text import (
    CONTROL,
    HOSTILE,
    legacy_command,
    markdown,
    runner_command,
    runner_lines,
    shown_keeping_line_ends,
)

pytestmark = pytest.mark.unit

ACTOR = "chair@example.org"


def hostile_checklist(text: str) -> Checklist:
    """A rejected gate, a waived gate and a passed one, each reason carrying the hostile text."""
    gates = (
        GateStatus("change-board", GateKind.APPROVAL, GateState.FAILED, (f"rejected by {ACTOR}: {text}",)),
        GateStatus("load", GateKind.LOCUST, GateState.WAIVED,
                   (f"waived by {ACTOR} until 2026-02-01T00:00:00Z: {text}", "own state: FAILED")),
        GateStatus("checks", GateKind.COMMAND, GateState.PASSED, ("run 1: PASSED",)),
    )
    return Checklist(gates, False, (f"change-board: FAILED: rejected by {ACTOR}: {text}",))


def command_lines(*outputs: str) -> list[tuple[str, dict[str, str], str]]:
    return [cmd for out in outputs for line in runner_lines(out) if (cmd := runner_command(line)) is not None]


@pytest.mark.parametrize("text", HOSTILE)
def test_github_output_runs_only_the_tools_own_commands(text: str) -> None:
    checklist = hostile_checklist(text)
    out, err = render("github", "1.1.0", "v1.1.0-rc.1", checklist, {"comment": text})
    commands = command_lines(out, err)
    # Exactly our two annotations, whatever the comment holds; nothing else the runner would act on.
    assert [(name, props["title"]) for name, props, _ in commands] == [
        ("error", "gate change-board: FAILED"), ("warning", "gate load: WAIVED")]
    assert not any(legacy_command(line) for line in runner_lines(out + err))
    reasons = ["; ".join(g.reasons) for g in checklist.gates[:2]]
    assert [data for _, _, data in commands] == [shown_keeping_line_ends(r[:CI_TEXT_LIMIT]) +
                                                 (f"… ({len(r) - CI_TEXT_LIMIT} more characters)"
                                                  if len(r) > CI_TEXT_LIMIT else "") for r in reasons]


@pytest.mark.parametrize("fmt", ["github", "gitlab"])
@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_summary_has_no_html_link_image_or_extra_cell(fmt: str, text: str) -> None:
    out, _ = render(fmt, "1.1.0", "v1.1.0-rc.1", hostile_checklist(text))
    assert "<script" not in out and "<img" not in out
    assert not CONTROL.search(out.replace("\n", ""))
    tokens = markdown().parse(out)
    inline = [c for t in tokens if t.type == "inline" for c in t.children or ()]
    assert not [t for t in tokens if t.type.startswith(("html", "link", "image"))]
    assert not [c for c in inline if c.type.startswith(("html", "link", "image"))]
    rows = [i for i, t in enumerate(tokens) if t.type == "tr_open"]
    assert len(rows) == 4  # header + three gates
    for start in rows:
        end = next(i for i in range(start, len(tokens)) if tokens[i].type == "tr_close")
        assert sum(t.type in ("td_open", "th_open") for t in tokens[start:end]) == 4
    # One bullet for the one blocking reason, and every line is the tool's: a heading, a table row, a bullet.
    assert sum(t.type == "list_item_open" for t in tokens) == 1
    for line in out.splitlines():
        assert line == "" or line.startswith(("## ", "| ", "|---", "**", "- ")), line
    # Long text is cut in CI output (a step summary is refused above 1 MiB).
    assert max(len(line) for line in out.splitlines()) < 8 * CI_TEXT_LIMIT


@pytest.mark.parametrize("text", HOSTILE)
def test_junit_parses_and_carries_the_text(text: str) -> None:
    checklist = hostile_checklist(text)
    xml = junit_xml("1.1.0", "v1.1.0-rc.1", checklist.gates)
    root = ET.fromstring(xml.split("?>", 1)[1])
    [failure] = root.iter("failure")
    reason = "; ".join(checklist.gates[0].reasons)
    assert failure.text == xml_text(reason, limit=CI_TEXT_LIMIT)
    assert failure.get("message") == xml_text(one_line(f"FAILED: {reason}", limit=CI_TEXT_LIMIT))
    assert "\n" not in (failure.get("message") or "")
    [waived] = root.iter("system-out")
    assert waived.text == xml_text("WAIVED: " + "; ".join(checklist.gates[1].reasons), limit=CI_TEXT_LIMIT)
    assert root.get("failures") == "1" and len(root.findall("testcase")) == 3


@pytest.mark.parametrize("text", HOSTILE)
def test_json_round_trips_and_holds_no_legacy_command(text: str) -> None:
    payload = {"gates": [{"reasons": [text]}], "comment": text}
    out, err = render("json", "1.1.0", "v1.1.0-rc.1", hostile_checklist(text), payload)
    assert json.loads(out) == payload and err == ""
    assert not any(legacy_command(line) for line in runner_lines(out))
    assert command_lines(out) == []


def status_json(text: str) -> dict:
    """The `release status --json` shape with hostile text in every user-text field."""
    return {
        "version": "1.1.0", "state": "PREPARED", "preparer": f"rm@example.org{text}",
        "candidate": {"tag": "v1.1.0-rc.1", "sha": "a" * 40},
        "evaluated": {"from": "live", "as_of": None},
        "promotable": False,
        "blocking_reasons": [f"change-board: FAILED: rejected by {ACTOR}: {text}"],
        "gates": [
            {"gate": "change-board", "kind": "approval", "state": "FAILED",
             "reasons": [f"rejected by {ACTOR}: {text}"], "evidence": None, "waiver": None,
             "decisions": [{"kind": "rejection", "criterion": None, "actor": f"{ACTOR}{text}",
                            "at": "2026-01-05T09:00:00Z", "comment": text}]},
            {"gate": "acceptance", "kind": "criteria", "state": "PENDING", "reasons": [f"AC-1 {text}"],
             "evidence": {"run_id": 1, "commit": "b" * 40, "target_url": "http://127.0.0.1:9",
                          "target_version": text, "tool_version": "0.1.0",
                          "artifacts": [{"path": f"x/{text}", "sha256": "c" * 64}]},
             "decisions": [{"kind": "acceptance", "criterion": f"AC-2{text}", "actor": ACTOR,
                            "at": "2026-01-05T09:00:00Z"}],
             "waiver": {"actor": ACTOR, "expires_at": "2026-02-01T00:00:00Z", "reason": text}},
        ],
    }


@pytest.mark.parametrize("text", HOSTILE)
def test_terminal_checklist_keeps_every_value_on_its_own_line(text: str) -> None:
    lines = checklist_lines(status_json(text))
    for line in lines:
        assert len(runner_lines(line)) == 1 and len(line.splitlines()) == 1
        assert not CONTROL.search(line)
        assert runner_command(line) is None and not legacy_command(line)
    # The text is shown, escaped, where it belongs (the rejection line and the waiver line).
    assert any(one_line(text) in line for line in lines if "waived by" in line)
    assert lines[-2:] == ["BLOCKED:", f"  - change-board: FAILED: rejected by {ACTOR}: {one_line(text)}"]


@pytest.mark.parametrize("text", HOSTILE[:22])  # the short ones: a commit subject is one line of a message
def test_changelog_through_the_markdown_env_escapes_each_subject(text: str) -> None:
    subject = text.replace("\n", " ")
    data = ChangelogData("1.1.0", "1.0.0", "2026-01-05", (
        ChangelogSection("Bug fixes", (ChangelogEntry(subject, "search", "abc1234", ("#12",)),)),))
    # The shared environment compiled the same template first: its compiled copy (no finalize) must not leak.
    raw = template_env().get_template("changelog.md.j2").render(changelog=data)
    assert subject in raw
    out = render_markdown("changelog.md.j2", changelog=data)
    assert out.startswith("## 1.1.0 (2026-01-05)\n")
    assert "<script" not in out and "<img" not in out
    tokens = markdown().parse(out)
    inline = [c for t in tokens if t.type == "inline" for c in t.children or ()]
    assert not [t for t in tokens if t.type.startswith(("html", "link", "image"))]
    assert not [c for c in inline if c.type.startswith(("html", "link", "image"))]
    assert [t.tag for t in tokens if t.type == "heading_open"] == ["h2", "h3"]
    assert sum(t.type == "list_item_open" for t in tokens) == 1


def test_markdown_env_keeps_its_filters_out_of_the_html_env() -> None:
    markdown_env()
    assert "md_code" not in template_env().filters
    assert markdown_env().finalize is not None and template_env().finalize is None


def test_annotations_are_one_line_each_even_for_long_text() -> None:
    lines = github_annotations(hostile_checklist("x\n" * 10_000).gates)
    # Cut to CI_TEXT_LIMIT characters before escaping, which at most sextuples one (a control as \u202e).
    assert len(lines) == 2 and all("\n" not in line and len(line) < 7 * CI_TEXT_LIMIT for line in lines)
    summary = markdown_summary("1.1.0", "v1.1.0-rc.1", hostile_checklist("y" * 100_000))
    assert len(summary) < 10 * CI_TEXT_LIMIT


def test_html_templates_autoescape_and_mark_only_the_tools_own_markup_safe() -> None:
    from release.web.app import _templates

    report_dir = Path(release.__file__).parent / "templates"
    web_dir = Path(release.__file__).parent / "web" / "templates"
    html = sorted(report_dir.glob("*.html.j2")) + sorted(web_dir.glob("*.html.j2"))
    assert len(html) >= 7
    for path in html:
        env = _templates() if path.parent == web_dir else template_env()
        assert env.autoescape(path.name) if callable(env.autoescape) else env.autoescape, path.name
    safe = {m for path in html for m in re.findall(r"\{\{\s*([^{}]+?)\s*\|\s*safe\s*\}\}", path.read_text())}
    # The charts (matplotlib's SVG, which escapes its text), the tool's own "charts not drawn" note (a constant,
    # release/report/charts.py CHARTS_MISSING_NOTE) and the record the same autoescaped env rendered.
    assert safe == {"f.svg", "report.charts[b.gate].missing", "view.report_body"}


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "a$\\frac{$b", "$x$ & <b>", "event.search"])
def test_chart_labels_are_drawn_as_written(name: str) -> None:
    from release.report.charts import LatencyBar, latency_bar_chart, latency_cdf_chart

    bars = latency_bar_chart([LatencyBar(name, 120, 100, 150)], title=f"p95 latency per procedure: {name}")
    cdf = latency_cdf_chart(name, {"candidate": {"values_ms": [1, 2], "counts": [3, 1]}})
    for svg in (bars, cdf):
        assert "<script" not in svg and "<b>" not in svg
        ET.fromstring(svg)  # well-formed: the SVG writer escaped the label
