"""The summary fold: reruns make FLAKY, nothing run is ERROR, failures carry one-line reasons."""

from __future__ import annotations

import pytest

from regression.summary import ReportFolder, build_summary, decide_status, one_line

pytestmark = pytest.mark.unit


def _summary(folder: ReportFolder, exit_status: int = 0, error: str | None = None) -> dict:
    return build_summary(folder.outcomes(), exit_status=exit_status, target={"url": "u", "version": "v", "commit": "c"},
                         started_at="s", finished_at="f", duration_s=1.0, error=error)


def _passes(folder: ReportFolder, nodeid: str, keywords=("search",)) -> None:
    for when in ("setup", "call", "teardown"):
        folder.add(nodeid, when, "passed", keywords)


def test_pass_fail_error_skip_are_counted_apart():
    folder = ReportFolder()
    _passes(folder, "regression/test_a.py::test_ok")
    folder.add("regression/test_a.py::test_bad", "setup", "passed", ["search"])
    folder.add("regression/test_a.py::test_bad", "call", "failed", ["search"], "search must find new records")
    folder.add("regression/test_a.py::test_err", "setup", "failed", ["smoke"], "fixture broke")
    folder.add("regression/test_a.py::test_skip", "setup", "skipped", ["smoke"], "skipped: no")
    summary = _summary(folder, exit_status=1)
    assert summary["counts"] == {"total": 4, "passed": 1, "failed": 1, "errors": 1, "skipped": 1, "flaky": 0}
    assert summary["status"] == "failed" and summary["exit_code"] == 1
    assert summary["failures"][0] == {"nodeid": "regression/test_a.py::test_bad", "markers": ["search"],
                                      "reason": "search must find new records"}
    assert summary["markers"]["smoke"] == {"passed": 0, "failed": 1, "skipped": 1, "flaky": 0}
    assert summary["passed_nodeids"] == ["regression/test_a.py::test_ok"]


def test_failed_then_passed_is_flaky_not_passed():
    folder = ReportFolder()
    folder.add("n::t", "setup", "passed", ["smoke"])
    folder.add("n::t", "call", "rerun", ["smoke"], "boom")
    _passes(folder, "n::t", ["smoke"])
    summary = _summary(folder)
    assert summary["counts"]["flaky"] == 1 and summary["counts"]["passed"] == 0
    assert summary["flaky"] == [{"nodeid": "n::t", "reruns": 1}]
    assert summary["passed_nodeids"] == []
    assert summary["markers"]["smoke"]["flaky"] == 1


def test_teardown_failure_after_pass_is_an_error():
    folder = ReportFolder()
    folder.add("n::t", "setup", "passed", [])
    folder.add("n::t", "call", "passed", [])
    folder.add("n::t", "teardown", "failed", [], "cleanup broke")
    assert _summary(folder, exit_status=1)["counts"]["errors"] == 1


@pytest.mark.parametrize(("outcomes", "exit_status", "error", "expected"), [
    ([], 5, None, "error"),                # nothing collected
    ([], 0, None, "error"),                # nothing ran
    (["skipped"], 0, None, "error"),       # nothing passed
    (["passed"], 0, "down", "error"),      # preflight failed
    (["passed"], 2, None, "error"),        # interrupted
    (["passed", "failed"], 2, None, "error"),
    (["passed", "failed"], 1, None, "failed"),
    (["passed"], 1, None, "failed"),       # pytest says failed though every test passed
    (["passed", "skipped"], 0, None, "passed"),
])
def test_decide_status(outcomes, exit_status, error, expected):
    folder = ReportFolder()
    for i, outcome in enumerate(outcomes):
        folder.add(f"n::t{i}", "call" if outcome != "skipped" else "setup", outcome, [])
    assert decide_status(folder.outcomes(), exit_status, error) == expected


def test_error_summary_always_explains_itself():
    summary = _summary(ReportFolder(), exit_status=5)
    assert summary["error"] == "no test was collected"
    assert summary["failures"] == [{"nodeid": "<run>", "markers": [], "reason": "no test was collected"}]


def test_collection_error_is_named():
    folder = ReportFolder()
    _passes(folder, "n::t")
    folder.add_collect_error("regression/test_x.py", "collection failed: ImportError: nope")
    summary = _summary(folder, exit_status=2)
    assert summary["status"] == "error" and summary["error"] == "collection failed: ImportError: nope"


@pytest.mark.parametrize(("text", "expected"), [
    ("AssertionError: ids must be unique\nassert 1 == 2", "ids must be unique"),
    ("\n\n  Failed: chromium missing  \n", "chromium missing"),
    ("", ""),
])
def test_one_line(text, expected):
    assert one_line(text) == expected
