"""How good are the load gate's comparison verdicts? A/A false-FAIL rate and A/B detection rate.

(a) A/A: two identical sandboxes, `release load ab` repeated: how often does it wrongly FAIL (target <= 5 %)?
(b) A/B: the candidate sandbox gets `--latency event.search=+N`, N chosen as 25 % of the baseline's measured
    search median: how often does it FAIL naming event.search (target >= 95 %)?

    python benchmarks/verdict_quality.py --repeats 20 --duration 30
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crvs_client.deployment import write_profile
from load.compare import Policy
from load.errors import LoadInputError
from load.results import compare_runs
from load.runner import RunOptions, run_ab, run_load
from sandbox.process import SandboxProcess


def profile(sandbox: SandboxProcess, work: Path, name: str) -> dict:
    """RunOptions for a sandbox: its profile file and the secrets the profile names."""
    return {"target_file": write_profile(sandbox.profile(name), work / f"{name}.json"), "env": sandbox.profile_env()}


def ab_once(base: dict, cand: dict, out: Path, args: argparse.Namespace, seed: int) -> tuple[str, dict]:
    """One A/B run and its comparison verdict (ERROR when a run could not complete)."""
    opts = {"users": args.users, "spawn_rate": args.users, "duration_s": args.duration, "seed": seed}
    base, cand = run_ab(RunOptions(out=out / "baseline", **base, **opts),
                        RunOptions(out=out / "candidate", **cand, **opts))
    if "ERROR" in (base["verdict"], cand["verdict"]):
        return "ERROR", {"errors": base["errors"] + cand["errors"]}
    try:
        comparison = compare_runs(out / "baseline", out / "candidate",
                                  Policy(args.max_slowdown, args.confidence, args.min_samples))
    except LoadInputError as exc:
        return "ERROR", {"errors": [str(exc)]}
    search = comparison.procedures.get("event.search")
    return comparison.verdict, {"failed": comparison.failed, "reason": comparison.reason,
                                "search_ratio": search.ratio if search else None,
                                "search_ci": [search.ci_low, search.ci_high] if search else None,
                                "base_search_p50": base["procedures"].get("event.search", {}).get("p50_ms"),
                                "cand_search_p50": cand["procedures"].get("event.search", {}).get("p50_ms")}


def series(label: str, base: dict, cand: dict, work: Path, args: argparse.Namespace) -> list[dict]:
    rows = []
    for i in range(args.repeats):
        verdict, detail = ab_once(base, cand, work / f"{label}-{i}", args, seed=i + 1)
        rows.append({"verdict": verdict, **detail})
        print(f"{label} {i + 1}/{args.repeats}: {verdict} {json.dumps(detail)}", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--max-slowdown", type=float, default=0.10)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--min-samples", type=int, default=200)
    parser.add_argument("--slowdown", type=float, default=0.25, help="Median slowdown injected in (b).")
    parser.add_argument("--out", type=Path, default=None, help="Keep run directories and results.json here.")
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="verdict-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with SandboxProcess() as a, SandboxProcess() as b:
        aa = series("A/A", profile(a, work, "aa-a"), profile(b, work, "aa-b"), work, args)
    # Calibrate on a fresh sandbox, as the A/B baseline will be: search time grows with the database.
    with SandboxProcess() as a:
        base = profile(a, work, "ab-a")
        calibration = run_load(RunOptions(out=work / "calibration", **base, users=args.users,
                                          spawn_rate=args.users, duration_s=args.duration, seed=0))
        median = calibration["procedures"].get("event.search", {}).get("p50_ms")
        if not median:
            print("error: the calibration run measured no search median", file=sys.stderr)
            return 2
        added = round(median * args.slowdown, 1)
        print(f"baseline event.search median {median} ms: candidate gets --latency event.search=+{added}",
              flush=True)
        with SandboxProcess(latency={"event.search": added}) as b:
            ab = series("A/B", base, profile(b, work, "ab-b"), work, args)
    counts_aa, counts_ab = Counter(r["verdict"] for r in aa), Counter(r["verdict"] for r in ab)
    detected = sum(1 for r in ab if r["verdict"] == "FAIL" and "event.search" in r.get("failed", []))
    false_fail = counts_aa["FAIL"] / len(aa)
    detection = detected / len(ab)
    ratios = sorted(r["cand_search_p50"] / r["base_search_p50"] for r in ab
                    if r.get("cand_search_p50") and r.get("base_search_p50"))
    result = {"observed_search_median_ratio": ratios[len(ratios) // 2] if ratios else None,
              "repeats": args.repeats, "duration_s": args.duration, "users": args.users,
              "max_slowdown": args.max_slowdown, "confidence": args.confidence, "min_samples": args.min_samples,
              "baseline_search_median_ms": median, "added_search_latency_ms": added,
              "aa_verdicts": dict(counts_aa), "ab_verdicts": dict(counts_ab),
              "false_fail_rate": false_fail, "detection_rate": detection,
              "elapsed_s": round(time.monotonic() - started)}
    (work / "results.json").write_text(json.dumps({"summary": result, "aa": aa, "ab": ab}, indent=2))
    print(json.dumps(result, indent=2))
    print(f"A/A false-FAIL rate: {false_fail:.0%} ({counts_aa['FAIL']}/{len(aa)}; target <= 5%)")
    print(f"A/B detection rate: {detection:.0%} ({detected}/{len(ab)}; target >= 95%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
