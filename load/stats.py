"""Builds stats.json from the merged histograms and failure counts of one run (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from load.histogram import Histogram
from load.slo import SloResult

SCHEMA = "crvs-release/load-stats/1"
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
