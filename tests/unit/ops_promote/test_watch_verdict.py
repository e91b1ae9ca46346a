"""The watch's verdict from its run, the comparison with the baseline and the configured procedures and SLO."""

from __future__ import annotations

from typing import Any

import pytest

from release.config import WatchSettings
from release.workflow.watch import judge

pytestmark = pytest.mark.unit

RUN = {"verdict": "PASSED", "errors": []}


def comparison(verdict: str, **procedures: str) -> dict[str, Any]:
    return {"verdict": verdict, "reason": "r",
            "procedures": {name: {"verdict": v, "reason": f"{name} said {v}"} for name, v in procedures.items()}}


@pytest.mark.parametrize(("settings", "run", "compared", "code", "baseline", "expected"), [
    (WatchSettings(), RUN, comparison("PASS", **{"event.search": "PASS"}), 0, True, "PASS"),
    (WatchSettings(), RUN, comparison("FAIL", **{"event.search": "FAIL"}), 1, True, "FAIL"),
    (WatchSettings(), RUN, comparison("INCONCLUSIVE", **{"event.search": "INCONCLUSIVE"}), 3, True, "INCONCLUSIVE"),
    # the exit code and the verdict disagree: nobody can be sure
    (WatchSettings(), RUN, comparison("PASS", **{"event.search": "PASS"}), 1, True, "ERROR"),
    (WatchSettings(), RUN, None, None, True, "ERROR"),           # the comparison never ran
    (WatchSettings(), None, None, None, True, "ERROR"),          # the load never wrote stats.json
    (WatchSettings(), {"verdict": "ERROR", "errors": ["login failed"]}, None, None, True, "ERROR"),
    (WatchSettings(), {"verdict": "INCONCLUSIVE", "errors": []}, None, None, True, "INCONCLUSIVE"),
    # only the watched procedures decide; one without samples cannot pass
    (WatchSettings(procedures=("event.search",)), RUN,
     comparison("FAIL", **{"event.search": "PASS", "event.create": "FAIL"}), 1, True, "PASS"),
    (WatchSettings(procedures=("event.search",)), RUN,
     comparison("PASS", **{"event.search": "FAIL", "event.create": "PASS"}), 0, True, "FAIL"),
    (WatchSettings(procedures=("event.search", "event.get")), RUN,
     comparison("PASS", **{"event.search": "PASS"}), 0, True, "INCONCLUSIVE"),
    # the SLO: it decides only when [watch] slo is set; without a baseline it is all there is
    (WatchSettings(slo={"errors": 0.01}), {"verdict": "FAILED", "errors": []},
     comparison("PASS", **{"event.search": "PASS"}), 0, True, "FAIL"),
    (WatchSettings(), {"verdict": "FAILED", "errors": []}, comparison("PASS", **{"event.search": "PASS"}), 0, True,
     "PASS"),
    (WatchSettings(slo={"errors": 0.01}), RUN, None, None, False, "PASS"),
    (WatchSettings(), RUN, None, None, False, "INCONCLUSIVE"),
])
def test_the_watch_verdict(settings: WatchSettings, run: dict[str, Any] | None, compared: dict[str, Any] | None,
                           code: int | None, baseline: bool, expected: str) -> None:
    verdict = judge(settings, run, compared, code, baseline=baseline)
    assert verdict.verdict == expected, verdict.reason
    assert verdict.passed is (expected == "PASS")


def test_a_failed_watch_names_the_procedure_and_its_slowdown() -> None:
    verdict = judge(WatchSettings(procedures=("event.search",)), RUN,
                    comparison("FAIL", **{"event.search": "FAIL"}), 1, baseline=True)
    assert verdict.reason == "event.search FAIL: event.search said FAIL"
