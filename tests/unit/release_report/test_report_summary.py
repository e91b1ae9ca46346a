"""The decision summary and the changelog view, built from plain data (no rendering), plus their HTML."""

from __future__ import annotations

import re

import pytest

from release.config import ReportSettings
from release.report.changes import LISTED_PER_GROUP, VISIBLE_PER_GROUP, changelog_view, subject_html
from release.report.charts import (
    LatencyBar,
    SlowdownPoint,
    latency_bar_chart,
    latency_cdf_chart,
    slowdown_chart,
)
from release.report.render import render
from release.report.sections import content_hash, plans_section
from release.report.summary import one_reason, summary_section

pytestmark = pytest.mark.unit


def _entries(n: int, kind: str = "x") -> list[dict]:
    return [{"subject": f"{kind} {i}", "scope": ("ui", "deps", None)[i % 3], "sha": f"{i:07x}", "refs": []}
            for i in range(n)]


def record(**over) -> dict:
    """A blocked record: load failed, one of two approvals in, a waiver on browser."""
    data = {
        "version": "1.2.0", "previous_version": "1.1.0", "tag": "v1.2.0", "preparer": "rm@example.org",
        "verdict": "BLOCKED", "state": "PREPARED", "blocking_heading": "Why it is blocked",
        "scope": {"entries": 1, "breaking": [], "groups": [{"title": "New features", "entries": _entries(1)}]},
        "gates": [
            {"gate": "load", "kind": "locust", "state": "FAILED", "counts": False,
             "reasons": ["run 4: FAILED", "A/B against production: event.search FAIL: +998% slower"], "decisions": []},
            {"gate": "browser", "kind": "browser", "state": "WAIVED", "counts": True, "reasons": ["waived"],
             "decisions": []},
            {"gate": "change-board", "kind": "approval", "state": "PENDING", "counts": False,
             "reasons": ["1 of 2 approvals"],
             "decisions": [{"kind": "approval", "actor": "chair@example.org", "at": "2026-12-01T20:35:11+00:00"}]},
        ],
        "waivers": [{"gate": "browser", "actor": "rm@example.org", "reason": "flaky print\nbutton",
                     "expires_at": "2026-12-20T00:00:00+00:00"}],
        "evidence": [{"gate": "load", "load": {"procedures": []}}],
    }
    data.update(over)
    return data


PEOPLE = {"change-board": {"role": "change-board", "quorum": 2,
                           "members": ["chair@example.org", "ops@example.org", "rm@example.org"]}}


def test_summary_names_what_blocks_and_who_may_still_decide() -> None:
    s = summary_section(record(), people=PEOPLE)
    assert s["verdict"] == "BLOCKED"
    assert [(b["gate"], b["state"]) for b in s["blocking"]] == [("load", "FAILED"), ("change-board", "PENDING")]
    assert s["blocking"][0]["reason"].startswith("A/B against production: event.search FAIL")  # not "run 4: FAILED"
    board = s["approvals"][0]
    assert (board["needed"], board["may_decide"]) == (1, ["ops@example.org"])  # not the preparer, not the chair
    assert s["waivers"] == [{"gate": "browser", "actor": "rm@example.org", "expires_at": "2026-12-20T00:00",
                             "reason": "flaky print\\nbutton"}]
    assert [g["link"] for g in s["gates"]] == ["#evidence-load", "#gate-browser", "#approvals-change-board"]
    assert s["risk"]["level"] == "HIGH"


def test_the_summary_is_not_part_of_what_an_approval_binds() -> None:
    data = record()
    derived = {**data, "summary": summary_section(data, people=PEOPLE), "people": PEOPLE,
               "changelog_view": changelog_view(data["scope"])}
    assert content_hash(derived) == content_hash(data)


def test_one_reason_is_one_bounded_line() -> None:
    assert one_reason(["run 1: PASSED"]) == "run 1: PASSED"
    assert one_reason([]) == ""
    long = one_reason(["x" * 500])
    assert len(long) < 200 and "\n" not in one_reason(["a\nb"])


def test_a_thousand_changes_are_capped_and_other_is_folded() -> None:
    scope = {"entries": 1200, "breaking": _entries(3, "b"), "groups": [
        {"title": "Breaking changes", "entries": _entries(3, "b")},
        {"title": "Bug fixes", "entries": _entries(40, "f")},
        {"title": "Other", "entries": _entries(1157, "o")}]}
    view = changelog_view(scope)
    breaking, fixes, other = view["groups"]
    assert (len(breaking["visible"]), breaking["folded"], breaking["unlisted"]) == (3, [], 0)
    assert (len(fixes["visible"]), len(fixes["folded"]), fixes["unlisted"]) == (VISIBLE_PER_GROUP, 40 - VISIBLE_PER_GROUP, 0)
    assert other["folded_whole"] and other["visible"] == []
    assert len(other["folded"]) == LISTED_PER_GROUP and other["unlisted"] == 1157 - LISTED_PER_GROUP
    assert other["top_scopes"][0] == {"scope": "ui", "count": 386}
    assert view["kinds"] == [{"title": "Breaking changes", "count": 3}, {"title": "Bug fixes", "count": 40},
                             {"title": "Other", "count": 1157}]


@pytest.mark.parametrize(("subject", "html"), [
    ("use `total` **now**", "use <code>total</code> <strong>now</strong>"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("[x](javascript:alert(1)) ![i](http://e.org/i.png)", "[x](javascript:alert(1)) ![i](http://e.org/i.png)"),
    ("line\nbreak", "line\\nbreak"),
])
def test_subjects_render_a_safe_markdown_subset(subject: str, html: str) -> None:
    assert str(subject_html(subject)) == html


@pytest.mark.parametrize(("text", "notes"), [
    ("Medium: release {version} changes births", "Release 1.2.0 changes births"),
    ("HIGH - schema change", "Schema change"),
    ("High-availability pair is untouched", "High-availability pair is untouched"),
    ("Low traffic window", "Low traffic window"),
])
def test_a_fixed_level_in_the_risk_text_is_dropped(text: str, notes: str) -> None:
    plans = plans_section(ReportSettings(risk=text), version="1.2.0", previous_version="1.1.0", tag="v1.2.0",
                          commit="abc")
    assert plans["risk"] == notes


def _ticks(svg: str) -> list[str]:
    return re.findall(r">([^<>]+)</text>", svg)


def test_latency_axis_fits_the_data_and_notes_a_far_slo() -> None:
    svg = latency_bar_chart([LatencyBar("event.search", 178, 24, 5000)])
    assert "SLO 5000 ms: off this scale" in svg and "5000" not in "".join(_ticks(svg)).replace("SLO 5000", "")
    near = latency_bar_chart([LatencyBar("event.search", 178, 24, 150)])
    assert "off this scale" not in near and "SLO" in near


def test_slowdown_chart_draws_the_budget_and_the_failing_procedure() -> None:
    svg = slowdown_chart([SlowdownPoint("event.search", 10.98, 9.54, 12.83, "FAIL"),
                          SlowdownPoint("event.get", 0.79, 0.59, 1.07, "PASS")], max_slowdown=1.0, confidence=0.95)
    assert "budget (x2)" in svg and "x10.98 FAIL" in svg and "95% interval" in svg
    with pytest.raises(ValueError):
        slowdown_chart([], max_slowdown=0.1)


def test_cdf_notes_a_far_slo() -> None:
    svg = latency_cdf_chart("event.search", {"candidate": {"values_ms": [20, 30, 180], "counts": [5, 4, 1]}},
                            slo_ms=5000)
    assert "SLO 5000 ms: off this scale" in svg


def test_html_summary_comes_before_the_details_and_is_scoped() -> None:
    data = record(summary=summary_section(record(), people=PEOPLE), gates=[], decisions=[], waivers=[],
                  candidate=None, generated_at="2026-12-01T20:00:00+00:00", audit_head="0" * 64,
                  audit_witness="crvs-release-audit-head: 1 " + "0" * 64, blocking_reasons=[],
                  evaluated={"from": "live", "as_of": None})
    del data["scope"]  # the long sections need the whole record; the summary does not
    html = render(data, "html")
    assert html.index('data-testid="record-verdict"') < html.index('data-testid="record-approvals"') \
        < html.index('class="details"')
    style = html[html.index("<style>") + 7:html.index("</style>")]
    rules = [r.strip() for r in re.sub(r"@page\s*\{(?:[^{}]|\{[^{}]*\})*\}", "", style).split("}")]
    for rule in rules:
        selectors = rule.split("{")[0].strip()
        if not selectors or selectors.startswith("@media"):
            continue
        for sel in selectors.split(","):
            assert sel.strip().startswith(".crvs-record") or sel.strip().startswith("@media"), sel
    assert "ops@example.org" in html and "1 more needed" in html
