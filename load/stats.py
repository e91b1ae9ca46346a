"""Builds stats.json from the merged histograms of one run, and the paired-window statistics of A/B runs (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from load.histogram import RESOLUTION_MS, Histogram
from load.slo import SloResult

SCHEMA = "crvs-release/load-stats/1"
FLOOR_MS = 0.05  # a 0.0 ms bucket is read as 0.05 ms so its logarithm is finite (as load/compare.py)
VERDICTS = ("PASSED", "FAILED", "ERROR")


def procedure_stats(hist: Histogram, failures: int, duration_s: float) -> dict[str, Any]:
    """Count, failures, error rate, percentiles and rate of one procedure.

    `hist` holds successful responses; `count` is successes plus failures.
    """
    count = hist.n + failures
    return {
        "count": count,
        "failures": failures,
        "error_rate": round(failures / count, 6) if count else 0.0,
        "p50_ms": hist.percentile(50),
        "p90_ms": hist.percentile(90),
        "p95_ms": hist.percentile(95),
        "p99_ms": hist.percentile(99),
        "max_ms": hist.max(),
        "rps": round(count / duration_s, 3) if duration_s > 0 else 0.0,
    }


def procedures_table(histograms: Mapping[str, Histogram], failures: Mapping[str, int],
                     duration_s: float) -> dict[str, dict[str, Any]]:
    """Stats for every procedure that had a success or a failure."""
    names = sorted(set(histograms) | {n for n, f in failures.items() if f})
    return {n: procedure_stats(histograms.get(n, Histogram()), int(failures.get(n, 0)), duration_s) for n in names}


def stats_document(*, target: Mapping[str, Any], scenario: Mapping[str, Any], started_at: str, finished_at: str,
                   procedures: Mapping[str, Any], slo: SloResult | None, aborted: bool,
                   errors: list[str]) -> dict[str, Any]:
    """The stats.json document; any run error makes the verdict ERROR, whatever the SLO said."""
    verdict = "ERROR" if errors or slo is None else slo.verdict
    slo_json = slo.to_json(aborted) if slo is not None else {"verdict": "ERROR", "aborted": aborted, "checks": []}
    if errors:
        slo_json["verdict"] = "ERROR" if slo is None or slo.verdict == "PASSED" else slo_json["verdict"]
    all_errors = list(errors) + (list(slo.errors) if slo is not None else [])
    return {"schema": SCHEMA, "target": dict(target), "scenario": dict(scenario), "started_at": started_at,
            "finished_at": finished_at, "procedures": dict(procedures), "slo": slo_json, "verdict": verdict,
            "errors": all_errors}


# -- paired time-window statistics for A/B runs (docs/load-statistics.md) ---------------------------------------
# Both sides of an A/B run are cut into the same wall-clock windows. Latencies inside a window share that window's
# machine state (which process got the CPU, a checkpoint, a GC pause), so the independent unit is the window, not
# the request. The ratio of pooled quantiles is estimated on every paired window, and its noise comes from a
# bootstrap that resamples whole windows, both sides together (a block bootstrap with the window as block).

DEFAULT_RESAMPLES = 1000
DEFAULT_POWER = 0.80
MIN_LOG_DISTANCE = 0.002  # an estimate this close to the budget (0.2 %) cannot be decided by any practical run


@dataclass(frozen=True)
class RatioEstimate:
    """One statistic's candidate/baseline ratio over paired windows, on the log scale.

    `log_ratio` is log(q_candidate / q_baseline) of the quantile pooled over every window; `se_log` its standard
    error from the window bootstrap (None with fewer than two windows).
    """

    quantile: float
    log_ratio: float
    se_log: float | None
    windows: int

    @property
    def ratio(self) -> float:
        """The point estimate as a ratio (1.0: same speed)."""
        return math.exp(self.log_ratio)

    def bounds(self, critical: float) -> tuple[float, float]:
        """(low, high) ratio at `critical` standard errors either side (infinite when the noise is unknown)."""
        if self.se_log is None:
            return 0.0, math.inf
        reach = critical * self.se_log
        if not math.isfinite(reach) or reach > 700:  # an early look with few windows: no practical bound
            return 0.0, math.inf
        return math.exp(self.log_ratio - reach), math.exp(self.log_ratio + reach)


def _grid(hists: Sequence[Histogram]) -> np.ndarray:
    keys: set[int] = set()
    for h in hists:
        keys.update(k for k, c in h.counts.items() if c > 0)
    return np.array(sorted(keys), dtype=np.int64)


def _matrix(hists: Sequence[Histogram], grid: np.ndarray) -> np.ndarray:
    """Counts of each window (rows) on the common bucket grid (columns)."""
    pos = {int(k): i for i, k in enumerate(grid)}
    out = np.zeros((len(hists), len(grid)), dtype=np.float64)
    for row, h in enumerate(hists):
        for k, c in h.counts.items():
            if c > 0:
                out[row, pos[k]] = c
    return out


def _quantiles(cum: np.ndarray, values: np.ndarray, q: float) -> np.ndarray:
    """Nearest-rank q-quantile of each row, given each row's cumulative counts (rows with no samples: NaN)."""
    total = cum[:, -1]
    rank = np.maximum(np.ceil(q * total), 1.0)
    idx = np.minimum((cum < rank[:, None]).sum(axis=1), len(values) - 1)
    out = values[idx]
    out[total <= 0] = np.nan
    return out


def _log_level(cum: np.ndarray, values: np.ndarray, band: Sequence[float]) -> np.ndarray:
    """Mean log quantile over `band` for each row of cumulative counts (one quantile: its log)."""
    return np.mean([np.log(_quantiles(cum, values, q)) for q in band], axis=0)


def window_ratios(baseline: Sequence[Histogram], candidate: Sequence[Histogram],
                  statistics: Mapping[str, Sequence[float]], *, resamples: int = DEFAULT_RESAMPLES,
                  seed: int = 0) -> dict[str, RatioEstimate]:
    """Candidate/baseline ratios of quantile statistics over paired windows, with window-bootstrap errors.

    `baseline[i]` and `candidate[i]` are the same time window. A statistic is a band of quantiles whose logs are
    averaged (one quantile, or a band around p95 so that a tail with a gap at p95 does not flip the estimate
    between the two sides of the gap). Each bootstrap replicate draws windows with replacement and pools both
    sides over the same draws, so noise common to both sides in a window cancels, while noise that differs
    between them, or persists within a window, widens the interval. The replicate spread is scaled by
    sqrt(W / (W - 1)) so that few windows do not look more precise than they are. Seeded: the same windows
    always give the same interval.
    """
    if len(baseline) != len(candidate):
        raise ValueError("baseline and candidate need the same windows")
    windows = len(baseline)
    grid = _grid([*baseline, *candidate])
    empty = {k: RatioEstimate(band[len(band) // 2], 0.0, None, windows) for k, band in statistics.items()}
    if windows == 0 or grid.size == 0:
        return empty
    values = np.maximum(grid.astype(np.float64) * RESOLUTION_MS, FLOOR_MS)
    base, cand = _matrix(baseline, grid), _matrix(candidate, grid)
    pooled_b = np.cumsum(base.sum(axis=0, keepdims=True), axis=1)
    pooled_c = np.cumsum(cand.sum(axis=0, keepdims=True), axis=1)
    if pooled_b[0, -1] <= 0 or pooled_c[0, -1] <= 0:
        return empty
    weights: np.ndarray | None = None
    rep_b = rep_c = pooled_b
    if windows >= 2:
        draws = np.random.default_rng(seed).integers(0, windows, size=(resamples, windows))
        weights = np.zeros((resamples, windows))
        np.add.at(weights, (np.repeat(np.arange(resamples), windows), draws.ravel()), 1.0)
        rep_b, rep_c = np.cumsum(weights @ base, axis=1), np.cumsum(weights @ cand, axis=1)
    out: dict[str, RatioEstimate] = {}
    for key, band in statistics.items():
        estimate = float(_log_level(pooled_c, values, band)[0] - _log_level(pooled_b, values, band)[0])
        se: float | None = None
        if weights is not None:
            logs = _log_level(rep_c, values, band) - _log_level(rep_b, values, band)
            logs = logs[np.isfinite(logs)]
            if logs.size >= 2:
                se = float(np.std(logs, ddof=1)) * math.sqrt(windows / (windows - 1))
        out[key] = RatioEstimate(band[len(band) // 2], estimate, se, windows)
    return out


def window_ratio(baseline: Sequence[Histogram], candidate: Sequence[Histogram], quantile: float, *,
                 resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> RatioEstimate:
    """The candidate/baseline ratio of one quantile over paired windows (see `window_ratios`)."""
    return window_ratios(baseline, candidate, {"q": (quantile,)}, resamples=resamples, seed=seed)["q"]


def spent_alpha(alpha: float, fraction: float, previous: float = 0.0) -> float:
    """One-sided error a look may spend when the information grows from `previous` to `fraction` (0..1].

    O'Brien-Fleming-type spending (Lan-DeMets): by information fraction t the run has spent
    2 - 2 * Phi(z_{1 - alpha/2} / sqrt(t)), which is `alpha` at t = 1 and almost nothing early. The looks are
    taken when the paired windows reach fixed fractions of the planned count, and each look tests at its own
    increment, so by the union bound the chance of a wrong decision over all looks is at most `alpha` (we never
    peek at a fixed-sample test). The last look is therefore a little stricter than a fixed-length run.
    """
    def spent(t: float) -> float:
        if t <= 0:
            return 0.0
        if t >= 1:
            return alpha
        return 2 - 2 * float(sps.norm.cdf(float(sps.norm.ppf(1 - alpha / 2)) / math.sqrt(t)))

    return max(spent(fraction) - spent(previous), 1e-12)


def spending(looks: int, alpha: float) -> list[float]:
    """The error spent at each of `looks` equally spaced looks (see `spent_alpha`); they add up to `alpha`."""
    if looks < 1:
        raise ValueError("looks must be at least 1")
    return [spent_alpha(alpha, k / looks, (k - 1) / looks) for k in range(1, looks + 1)]


def critical_value(alpha: float, windows: int) -> float:
    """Standard errors a bound lies from the estimate for one-sided level `alpha` (Student t, W - 1 df)."""
    return float(sps.t.ppf(1 - alpha, max(windows - 1, 1)))


def windows_needed(estimate: RatioEstimate, budget: float, critical: float,
                   power: float = DEFAULT_POWER) -> float | None:
    """How many paired windows would decide this statistic against `budget` at the noise observed.

    A run of W' windows has standard error se * sqrt(W / W'); it decides (with probability `power` if the true
    ratio is the one observed) once (critical + z_power) * se' is below the distance from the estimate to the
    budget. None when the noise is unknown or the estimate sits on the budget.
    """
    if estimate.se_log is None:
        return None
    distance = abs(math.log(budget) - estimate.log_ratio)
    if distance < MIN_LOG_DISTANCE:
        return None
    z_power = float(sps.norm.ppf(power))
    return estimate.windows * ((critical + z_power) * estimate.se_log / distance) ** 2
