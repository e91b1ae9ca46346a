"""Pure builders of the change record's sections: tables of input -> expected."""

from __future__ import annotations

import re

import pytest

from release.changelog import ChangelogData, ChangelogEntry, ChangelogSection
from release.config import ReportSettings
from release.report.charts import LatencyBar, latency_bar_chart, latency_cdf_chart
from release.report.sections import (
    content_hash,
    criteria_section,
    load_evidence,
    plans_section,
    regression_evidence,
    scope_section,
)

pytestmark = pytest.mark.unit


def test_scope_puts_breaking_changes_first() -> None:
    data = ChangelogData("1.1.0", "1.0.0", "2026-01-05", (
        ChangelogSection("New features", (ChangelogEntry("search totals", "search", "abc1234", ()),)),
        ChangelogSection("Breaking changes", (ChangelogEntry("clients read total", None, "def5678", ("#7",)),)),
    ))
    scope = scope_section(data)
    assert [g["title"] for g in scope["groups"]] == ["Breaking changes", "New features"]
    assert scope["breaking"] == [{"subject": "clients read total", "scope": None, "sha": "def5678", "refs": ["#7"]}]
    assert scope["entries"] == 2


def test_plans_fill_real_versions() -> None:
    plans = plans_section(ReportSettings(backout_plan="Redeploy {previous_version} over {tag}"), version="1.1.0",
                          previous_version="1.0.0", tag="v1.1.0-rc.2", commit="abc")
    assert plans["backout_plan"] == "Redeploy 1.0.0 over v1.1.0-rc.2"


@pytest.mark.parametrize(("summary", "available", "failures"), [
    (None, False, []),
    ({"status": "failed", "counts": {"total": 2, "passed": 1, "failed": 1},
      "failures": [{"nodeid": "t::a", "reason": "boom"}]}, True, [{"nodeid": "t::a", "reason": "boom"}]),
    ({"status": "passed", "counts": "garbage", "markers": ["x"]}, True, []),
])
def test_regression_evidence(summary, available, failures) -> None:
    got = regression_evidence(summary)
    assert got["available"] is available
    assert got["failures"] == failures


def test_load_evidence_compares_with_slo_and_baseline() -> None:
    files = {"stats": {"procedures": {"event.search": {"count": 10, "p50_ms": 90, "p95_ms": 160, "p99_ms": 200}}},
             "baseline_stats": {"procedures": {"event.search": {"p95_ms": 100}}},
             "comparison": {"confidence": 0.95, "procedures": {"event.search": {"ratio": 1.6, "ci_low": 1.4,
                                                                                "ci_high": 1.8, "verdict": "FAIL"}}},
             "histograms": {"procedures": {"event.search": {"values_ms": [90, 160], "counts": [9, 1]}}}}
    got = load_evidence(files, {"event.search": {"p95_ms": 150}})
    row = got["procedures"][0]
    assert (row["p95_ms"], row["baseline_p95_ms"], row["slo_p95_ms"], row["slo_ok"]) == (160, 100, 150, False)
    assert (row["ratio"], row["ci_low"], row["verdict"]) == (1.6, 1.4, "FAIL")
    assert [c["procedure"] for c in got["cdfs"]] == ["event.search"]


def test_load_evidence_without_files_is_unavailable() -> None:
    assert load_evidence({}, None)["available"] is False


def test_criteria_count_only_passing_current_evidence() -> None:
    criteria = [{"gate": "acc", "id": "AC-1", "text": "find", "verify": "r/test_s.py::t"},
                {"gate": "acc", "id": "AC-2", "text": "print", "verify": None}]
    files = {"reg": {"summary": {"passed_nodeids": ["r/test_s.py::t"], "failures": []}}}
    passing = [{"gate": "reg", "state": "PASSED", "evidence": {"run_id": 1}, "decisions": []},
               {"gate": "acc", "state": "PENDING", "evidence": None,
                "decisions": [{"kind": "acceptance", "criterion": "AC-2", "actor": "qa@example.org", "at": "t"}]}]
    rows = criteria_section(criteria, passing, files)
    assert [r["status"] for r in rows] == ["verified", "attested"]
    stale = [dict(passing[0], state="STALE"), passing[1]]
    assert criteria_section(criteria, stale, files)[0]["status"] == "not verified"


def test_content_hash_ignores_decisions_but_not_evidence() -> None:
    base = {"version": "1.1.0", "candidate": {"sha": "a"}, "decisions": [], "audit_head": "0",
            "gates": [{"gate": "g", "evidence": {"run_id": 1}, "waiver": None, "state": "PENDING"}]}
    decided = dict(base, decisions=[{"actor": "x"}], audit_head="1",
                   gates=[{"gate": "g", "evidence": {"run_id": 1}, "waiver": None, "state": "PASSED"}])
    new_evidence = dict(base, gates=[{"gate": "g", "evidence": {"run_id": 2}, "waiver": None, "state": "PENDING"}])
    assert content_hash(base) == content_hash(decided)
    assert content_hash(base) != content_hash(new_evidence)
    assert content_hash(base) != content_hash(dict(base, candidate={"sha": "b"}))


def test_charts_are_inline_svg_without_external_references() -> None:
    bars = latency_bar_chart([LatencyBar("event.search", 120, 100, 150), LatencyBar("event.get", 20)])
    cdf = latency_cdf_chart("event.search", {"candidate": {"values_ms": [1, 2], "counts": [3, 1]}}, slo_ms=2)
    for svg in (bars, cdf):
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert not re.search(r'(?:href|src)="(?!#)', svg)
    ids = set(re.findall(r'id="([^"]+)"', bars)) & set(re.findall(r'id="([^"]+)"', cdf))
    assert not ids  # two charts in one page never share an element id


def test_cdf_without_samples_is_an_error() -> None:
    with pytest.raises(ValueError):
        latency_cdf_chart("event.search", {"candidate": {"values_ms": [], "counts": []}})
