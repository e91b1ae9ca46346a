"""Render a checklist for CI: GitHub annotations, a Markdown summary, JUnit XML or JSON. Pure functions.

Gate reasons carry user text (a rejection's comment, a waiver's reason, actor ids), so every piece goes through
release.safe_text for the format it lands in: workflow-command escaping for annotations, Markdown escaping (one
line, no HTML, links or cell breaks) for the summary, the XML library plus XML 1.0 character filtering for JUnit,
and `##[` kept out of JSON. Each piece is cut to safe_text.CI_TEXT_LIMIT characters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

from release.gates.model import Checklist, GateState, GateStatus
from release.safe_text import CI_TEXT_LIMIT, gh_data, gh_property, json_text, md_inline, one_line, xml_text

FORMATS = ("text", "json", "github", "gitlab", "junit")

_ICON = {
    GateState.PASSED: "✅", GateState.WAIVED: "⚠️", GateState.FAILED: "❌", GateState.ERROR: "🛑",
    GateState.INCONCLUSIVE: "❔", GateState.STALE: "♻️", GateState.PENDING: "⏳", GateState.RUNNING: "🔄",
}


def _reason(status: GateStatus) -> str:
    return "; ".join(status.reasons) if status.reasons else status.state.value


def github_annotations(gates: Iterable[GateStatus]) -> list[str]:
    """One `::error` per blocking gate and one `::warning` per waiver, as GitHub workflow commands.

    The title is a command property and the reason its data, escaped as @actions/core's command.ts does, so each
    annotation is one line whatever the reason holds.
    """
    lines = []
    for status in gates:
        title = gh_property(f"gate {status.gate}: {status.state.value}")
        if status.state == GateState.WAIVED:
            lines.append(f"::warning title={title}::{gh_data(_reason(status))}")
        elif not status.state.counts:
            lines.append(f"::error title={title}::{gh_data(_reason(status))}")
    return lines


def _md(text: str) -> str:
    return md_inline(text, limit=CI_TEXT_LIMIT)


def markdown_summary(version: str, candidate: str, checklist: Checklist) -> str:
    """A Markdown checklist for a job summary or a merge-request note.

    Every line starts with text of the tool's own (`##`, `|`, `-`, `**`), and user text is folded onto the line it
    is in, so none of it can start a line (a workflow command when the runner reads this on stdout) or escape its
    table cell.
    """
    verdict = "promotable" if checklist.promotable else "BLOCKED"
    rows = [f"## crvs-release {_md(version)} ({_md(candidate)}): {verdict}", "",
            "| gate | kind | state | why |", "|---|---|---|---|"]
    for status in checklist.gates:
        icon = _ICON.get(status.state, "")
        rows.append(f"| {_md(status.gate)} | {status.kind.value} | {icon} {status.state.value} | "
                    f"{_md(_reason(status))} |")
    if checklist.blocking_reasons:
        rows += ["", "**Blocked because:**", *[f"- {_md(r)}" for r in checklist.blocking_reasons]]
    return "\n".join(rows) + "\n"


def _xml(text: str) -> str:
    """Text for a JUnit attribute or body: XML 1.0 characters only (ElementTree escapes, but writes what it gets)."""
    return xml_text(text, limit=CI_TEXT_LIMIT)


def junit_xml(version: str, candidate: str, gates: Iterable[GateStatus]) -> str:
    """A JUnit report with one test case per gate; a gate that does not count is a failure.

    Built with ElementTree, never by string concatenation. A failure's `message` attribute is the reason on one
    line; its body holds the reason as written (the XML library escapes it).
    """
    gates = list(gates)
    suite = ET.Element("testsuite", name=_xml(f"crvs-release {version}"), tests=str(len(gates)))
    failures = errors = 0
    for status in gates:
        case = ET.SubElement(suite, "testcase", classname=_xml(f"gates.{candidate}"), name=_xml(status.gate))
        if status.state.counts:
            if status.state == GateState.WAIVED:
                ET.SubElement(case, "system-out").text = _xml(f"WAIVED: {_reason(status)}")
            continue
        tag = "error" if status.state in (GateState.ERROR, GateState.RUNNING) else "failure"
        if tag == "error":
            errors += 1
        else:
            failures += 1
        message = xml_text(one_line(f"{status.state.value}: {_reason(status)}", limit=CI_TEXT_LIMIT))
        ET.SubElement(case, tag, message=message, type=status.state.value).text = _xml(_reason(status))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def render(fmt: str, version: str, candidate: str, checklist: Checklist,
           json_payload: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """Return (stdout, stderr) text for `fmt`; the caller chooses the exit code from the checklist."""
    if fmt == "json":
        return json_text(json.dumps(json_payload or {}, indent=2, sort_keys=True, default=str)) + "\n", ""
    if fmt == "github":
        # The summary goes to stdout (for $GITHUB_STEP_SUMMARY); annotations to stderr, where the runner reads them too.
        return markdown_summary(version, candidate, checklist), "\n".join(github_annotations(checklist.gates)) + "\n"
    if fmt == "gitlab":
        return markdown_summary(version, candidate, checklist), ""
    if fmt == "junit":
        return junit_xml(version, candidate, checklist.gates), ""
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
