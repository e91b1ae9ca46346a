"""Table tests for the baseline comparison (pure functions over histograms)."""

from __future__ import annotations

import numpy as np
import pytest

from load.compare import FAIL, INCONCLUSIVE, PASS, Policy, compare, compare_procedure
from load.histogram import Histogram

pytestmark = pytest.mark.unit


def lognormal(median_ms: float, n: int, seed: int, sigma: float = 0.3) -> Histogram:
    rng = np.random.default_rng(seed)
    return Histogram.of(rng.lognormal(np.log(median_ms), sigma, n))


@pytest.mark.parametrize(("baseline", "candidate", "policy", "expected"), [
    # identical inputs are never a FAIL
    (lognormal(20, 2000, 1), lognormal(20, 2000, 1), Policy(), PASS),
    # two samples of the same distribution
    (lognormal(20, 2000, 1), lognormal(20, 2000, 2), Policy(), PASS),
    # clearly shifted: 50 % slower
    (lognormal(20, 1000, 1), lognormal(30, 1000, 2), Policy(), FAIL),
    # a real 1 % slowdown measured with 100k samples stays within a 10 % budget
    (lognormal(20, 100_000, 1), lognormal(20.2, 100_000, 2), Policy(), PASS),
    # tiny samples cannot decide, even with a large shift
    (lognormal(20, 20, 1), lognormal(40, 20, 2), Policy(min_samples=200), INCONCLUSIVE),
    # a shift right at the budget with moderate samples straddles it
    (lognormal(20, 300, 1, 0.5), lognormal(22, 300, 2, 0.5), Policy(), INCONCLUSIVE),
])
def test_procedure_verdicts(baseline: Histogram, candidate: Histogram, policy: Policy, expected: str) -> None:
    assert compare_procedure(baseline, candidate, policy).verdict == expected


def test_fail_names_the_slow_procedure() -> None:
    base = {"event.search": lognormal(20, 1000, 1), "event.get": lognormal(5, 1000, 3)}
    cand = {"event.search": lognormal(120, 1000, 2), "event.get": lognormal(5, 1000, 4)}
    result = compare(base, cand, Policy())
    assert result.verdict == FAIL
    assert result.failed == ["event.search"]
    assert "event.search" in result.reason
    doc = result.to_json()
    assert doc["schema"] == "crvs-release/load-comparison/2" and doc["method"] == "mann-whitney"
    assert doc["procedures"]["event.search"]["ci_low"] > 1.1


def test_ratio_and_interval_bracket_the_true_shift() -> None:
    res = compare_procedure(lognormal(10, 3000, 1), lognormal(12.5, 3000, 2), Policy(max_slowdown=0.5))
    assert res.ci_low is not None and res.ci_high is not None
    assert res.ci_low < 1.25 < res.ci_high
    assert res.verdict == PASS


def test_faster_candidate_passes() -> None:
    assert compare_procedure(lognormal(30, 1000, 1), lognormal(20, 1000, 2), Policy()).verdict == PASS


def test_procedure_missing_on_one_side_is_inconclusive() -> None:
    result = compare({"event.get": lognormal(5, 500, 1)}, {}, Policy())
    assert result.verdict == INCONCLUSIVE
    assert result.procedures["event.get"].n_candidate == 0


def test_no_procedures_is_inconclusive() -> None:
    assert compare({}, {}, Policy()).verdict == INCONCLUSIVE
