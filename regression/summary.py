"""Fold pytest reports into per-test outcomes and build the JSON summary (pure; no pytest import)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from regression import MARKERS, SUMMARY_SCHEMA

STATUS_EXIT_CODES = {"passed": 0, "failed": 1, "error": 2}
# pytest exit codes that mean the run itself broke: interrupted, internal error, usage error, no tests.
_BROKEN_RUN = {2, 3, 4, 5}


@dataclass
class TestOutcome:
    """The final outcome of one test node, after any reruns."""

    __test__ = False  # not a pytest test class

    nodeid: str
    markers: tuple[str, ...] = ()
    outcome: str | None = None  # passed | failed | error | skipped
    reruns: int = 0
    reason: str = ""

    @property
    def flaky(self) -> bool:
        """Passed only after failing at least once."""
        return self.outcome == "passed" and self.reruns > 0


@dataclass
class ReportFolder:
    """Receives reports phase by phase (setup/call/teardown, reruns) and keeps one outcome per test."""

    tests: dict[str, TestOutcome] = field(default_factory=dict)
    collect_errors: list[TestOutcome] = field(default_factory=list)
    artifacts: list[dict[str, str]] = field(default_factory=list)

    def add(self, nodeid: str, when: str, outcome: str, keywords: Iterable[str], reason: str = "") -> None:
        """Fold one phase report; `outcome` is pytest's passed/failed/skipped or rerunfailures' rerun."""
        test = self.tests.get(nodeid)
        if test is None:
            test = self.tests[nodeid] = TestOutcome(nodeid, tuple(m for m in MARKERS if m in set(keywords)))
        if outcome == "rerun":
            test.reruns += 1
            test.outcome, test.reason = None, ""
            return
        if outcome == "failed":
            if when == "call":
                test.outcome, test.reason = "failed", reason
            elif test.outcome != "failed":
                test.outcome, test.reason = "error", reason
        elif outcome == "skipped":
            if test.outcome not in ("failed", "error"):
                test.outcome, test.reason = "skipped", reason
        elif outcome == "passed" and when == "call" and test.outcome is None:
            test.outcome = "passed"

    def add_collect_error(self, nodeid: str, reason: str) -> None:
        """A module that could not be collected is an error, never a silent omission."""
        self.collect_errors.append(TestOutcome(nodeid or "<collection>", (), "error", 0, reason))

    def outcomes(self) -> list[TestOutcome]:
        """Every test that reached an outcome, plus collection errors."""
        return [t for t in self.tests.values() if t.outcome is not None] + list(self.collect_errors)


def one_line(text: str, limit: int = 300) -> str:
    """The first meaningful line of an error text, without pytest's 'AssertionError: ' prefix."""
    for raw in text.splitlines():
        line = raw.strip()
        if line:
            for prefix in ("AssertionError: ", "Failed: ", "E   "):
                if line.startswith(prefix):
                    line = line[len(prefix):].strip()
            return line[:limit]
    return ""


def decide_status(outcomes: Sequence[TestOutcome], exit_status: int, error: str | None) -> str:
    """passed | failed | error: nothing run, nothing passed or a broken run is an error, never a pass."""
    if error:
        return "error"
    if any(t.outcome in ("failed", "error") for t in outcomes):
        return "failed" if exit_status not in _BROKEN_RUN - {5} else "error"
    if exit_status in _BROKEN_RUN or not any(t.outcome == "passed" for t in outcomes):
        return "error"
    if exit_status != 0:
        return "failed"
    return "passed"


def build_summary(outcomes: Sequence[TestOutcome], *, exit_status: int, target: Mapping[str, str],
                  started_at: str, finished_at: str, duration_s: float,
                  artifacts: Sequence[Mapping[str, str]] = (), error: str | None = None,
                  cleanup: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The `crvs-release/regression-summary/1` document."""
    status = decide_status(outcomes, exit_status, error)
    if status == "error" and not error:
        broken = [t for t in outcomes if t.outcome == "error" and t.reason.startswith("collection failed")]
        error = (broken[0].reason if broken else "no test was collected" if not outcomes
                 else f"the run broke (pytest exit status {exit_status})" if exit_status in _BROKEN_RUN - {5}
                 else "no test passed (all skipped or deselected)")
    counts = {"total": len(outcomes), "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "flaky": 0}
    markers = {m: {"passed": 0, "failed": 0, "skipped": 0, "flaky": 0} for m in MARKERS}
    for test in outcomes:
        key = "flaky" if test.flaky else {"passed": "passed", "failed": "failed", "error": "errors",
                                          "skipped": "skipped"}[test.outcome or "error"]
        counts[key] += 1
        per_marker = "failed" if key == "errors" else key
        for marker in test.markers:
            markers[marker][per_marker] += 1
    failures = [{"nodeid": t.nodeid, "markers": list(t.markers), "reason": t.reason or t.outcome or ""}
                for t in outcomes if t.outcome in ("failed", "error")]
    if error and not failures:
        failures.insert(0, {"nodeid": "<run>", "markers": [], "reason": error})
    return {
        "schema": SUMMARY_SCHEMA,
        "status": status,
        "exit_code": STATUS_EXIT_CODES[status],
        "error": error,
        "target": dict(target),
        "counts": counts,
        "markers": markers,
        "failures": failures,
        "flaky": [{"nodeid": t.nodeid, "reruns": t.reruns} for t in outcomes if t.flaky],
        "passed_nodeids": sorted(t.nodeid for t in outcomes if t.outcome == "passed" and not t.flaky),
        "duration_s": round(duration_s, 3),
        "started_at": started_at,
        "finished_at": finished_at,
        "artifacts": [dict(a) for a in artifacts],
        "cleanup": dict(cleanup) if cleanup is not None else None,
    }
