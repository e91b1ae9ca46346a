"""Baseline comparison: per procedure, the slowdown ratio of candidate over baseline with a confidence interval.

Two methods. A/B runs (`compare_windows`) pair the two sides' time windows and judge the median and the p95 with
a window bootstrap and alpha spending over a fixed number of looks (docs/load-statistics.md). A comparison with
recorded evidence (`compare`), whose runs did not share a time window, judges the median only: the ratio is exp(Hodges-Lehmann shift) of log latencies; its interval is the Lehmann-Moses interval that
inverts the Mann-Whitney U test (normal approximation with the tie correction). `max_slowdown` is ratio - 1:
0.10 means "at most 10 % slower". The decision is made on the interval against the budget, never on a
p-value, so a real but small slowdown measured very precisely still PASSES a larger budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats as sps

from load.histogram import Histogram
from load.stats import RatioEstimate, critical_value, spent_alpha, window_ratios, windows_needed

SCHEMA = "crvs-release/load-comparison/2"
SCHEMA_V1 = "crvs-release/load-comparison/1"
READABLE_SCHEMAS = (SCHEMA_V1, SCHEMA)
PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
FLOOR_MS = 0.05  # a 0.0 ms bucket is read as 0.05 ms so its logarithm is finite
# The registration path (create -> declare -> register) and search: what a registrar and the public wait on.
DEFAULT_DECIDE = ("event.create", "event.actions.declare.request", "event.actions.register.request", "event.search")
MEDIAN, TAIL = "median", "tail"
TAIL_QUANTILE = 0.95
DEFAULT_TAIL_SLOWDOWN = 0.25
# The tail statistic is p95 smoothed over p92.5..p97.5 (mean of the log quantiles): a slowdown of 5 % of calls puts
# a gap right at p95, and a bare p95 would jump across it from one resample to the next.
TAIL_BAND = tuple(round(0.925 + 0.005 * i, 3) for i in range(11))
# The median statistic is the interquartile band around it, p25..p75 (mean of the log quantiles): under a slowdown of
# every call it moves exactly as the median does, and it uses the middle half of the samples rather than the one at
# the middle, so its interval is about a fifth narrower at the same run length (benchmarks/verdict_quality.py,
# docs/load-statistics.md). A slowdown of only the slowest 5 % of calls moves it less than it moves p50.
MEDIAN_BAND = tuple(round(0.25 + 0.025 * i, 3) for i in range(21))
STATISTICS = {MEDIAN: MEDIAN_BAND, TAIL: TAIL_BAND}
DEFAULT_POWER_TEXT = "80 %"


@dataclass(frozen=True)
class Policy:
    """How much slower the candidate may be (median and p95), how sure we must be, what decides, and how long.

    `decide` lists the procedures whose verdicts block; the others are reported only. `looks` is the number of
    equally spaced interim looks of an A/B run (1: no early stopping).
    """

    max_slowdown: float = 0.10
    confidence: float = 0.95
    min_samples: int = 200
    max_tail_slowdown: float = 0.25
    decide: tuple[str, ...] = DEFAULT_DECIDE
    window_s: float = 3.0
    min_windows: int = 6
    looks: int = 4

    @staticmethod
    def tail_default(max_slowdown: float) -> float:
        """The p95 budget when none is given: 25 %, or the median's budget when that is larger (a tail is noisier
        than a median and is never held tighter)."""
        return max(DEFAULT_TAIL_SLOWDOWN, max_slowdown)

    def decides(self, procedure: str) -> bool:
        """Whether this procedure's verdict blocks (every procedure does when `decide` is empty)."""
        return not self.decide or procedure in self.decide

    def to_json(self) -> dict[str, Any]:
        """The policy keys of comparison.json."""
        return {"max_slowdown": self.max_slowdown, "max_tail_slowdown": self.max_tail_slowdown,
                "confidence": self.confidence, "min_samples": self.min_samples, "decide": list(self.decide),
                "window_s": self.window_s, "min_windows": self.min_windows, "looks": self.looks}


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
    decides: bool = True
    statistics: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    failed_on: tuple[str, ...] = ()
    needed: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The per-procedure object of comparison.json (`ratio`, `ci_low`, `ci_high` are the median's)."""
        out = {k: getattr(self, k) for k in ("n_baseline", "n_candidate", "median_baseline_ms",
                                              "median_candidate_ms", "ratio", "ci_low", "ci_high",
                                              "p_value", "verdict", "reason", "decides")}
        out.update(failed_on=list(self.failed_on), statistics={k: dict(v) for k, v in self.statistics.items()},
                   needed=dict(self.needed) if self.needed is not None else None)
        return out


@dataclass(frozen=True)
class Comparison:
    """The verdict over every procedure."""

    verdict: str
    policy: Policy
    procedures: Mapping[str, ProcedureComparison]
    reason: str
    method: str = "mann-whitney"
    sequential: Mapping[str, Any] | None = None

    @property
    def failed(self) -> list[str]:
        """Deciding procedures that are slower than the budget allows."""
        return [n for n, p in self.procedures.items() if p.verdict == FAIL and p.decides]

    def with_sequential(self, record: Mapping[str, Any]) -> Comparison:
        """The same comparison with the A/B run's record of its looks and why it stopped."""
        return replace(self, sequential=dict(record))

    def to_json(self) -> dict[str, Any]:
        """The comparison.json document."""
        return {"schema": SCHEMA, "method": self.method, "verdict": self.verdict, "reason": self.reason,
                **self.policy.to_json(), "sequential": dict(self.sequential) if self.sequential else None,
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
    """Compare every procedure seen on either side; the deciding ones give the verdict (see `_overall`)."""
    names = sorted(set(baseline) | set(candidate))
    results = {n: replace(compare_procedure(baseline.get(n, Histogram()), candidate.get(n, Histogram()), policy),
                          decides=policy.decides(n)) for n in names}
    return _overall(results, policy, "mann-whitney")


def _missing_deciders(results: Mapping[str, ProcedureComparison], policy: Policy) -> list[str]:
    return [n for n in policy.decide if n not in results]


def _overall(results: dict[str, ProcedureComparison], policy: Policy, method: str) -> Comparison:
    """FAIL if a deciding procedure fails, PASS if every deciding procedure passes, else INCONCLUSIVE.

    A deciding procedure with no samples on either side cannot pass: it is added as INCONCLUSIVE.
    """
    for name in _missing_deciders(results, policy):
        results[name] = ProcedureComparison(0, 0, 0.0, 0.0, None, None, None, None, INCONCLUSIVE,
                                            "no samples on either side (does the scenario call it?)")
    deciding = {n: r for n, r in results.items() if r.decides}
    failed = [n for n, r in deciding.items() if r.verdict == FAIL]
    unsure = [n for n, r in deciding.items() if r.verdict == INCONCLUSIVE]
    if failed:
        named = [f"{n} ({', '.join(deciding[n].failed_on)})" if deciding[n].failed_on else n for n in failed]
        return Comparison(FAIL, policy, results, "slower than the budget: " + ", ".join(named), method)
    if not deciding:
        return Comparison(INCONCLUSIVE, policy, results, "no deciding procedures with samples", method)
    if unsure:
        return Comparison(INCONCLUSIVE, policy, results, "cannot decide: " + ", ".join(unsure), method)
    return Comparison(PASS, policy, results, "every deciding procedure is within the budget", method)


# -- A/B: paired windows -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Look:
    """Where an A/B run is in its plan: look `index` (1-based) of `of`, taken at information `fraction` (paired
    windows so far over the planned count; 1.0 at the last look), the previous look having been at `previous`."""

    index: int = 1
    of: int = 1
    fraction: float = 1.0
    previous: float = 0.0

    @property
    def final(self) -> bool:
        """Whether this is the last planned look (INCONCLUSIVE is then the answer, not "carry on")."""
        return self.index >= self.of

    def alpha(self, total: float) -> float:
        """The one-sided error this look may spend out of `total` (load/stats.py `spent_alpha`)."""
        return spent_alpha(total, 1.0 if self.final else self.fraction, self.previous)


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f}%" if math.isfinite(ratio) else "unbounded"


def _judge(est: RatioEstimate, budget: float, look: Look, policy: Policy) -> dict[str, Any]:
    """One statistic's verdict at this look: FAIL when even the lower bound is above the budget, PASS when the
    upper bound is below it.

    Each bound is one-sided at the error this look may spend (`spending`), so over all looks a statistic whose
    true ratio is at the budget FAILS (or one above it PASSES) with probability at most (1 - confidence) / 2.
    The budget holds for each procedure and statistic; there is no correction for how many there are (see
    docs/load-statistics.md). `ci_low`/`ci_high` are the plain fixed-length interval, for coverage checks.
    """
    alpha = (1 - policy.confidence) / 2
    spent = look.alpha(alpha)
    windows = max(est.windows, 2)
    critical = critical_value(spent, windows)
    low, high = est.bounds(critical)
    ci_low, ci_high = est.bounds(critical_value(alpha, windows))
    if est.se_log is None or est.windows < policy.min_windows:
        verdict = INCONCLUSIVE
    elif low > budget:
        verdict = FAIL
    elif high < budget:
        verdict = PASS
    else:
        verdict = INCONCLUSIVE
    needed = windows_needed(est, budget, critical)
    return {"quantile": est.quantile, "ratio": _round(est.ratio), "se_log": _round(est.se_log),
            "ci_low": _round(ci_low), "ci_high": _round(ci_high), "fail_bound": _round(low),
            "pass_bound": _round(high), "budget": round(budget, 4), "windows": est.windows, "verdict": verdict,
            "windows_needed": math.ceil(needed) if needed is not None else None}


def _round(x: float | None) -> float | None:
    return round(x, 4) if x is not None and math.isfinite(x) else None


def _need_text(stat: Mapping[str, Any], policy: Policy, per_window: float, windows: int) -> tuple[str, Any]:
    """'about N windows (S s of run, ~K samples a side)' for an undecided statistic, and its JSON form."""
    need = stat.get("windows_needed")
    if need is None:
        if stat.get("se_log") is None:
            return f"fewer than 2 paired windows ({windows}): the noise is unknown", None
        return "the estimate sits on the budget: no practical run length decides it", None
    need = max(int(need), policy.min_windows)
    seconds = need * policy.window_s
    samples = round(need * per_window)
    return (f"about {need} paired windows ({seconds:.0f} s of run, ~{samples} samples a side at the rate seen) "
            f"would decide it at the noise observed ({DEFAULT_POWER_TEXT} power)",
            {"windows": need, "seconds": seconds, "samples_per_side": samples})


def compare_windowed_procedure(baseline: Sequence[Histogram], candidate: Sequence[Histogram], policy: Policy,
                               look: Look = Look(), *, decides: bool = True) -> ProcedureComparison:
    """One procedure of an A/B run: median and p95 ratios over paired windows, each against its budget."""
    base, cand = Histogram(), Histogram()
    for h in baseline:
        base.merge(h)
    for h in candidate:
        cand.merge(h)
    nb, nc = base.n, cand.n
    med_b, med_c = base.percentile(50), cand.percentile(50)
    stats: dict[str, dict[str, Any]] = {}
    estimates = window_ratios(baseline, candidate, STATISTICS)
    for key, allowed in ((MEDIAN, policy.max_slowdown), (TAIL, policy.max_tail_slowdown)):
        stats[key] = _judge(estimates[key], 1.0 + allowed, look, policy)
    windows = len(baseline)
    med = stats[MEDIAN]
    failed_on = tuple(k for k in (MEDIAN, TAIL) if stats[k]["verdict"] == FAIL)
    undecided = [k for k in (MEDIAN, TAIL) if stats[k]["verdict"] == INCONCLUSIVE]
    texts = {k: f"{k} {_pct(stats[k]['ratio'] or 1.0)} [{_pct(stats[k]['fail_bound'] or 0.0)}, "
                f"{_pct(stats[k]['pass_bound'] or math.inf)}] vs the {_pct(stats[k]['budget'])} budget"
             for k in (MEDIAN, TAIL)}
    needed: dict[str, Any] | None = None
    if nb < policy.min_samples or nc < policy.min_samples:
        verdict = INCONCLUSIVE
        reason = f"too few samples (baseline {nb}, candidate {nc}; need {policy.min_samples} each)"
    elif failed_on:
        verdict = FAIL
        reason = "; ".join(f"{texts[k]}: slower than the budget" for k in failed_on)
    elif windows < policy.min_windows:
        verdict = INCONCLUSIVE
        reason = f"only {windows} paired windows of {policy.window_s:g} s (need {policy.min_windows})"
    elif undecided:
        verdict = INCONCLUSIVE
        reason = "; ".join(f"{texts[k]}: straddles it" for k in undecided)
    else:
        verdict = PASS
        reason = "; ".join(f"{texts[k]}: within" for k in (MEDIAN, TAIL))
    if verdict == INCONCLUSIVE:
        per_window = min(nb, nc) / windows if windows else 0.0
        worst = max(undecided or [MEDIAN], key=lambda k: stats[k].get("windows_needed") or math.inf)
        text, needed = _need_text(stats[worst], policy, per_window, windows)
        reason += f"; {text}"
    return ProcedureComparison(nb, nc, med_b, med_c, med["ratio"], med["ci_low"], med["ci_high"], None, verdict,
                               reason, decides, stats, failed_on, needed)


def compare_windows(baseline: Mapping[int, Mapping[str, Histogram]], candidate: Mapping[int, Mapping[str, Histogram]],
                    policy: Policy, look: Look = Look()) -> Comparison:
    """Compare an A/B run's paired windows (window index -> procedure -> histogram), at one planned look.

    Only windows present on both sides are used, so each statistic compares the two sides over the same time.
    """
    keys = sorted(set(baseline) & set(candidate))
    names = sorted({n for k in keys for n in (*baseline[k], *candidate[k])})
    results: dict[str, ProcedureComparison] = {}
    for name in names:
        b = [baseline[k].get(name) or Histogram() for k in keys]
        c = [candidate[k].get(name) or Histogram() for k in keys]
        results[name] = compare_windowed_procedure(b, c, policy, look, decides=policy.decides(name))
    return _overall(results, policy, "paired-windows")


def with_doubt(comparison: Comparison, doubts: Sequence[str]) -> Comparison:
    """A PASS or FAIL made INCONCLUSIVE when a side's measurement is in doubt (a starved generator measures
    itself, not the target); the reasons are kept."""
    if not doubts or comparison.verdict == INCONCLUSIVE:
        return comparison
    return replace(comparison, verdict=INCONCLUSIVE,
                   reason=f"{comparison.verdict} not trusted: " + "; ".join(doubts))


def read_comparison(doc: Any, where: str = "comparison") -> dict[str, Any]:
    """Check a comparison.json document this or an earlier version wrote; ValueError names the schema it carries.

    Schema 1 (median only, every procedure decides) reads as schema 2 with the missing keys filled in.
    """
    if not isinstance(doc, Mapping):
        raise ValueError(f"{where}: not a JSON object")
    schema = doc.get("schema")
    if schema not in READABLE_SCHEMAS:
        raise ValueError(f"{where}: schema {schema!r} is not one this version reads "
                         f"({', '.join(READABLE_SCHEMAS)})")
    if doc.get("verdict") not in (PASS, FAIL, INCONCLUSIVE) or not isinstance(doc.get("procedures"), Mapping):
        raise ValueError(f"{where}: {schema} document without a verdict or procedures")
    out = dict(doc)
    if schema == SCHEMA_V1:
        out.update(method="mann-whitney", sequential=None, decide=[], max_tail_slowdown=None)
        out["procedures"] = {n: {"decides": True, "failed_on": [MEDIAN] if p.get("verdict") == FAIL else [],
                                 "statistics": {}, "needed": None, **p}
                             for n, p in doc["procedures"].items() if isinstance(p, Mapping)}
    return out
