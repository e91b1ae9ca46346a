import json
from xml.etree import ElementTree as ET

import pytest

from release.ci_output import github_annotations, junit_xml, markdown_summary, render
from release.gates.model import Checklist, GateKind, GateState, GateStatus

pytestmark = pytest.mark.unit


def checklist(*states: GateState) -> Checklist:
    gates = tuple(GateStatus(f"g{i}", GateKind.COMMAND, s, (f"reason {i}: a,b",)) for i, s in enumerate(states))
    promotable = all(s.counts for s in states)
    return Checklist(gates, promotable, tuple(f"g{i}" for i, s in enumerate(states) if not s.counts))


def test_annotations_only_for_gates_that_do_not_count_plus_waiver_warnings():
    lines = github_annotations(checklist(GateState.PASSED, GateState.FAILED, GateState.WAIVED, GateState.ERROR).gates)
    assert [line.split(" ")[0] for line in lines] == ["::error", "::warning", "::error"]
    assert "title=gate g1%3A FAILED" in lines[0]
    assert lines[0].endswith("::reason 1: a,b")


def test_markdown_says_blocked_and_lists_every_gate():
    text = markdown_summary("1.2.0", "v1.2.0-rc.1", checklist(GateState.PASSED, GateState.STALE))
    assert "BLOCKED" in text
    assert "| g0 |" in text and "| g1 |" in text


@pytest.mark.parametrize(
    ("states", "failures", "errors"),
    [((GateState.PASSED,), 0, 0), ((GateState.FAILED, GateState.ERROR, GateState.PENDING), 2, 1),
     ((GateState.WAIVED, GateState.INCONCLUSIVE), 1, 0)],
)
def test_junit_counts_blocking_gates(states, failures, errors):
    root = ET.fromstring(junit_xml("1.0.0", "v1.0.0-rc.1", checklist(*states).gates).split("?>", 1)[1])
    assert root.get("failures") == str(failures)
    assert root.get("errors") == str(errors)
    assert len(root.findall("testcase")) == len(states)


def test_render_json_and_unknown_format():
    out, err = render("json", "1.0.0", "v1.0.0-rc.1", checklist(GateState.PASSED), {"promotable": True})
    assert json.loads(out) == {"promotable": True} and err == ""
    with pytest.raises(ValueError):
        render("yaml", "1.0.0", "v1.0.0-rc.1", checklist(GateState.PASSED))
