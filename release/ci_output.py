"""Render a checklist for CI: GitHub annotations, a Markdown summary, JUnit XML or JSON. Pure functions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

from release.gates.model import Checklist, GateState, GateStatus

FORMATS = ("text", "json", "github", "gitlab", "junit")

_ICON = {
    GateState.PASSED: "✅", GateState.WAIVED: "⚠️", GateState.FAILED: "❌", GateState.ERROR: "🛑",
    GateState.INCONCLUSIVE: "❔", GateState.STALE: "♻️", GateState.PENDING: "⏳", GateState.RUNNING: "🔄",
}


def _escape_data(text: str) -> str:
    # Workflow-command escaping, as the GitHub runner expects it.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _reason(status: GateStatus) -> str:
    return "; ".join(status.reasons) if status.reasons else status.state.value


def github_annotations(gates: Iterable[GateStatus]) -> list[str]:
    """One `::error` per blocking gate and one `::warning` per waiver, as GitHub workflow commands."""
    lines = []
    for status in gates:
        title = _escape_prop(f"gate {status.gate}: {status.state.value}")
        if status.state == GateState.WAIVED:
            lines.append(f"::warning title={title}::{_escape_data(_reason(status))}")
        elif not status.state.counts:
            lines.append(f"::error title={title}::{_escape_data(_reason(status))}")
    return lines


def markdown_summary(version: str, candidate: str, checklist: Checklist) -> str:
    """A Markdown checklist for a job summary or a merge-request note."""
    verdict = "promotable" if checklist.promotable else "BLOCKED"
    rows = [f"## crvs-release {version} ({candidate}): {verdict}", "",
            "| gate | kind | state | why |", "|---|---|---|---|"]
    for status in checklist.gates:
        why = _reason(status).replace("|", "\\|")
        rows.append(f"| {status.gate} | {status.kind.value} | {_ICON.get(status.state, '')} {status.state.value} | {why} |")
    if checklist.blocking_reasons:
        rows += ["", "**Blocked because:**", *[f"- {r}" for r in checklist.blocking_reasons]]
    return "\n".join(rows) + "\n"


def junit_xml(version: str, candidate: str, gates: Iterable[GateStatus]) -> str:
    """A JUnit report with one test case per gate; a gate that does not count is a failure."""
    gates = list(gates)
    suite = ET.Element("testsuite", name=f"crvs-release {version}", tests=str(len(gates)))
    failures = errors = 0
    for status in gates:
        case = ET.SubElement(suite, "testcase", classname=f"gates.{candidate}", name=status.gate)
        if status.state.counts:
            if status.state == GateState.WAIVED:
                ET.SubElement(case, "system-out").text = f"WAIVED: {_reason(status)}"
            continue
        tag = "error" if status.state in (GateState.ERROR, GateState.RUNNING) else "failure"
        if tag == "error":
            errors += 1
        else:
            failures += 1
        ET.SubElement(case, tag, message=f"{status.state.value}: {_reason(status)}", type=status.state.value)
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def render(fmt: str, version: str, candidate: str, checklist: Checklist,
           json_payload: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """Return (stdout, stderr) text for `fmt`; the caller chooses the exit code from the checklist."""
    if fmt == "json":
        return json.dumps(json_payload or {}, indent=2, sort_keys=True, default=str) + "\n", ""
    if fmt == "github":
        # The summary goes to stdout (for $GITHUB_STEP_SUMMARY); annotations to stderr, where the runner reads them too.
        return markdown_summary(version, candidate, checklist), "\n".join(github_annotations(checklist.gates)) + "\n"
    if fmt == "gitlab":
        return markdown_summary(version, candidate, checklist), ""
    if fmt == "junit":
        return junit_xml(version, candidate, checklist.gates), ""
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
