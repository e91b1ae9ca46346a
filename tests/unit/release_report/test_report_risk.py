"""The risk rule: tables of facts -> level, and the facts read from a record's data."""

from __future__ import annotations

import pytest

from release.report.risk import LARGE_CHANGE, SIZEABLE_CHANGE, RiskFacts, assess, version_bump
from release.report.summary import risk_facts

pytestmark = pytest.mark.unit

PATCH = RiskFacts(bump="patch", changes=3)


@pytest.mark.parametrize(("facts", "level"), [
    (PATCH, "LOW"),
    (RiskFacts(bump="minor", changes=12), "LOW"),
    (RiskFacts(bump="patch", changes=3, breaking=("clients must read total",)), "HIGH"),
    (RiskFacts(bump="patch", changes=3, not_passed=("load: FAILED",)), "HIGH"),
    (RiskFacts(bump="patch", changes=3, not_passed=("regression: INCONCLUSIVE",)), "HIGH"),
    (RiskFacts(bump="patch", changes=3, waived=("browser (until 2026-01-20)",)), "MEDIUM"),
    (RiskFacts(bump="patch", changes=3, over_budget=("event.search x10.98",)), "HIGH"),
    (RiskFacts(bump="patch", changes=3, slower=("event.search x1.06",)), "MEDIUM"),
    (RiskFacts(bump="patch", changes=3, migrations=("rehearsal: PASSED",)), "MEDIUM"),
    (RiskFacts(bump="major", changes=3), "MEDIUM"),
    (RiskFacts(bump="patch", changes=3, emergency=("by cio@example.org: death registrations fail",)), "HIGH"),
    (RiskFacts(bump="patch", changes=SIZEABLE_CHANGE - 1), "LOW"),
    (RiskFacts(bump="patch", changes=SIZEABLE_CHANGE), "MEDIUM"),
    (RiskFacts(bump="patch", changes=LARGE_CHANGE), "HIGH"),
    (RiskFacts(bump="patch", changes=3, waived=("qa (until 2026-01-20)",), not_passed=("load: ERROR",)), "HIGH"),
])
def test_level(facts: RiskFacts, level: str) -> None:
    assert assess(facts).level == level


@pytest.mark.parametrize("raised", [
    RiskFacts(bump="patch", changes=3, breaking=("x",)),
    RiskFacts(bump="patch", changes=3, waived=("qa (until 2026-01-20)",)),
    RiskFacts(bump="patch", changes=3, not_passed=("load: FAILED",)),
])
def test_a_breaking_change_a_waiver_or_a_failed_gate_raises_a_clean_patch(raised: RiskFacts) -> None:
    low = assess(PATCH)
    assert low.level == "LOW" and low.reasons == ()
    assert assess(raised).level in ("MEDIUM", "HIGH")


def test_the_rule_is_shown_whole_with_what_fired() -> None:
    risk = assess(RiskFacts(bump="patch", changes=3, not_passed=("load: FAILED", "browser: ERROR")))
    shown = risk.to_json()
    assert len(shown["rule"]) >= 8 and shown["default"] == "LOW"
    fired = [line for line in shown["rule"] if line["fired"]]
    assert [line["because"] for line in fired] == [["load: FAILED", "browser: ERROR"]]
    assert shown["reasons"] == ["a gate did not pass (it failed, errored, was inconclusive or is stale): load: FAILED and 1 more"]


@pytest.mark.parametrize(("version", "previous", "bump"), [
    ("1.2.0", "1.1.0", "minor"), ("1.1.1", "1.1.0", "patch"), ("2.0.0", "1.9.3", "major"),
    ("1.1.0-rc.1", "1.0.0", "minor"), ("1.0.0", None, "initial"), ("v2.0.0", "v1.9.0", "major"),
])
def test_version_bump(version: str, previous: str | None, bump: str) -> None:
    assert version_bump(version, previous) == bump


def test_facts_come_from_the_record() -> None:
    data = {
        "version": "1.2.0", "previous_version": "1.1.0",
        "scope": {"entries": 2, "breaking": [{"subject": "search returns totals"}], "groups": []},
        "gates": [{"gate": "load", "kind": "locust", "state": "FAILED"},
                  {"gate": "qa", "kind": "signoff", "state": "PENDING"},
                  {"gate": "rehearsal", "kind": "migration", "state": "PASSED"},
                  {"gate": "browser", "kind": "browser", "state": "WAIVED"}],
        "waivers": [{"gate": "browser", "expires_at": "2026-01-20T00:00:00+00:00"}],
        "evidence": [{"gate": "load", "load": {"procedures": [
            {"procedure": "event.search", "ratio": 10.98, "ci_low": 9.5, "verdict": "FAIL"},
            {"procedure": "event.get", "ratio": 1.05, "ci_low": 1.01, "verdict": "PASS"},
            {"procedure": "upload", "ratio": 0.9, "ci_low": 0.8, "verdict": "PASS"}]}}],
    }
    facts = risk_facts(data)
    assert facts == RiskFacts(bump="minor", changes=2, breaking=("search returns totals",),
                              not_passed=("load: FAILED",), waived=("browser (until 2026-01-20)",),
                              over_budget=("event.search x10.98",), slower=("event.get x1.05",),
                              migrations=("rehearsal: PASSED",))
    assert assess(facts).level == "HIGH"


def test_an_emergency_promotion_in_the_record_fires_its_line() -> None:
    data = {"version": "1.1.1", "previous_version": "1.1.0", "scope": {"entries": 1, "groups": []}, "gates": [],
            "operations": {"emergency": {"promoted_by": "cio@example.org", "reason": "deaths fail"}}}
    facts = risk_facts(data)
    assert facts.emergency == ("by cio@example.org: deaths fail",)
    risk = assess(facts)
    assert risk.level == "HIGH" and risk.reasons[0].startswith("promoted on the emergency path")
    assert risk_facts({**data, "operations": {"emergency": None}}).emergency == ()
