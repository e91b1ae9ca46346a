"""Reads a run directory (stats.json + histograms.json) and compares two of them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from load.compare import Comparison, Policy, compare
from load.errors import LoadInputError
from load.histogram import Histogram, read_histograms_document
from load.stats import SCHEMA as STATS_SCHEMA

# Scenario keys that must be equal for two runs to be compared (the seed may differ).
RUN_VERDICTS = ("PASSED", "FAILED", "ERROR", "INCONCLUSIVE")
SCENARIO_KEYS = ("name", "users", "spawn_rate", "duration_s", "shape", "weights", "wait_s")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoadInputError(f"{path}: missing") from None
    except OSError as exc:
        raise LoadInputError(f"{path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise LoadInputError(f"{path}: not valid JSON ({exc})") from None


def read_run(directory: str | Path) -> tuple[dict[str, Any], dict[str, Histogram]]:
    """The stats document and histograms of one run directory; LoadInputError names what is wrong."""
    d = Path(directory)
    if not d.is_dir():
        raise LoadInputError(f"{d}: not a run directory")
    stats = _read_json(d / "stats.json")
    if not isinstance(stats, dict) or stats.get("schema") != STATS_SCHEMA:
        raise LoadInputError(f"{d / 'stats.json'}: not a {STATS_SCHEMA} document")
    if not isinstance(stats.get("scenario"), dict) or stats.get("verdict") not in RUN_VERDICTS:
        raise LoadInputError(f"{d / 'stats.json'}: scenario or verdict missing")
    if stats["verdict"] in ("ERROR", "INCONCLUSIVE"):  # a starved generator's latencies measure the generator
        reasons = stats.get("errors") if stats["verdict"] == "ERROR" else stats.get("inconclusive")
        first = (reasons or ["no reason recorded"])[0]
        raise LoadInputError(f"{d}: the run's verdict is {stats['verdict']} ({first}); it cannot be compared")
    try:
        histograms = read_histograms_document(_read_json(d / "histograms.json"))
    except ValueError as exc:
        if isinstance(exc, LoadInputError):
            raise
        raise LoadInputError(f"{d / 'histograms.json'}: {exc}") from None
    return stats, histograms


def scenario_mismatch(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Scenario keys whose values differ between two runs."""
    return [k for k in SCENARIO_KEYS if a.get(k) != b.get(k)]


def compare_runs(baseline_dir: str | Path, candidate_dir: str | Path, policy: Policy) -> Comparison:
    """Compare two run directories of the same scenario."""
    if not 0 <= policy.max_slowdown < 10:
        raise LoadInputError("--max-slowdown: expected a fraction such as 0.10 (10 % slower)")
    if not 0.5 <= policy.confidence < 1:
        raise LoadInputError("--confidence: expected a value in [0.5, 1), e.g. 0.95")
    if policy.min_samples < 1:
        raise LoadInputError("--min-samples: expected at least 1")
    base_stats, base = read_run(baseline_dir)
    cand_stats, cand = read_run(candidate_dir)
    diff = scenario_mismatch(base_stats["scenario"], cand_stats["scenario"])
    if diff:
        k = diff[0]
        raise LoadInputError(f"scenarios differ ({', '.join(diff)}): baseline {k}={base_stats['scenario'].get(k)!r}, "
                             f"candidate {k}={cand_stats['scenario'].get(k)!r}")
    return compare(base, cand, policy)


def comparison_table(comparison: Comparison) -> list[list[str]]:
    """Rows of the readable table: procedure, n, medians, ratio and interval, verdict."""
    rows = []
    for name, p in comparison.procedures.items():
        ci = f"[{p.ci_low:.3f}, {p.ci_high:.3f}]" if p.ci_low is not None and p.ci_high is not None else "-"
        rows.append([name, str(p.n_baseline), str(p.n_candidate), f"{p.median_baseline_ms:.1f}",
                     f"{p.median_candidate_ms:.1f}", f"{p.ratio:.3f}" if p.ratio is not None else "-", ci,
                     p.verdict])
    return rows
