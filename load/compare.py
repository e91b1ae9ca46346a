"""Baseline comparison: per procedure, the slowdown ratio of candidate over baseline with a confidence interval.

The ratio is exp(Hodges-Lehmann shift) of log latencies; its interval is the Lehmann-Moses interval that
inverts the Mann-Whitney U test (normal approximation with the tie correction). `max_slowdown` is ratio - 1:
0.10 means "at most 10 % slower". The decision is made on the interval against the budget, never on a
p-value, so a real but small slowdown measured very precisely still PASSES a larger budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from load.histogram import Histogram

SCHEMA = "crvs-release/load-comparison/1"
PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
FLOOR_MS = 0.05  # a 0.0 ms bucket is read as 0.05 ms so its logarithm is finite


@dataclass(frozen=True)
class Policy:
    """How much slower the candidate may be, how sure we must be, and how many samples we need."""

    max_slowdown: float = 0.10
    confidence: float = 0.95
    min_samples: int = 200


@dataclass(frozen=True)
class ProcedureComparison:
    """One procedure's slowdown ratio, its interval and verdict."""

    n_baseline: int
    n_candidate: int
    median_baseline_ms: float
    median_candidate_ms: float
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The per-procedure object of comparison.json."""
        return {k: getattr(self, k) for k in ("n_baseline", "n_candidate", "median_baseline_ms",
                                               "median_candidate_ms", "ratio", "ci_low", "ci_high",
                                               "p_value", "verdict", "reason")}


@dataclass(frozen=True)
class Comparison:
    """The verdict over every procedure."""

    verdict: str
    policy: Policy
    procedures: Mapping[str, ProcedureComparison]
    reason: str

    @property
    def failed(self) -> list[str]:
        """Procedures that are slower than the budget allows."""
        return [n for n, p in self.procedures.items() if p.verdict == FAIL]

    def to_json(self) -> dict[str, Any]:
        """The comparison.json document."""
        return {"schema": SCHEMA, "verdict": self.verdict, "reason": self.reason,
                "max_slowdown": self.policy.max_slowdown, "confidence": self.policy.confidence,
                "min_samples": self.policy.min_samples,
                "procedures": {n: p.to_json() for n, p in self.procedures.items()}}


class _Weighted:
    """Sorted unique log values with counts and a cumulative count, for counting pairwise differences."""

    def __init__(self, hist: Histogram) -> None:
        values, counts = hist.arrays()
        self.x = np.log(np.maximum(values, FLOOR_MS))
        self.w = counts.astype(np.float64)
        self.cum = np.concatenate(([0.0], np.cumsum(self.w)))
        self.n = float(self.cum[-1])


def _pairs_le(base: _Weighted, cand: _Weighted, d: float) -> float:
    """Number of pairs (b, c) with log c - log b <= d."""
    idx = np.searchsorted(base.x, cand.x - d, side="left")
    return float(np.dot(cand.w, base.n - base.cum[idx]))


def _kth_difference(base: _Weighted, cand: _Weighted, k: float) -> float:
    """The k-th smallest (1-based) of the m*n pairwise differences log c - log b, by bisection."""
    lo = float(cand.x[0] - base.x[-1]) - 1e-9
    hi = float(cand.x[-1] - base.x[0]) + 1e-9
    for _ in range(80):
        mid = (lo + hi) / 2
        if _pairs_le(base, cand, mid) >= k:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-10:
            break
    return hi


def _tie_term(base: Histogram, cand: Histogram) -> float:
    joint = base.counts.copy()
    joint.update(cand.counts)
    t = np.array([c for c in joint.values() if c > 1], dtype=np.float64)
    return float(np.sum(t**3 - t))


def shift_interval(base_hist: Histogram, cand_hist: Histogram, confidence: float) -> tuple[float, float, float]:
    """Hodges-Lehmann shift of log latencies and its Lehmann-Moses interval: (estimate, low, high)."""
    base, cand = _Weighted(base_hist), _Weighted(cand_hist)
    m, n = base.n, cand.n
    mn = m * n
    if mn % 2:
        estimate = _kth_difference(base, cand, (mn + 1) / 2)
    else:
        estimate = (_kth_difference(base, cand, mn / 2) + _kth_difference(base, cand, mn / 2 + 1)) / 2
    total = m + n
    var_u = mn / 12.0 * ((total + 1) - _tie_term(base_hist, cand_hist) / (total * (total - 1)))
    z = float(sps.norm.ppf(1 - (1 - confidence) / 2))
    c = math.floor(mn / 2 - z * math.sqrt(max(var_u, 0.0)))
    if c < 1:
        return estimate, -math.inf, math.inf
    return estimate, _kth_difference(base, cand, c), _kth_difference(base, cand, mn - c + 1)


def _p_value(base: Histogram, cand: Histogram) -> float | None:
    try:
        result = sps.mannwhitneyu(np.log(np.maximum(cand.samples(), FLOOR_MS)),
                                  np.log(np.maximum(base.samples(), FLOOR_MS)),
                                  alternative="two-sided", method="asymptotic")
    except ValueError:
        return None
    p = float(result.pvalue)
    return p if math.isfinite(p) else None


def _ratio(x: float) -> float | None:
    return round(math.exp(x), 4) if math.isfinite(x) else None


def compare_procedure(base: Histogram, cand: Histogram, policy: Policy) -> ProcedureComparison:
    """The verdict for one procedure (pure)."""
    nb, nc = base.n, cand.n
    med_b, med_c = base.percentile(50), cand.percentile(50)
    budget = 1.0 + policy.max_slowdown
    if nb < policy.min_samples or nc < policy.min_samples:
        ratio = round(med_c / med_b, 4) if nb and nc and med_b > 0 else None
        return ProcedureComparison(nb, nc, med_b, med_c, ratio, None, None, None, INCONCLUSIVE,
                                   f"too few samples (baseline {nb}, candidate {nc}; need {policy.min_samples} each)")
    est, low, high = shift_interval(base, cand, policy.confidence)
    ratio, ci_low, ci_high = _ratio(est), _ratio(low), _ratio(high)
    pct = f"{(math.exp(est) - 1) * 100:+.1f}%"
    ci = f"[{(math.exp(low) - 1) * 100:+.1f}%, {(math.exp(high) - 1) * 100:+.1f}%]"
    budget_txt = f"{policy.max_slowdown * 100:.1f}%"
    if math.exp(low) > budget:
        verdict, reason = FAIL, f"{pct} slower, {policy.confidence:.0%} CI {ci} is above the {budget_txt} budget"
    elif math.exp(high) < budget:
        verdict, reason = PASS, f"{pct}, {policy.confidence:.0%} CI {ci} is within the {budget_txt} budget"
    else:
        verdict, reason = INCONCLUSIVE, f"{pct}, {policy.confidence:.0%} CI {ci} straddles the {budget_txt} budget"
    return ProcedureComparison(nb, nc, med_b, med_c, ratio, ci_low, ci_high, _p_value(base, cand), verdict, reason)


def compare(baseline: Mapping[str, Histogram], candidate: Mapping[str, Histogram], policy: Policy) -> Comparison:
    """Compare every procedure seen on either side: FAIL if any fails, PASS if all pass, else INCONCLUSIVE."""
    names = sorted(set(baseline) | set(candidate))
    results = {n: compare_procedure(baseline.get(n, Histogram()), candidate.get(n, Histogram()), policy)
               for n in names}
    failed = [n for n, r in results.items() if r.verdict == FAIL]
    unsure = [n for n, r in results.items() if r.verdict == INCONCLUSIVE]
    if failed:
        return Comparison(FAIL, policy, results, "slower than the budget: " + ", ".join(failed))
    if not results:
        return Comparison(INCONCLUSIVE, policy, results, "no procedures with samples on either side")
    if unsure:
        return Comparison(INCONCLUSIVE, policy, results, "cannot decide: " + ", ".join(unsure))
    return Comparison(PASS, policy, results, "every procedure is within the budget")
