"""How good are the load gate's A/B verdicts? Repeated `release load ab` runs at the gate's default settings.

Series (each --repeats times, a new seed per repeat; each repeat starts a new pair of sandboxes, in an order drawn
from the seed, since two processes of one build on one host differ steadily by a few per cent and one pair for a
whole series gives 20 draws of that one pair's difference; `--same-pair` keeps one pair per series):
  aa        two identical sandboxes: FAIL rate (target <= 2 %), INCONCLUSIVE rate (<= 5 %), and how often the
            95 % intervals of the deciding procedures' median and p95 ratios contain 1.0 (about 95 %)
  search    candidate `--slowdown event.search=1.20`: FAIL naming event.search (>= 95 %)
  register  candidate `--slowdown event.actions.register.request=1.20`: FAIL naming it (>= 95 %)
  tail      candidate `--tail event.search=0.05:+50`: FAIL naming event.search on its tail (>= 95 %)
  fixed     as aa and search, with early stopping off (--looks 1), to set the time to a verdict beside it

The defaults are an A/B gate's (release/config_models.py BaselineTable and AB_DEFAULT_USERS/_DURATION_S): 20
users, 120 s, a 10 % median budget, a 25 % p95 budget, 95 % confidence, 4 looks, 5 s windows (duration / 20, at
most 5 s), 2 legs, at least 30 samples.

    python benchmarks/verdict_quality.py --repeats 20
    python benchmarks/verdict_quality.py --repeats 3 --duration 20 --series aa,tail   # a quick check
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crvs_client.deployment import write_profile
from load.compare import DEFAULT_DECIDE, Policy, with_doubt
from load.errors import LoadInputError
from load.runner import RunOptions, auto_window, run_ab_sequential
from release.config_models import AB_DEFAULT_DURATION_S, AB_DEFAULT_USERS
from sandbox.process import SandboxProcess

SERIES: dict[str, tuple[list[str], str | None, str | None]] = {
    # name: (candidate sandbox flags, the procedure that must FAIL, the statistic it must FAIL on)
    "aa": ([], None, None),
    "search": (["--slowdown", "event.search=1.20"], "event.search", None),
    "register": (["--slowdown", "event.actions.register.request=1.20"], "event.actions.register.request", None),
    "tail": (["--tail", "event.search=0.05:+50"], "event.search", "tail"),
}
FIXED = ("aa", "search")


def profile(sandbox: SandboxProcess, work: Path, name: str) -> dict[str, Any]:
    """RunOptions for a sandbox: its profile file and the secrets the profile names."""
    return {"target_file": write_profile(sandbox.profile(name), work / f"{name}.json"), "env": sandbox.profile_env()}


def policy(args: argparse.Namespace, looks: int) -> Policy:
    """The comparison policy at the gate's defaults (overridable from the command line)."""
    tail = Policy.tail_default(args.max_slowdown) if args.max_tail_slowdown is None else args.max_tail_slowdown
    return Policy(max_slowdown=args.max_slowdown, max_tail_slowdown=tail, confidence=args.confidence,
                  min_samples=args.min_samples, decide=DEFAULT_DECIDE, window_s=args.window or auto_window(args.duration),
                  looks=looks)


def ab_once(base: dict, cand: dict, out: Path, args: argparse.Namespace, seed: int, looks: int) -> dict[str, Any]:
    """One A/B run: its verdict, what failed on which statistic, the intervals, and when it stopped."""
    opts = {"users": args.users, "spawn_rate": float(args.users), "duration_s": args.duration, "seed": seed}
    started = time.monotonic()
    try:
        result = run_ab_sequential(RunOptions(out=out / "baseline", **base, **opts),
                                   RunOptions(out=out / "candidate", **cand, **opts), policy(args, looks),
                                   legs=args.legs)
    except LoadInputError as exc:
        return {"verdict": "ERROR", "errors": [str(exc)]}
    docs = {"baseline": result.baseline, "candidate": result.candidate}
    errors = [f"{k}: {e}" for k, d in docs.items() if d["verdict"] == "ERROR" for e in d["errors"][:2]]
    if errors:
        return {"verdict": "ERROR", "errors": errors}
    doubts = [f"{k}: {r}" for k, d in docs.items() if d["verdict"] == "INCONCLUSIVE"
              for r in d.get("inconclusive") or ["INCONCLUSIVE"]]
    comparison = with_doubt(result.comparison, doubts)
    seq = comparison.sequential or {}
    intervals = {n: {k: [s.get("ci_low"), s.get("ci_high"), s.get("ratio")] for k, s in p.statistics.items()}
                 for n, p in comparison.procedures.items() if p.decides}
    return {"verdict": comparison.verdict, "reason": comparison.reason,
            "failed": {n: list(p.failed_on) for n, p in comparison.procedures.items() if n in comparison.failed},
            "inconclusive": {n: p.reason for n, p in comparison.procedures.items()
                             if p.decides and p.verdict == "INCONCLUSIVE"},
            "intervals": intervals, "stopped_at_s": seq.get("stopped_at_s"), "stopped_early": seq.get("stopped_early"),
            "wall_s": round(time.monotonic() - started, 1)}


@contextlib.contextmanager
def sandbox_pair(flags: list[str], candidate_first: bool) -> Iterator[tuple[SandboxProcess, SandboxProcess]]:
    """A baseline sandbox and a candidate one (with the series' fault flags), started in the order given."""
    with contextlib.ExitStack() as stack:
        base, cand = SandboxProcess(), SandboxProcess(extra_args=flags)
        for sandbox in (cand, base) if candidate_first else (base, cand):
            stack.enter_context(sandbox)
        yield base, cand


def run_series(name: str, args: argparse.Namespace, work: Path, looks: int,
               save: Callable[[str, list[dict[str, Any]]], None]) -> list[dict[str, Any]]:
    """--repeats A/B runs of one series, each against a new pair of sandboxes (one pair with --same-pair);
    `save` is called after every repeat, so a series stopped part-way keeps what it measured."""
    flags, _, _ = SERIES[name]
    label = name if looks > 1 else f"{name}-fixed"
    rows: list[dict[str, Any]] = []
    with contextlib.ExitStack() as kept:
        pair = kept.enter_context(sandbox_pair(flags, False)) if args.same_pair else None
        for i in range(args.repeats):
            candidate_first = random.Random(f"{label}-{i}").random() < 0.5
            with contextlib.ExitStack() as fresh:
                base, cand = pair or fresh.enter_context(sandbox_pair(flags, candidate_first))
                opts = profile(base, work, f"{label}-{i}-a"), profile(cand, work, f"{label}-{i}-b")
                row = ab_once(*opts, work / f"{label}-{i}", args, seed=i + 1, looks=looks)
            row["candidate_started_first"] = None if pair else candidate_first
            rows.append(row)
            save(label, rows)
            brief = {k: row.get(k) for k in ("failed", "stopped_at_s", "wall_s", "errors") if row.get(k)}
            print(f"{label} {i + 1}/{args.repeats}: {row['verdict']} {json.dumps(brief)}", flush=True)
    return rows


def coverage(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Share of the deciding procedures' 95 % intervals (median, tail) that contain 1.0."""
    out: dict[str, float | None] = {}
    for key in ("median", "tail"):
        hits = [lo <= 1.0 <= hi for r in rows for stats in (r.get("intervals") or {}).values()
                for lo, hi, _ in [stats.get(key) or [None, None, None]] if lo is not None and hi is not None]
        out[key] = round(sum(hits) / len(hits), 3) if hits else None
    return out


def summarise(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Verdict counts, the detection rate (FAIL naming the right procedure and statistic) and times."""
    _, proc, stat = SERIES[name.removesuffix("-fixed")]
    counts = Counter(r["verdict"] for r in rows)
    n = len(rows) or 1
    out: dict[str, Any] = {"runs": len(rows), "verdicts": dict(counts), "fail_rate": counts["FAIL"] / n,
                           "inconclusive_rate": counts["INCONCLUSIVE"] / n, "error_rate": counts["ERROR"] / n}
    if proc is not None:
        named = [r for r in rows if r["verdict"] == "FAIL" and proc in (r.get("failed") or {})
                 and (stat is None or stat in r["failed"][proc])]
        out["detected"] = len(named) / n
    else:
        out["coverage_of_1"] = coverage(rows)
    stops = [r["stopped_at_s"] for r in rows if r.get("stopped_at_s") is not None]
    walls = [r["wall_s"] for r in rows if r.get("wall_s") is not None]
    out["median_verdict_at_s"] = statistics.median(stops) if stops else None
    out["median_wall_s"] = statistics.median(walls) if walls else None
    out["stopped_early"] = sum(1 for r in rows if r.get("stopped_early")) / n
    return out


def spread(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per deciding procedure and statistic over the repeats: the mean ratio, the run-to-run sd of the log ratio
    and the mean within-run standard error (from the 95 % interval), to tell a steady difference between the two
    sides, or intervals narrower than the run-to-run noise, from bad luck."""
    logs: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        for proc, stats in (r.get("intervals") or {}).items():
            for key, (lo, hi, ratio) in stats.items():
                if lo and hi and ratio and math.isfinite(hi):
                    se = (math.log(hi) - math.log(lo)) / (2 * 1.959964)
                    logs.setdefault(f"{proc} {key}", []).append((math.log(ratio), se))
    return {name: {"mean_ratio": round(math.exp(statistics.mean(x for x, _ in v)), 3),
                   "sd_log": round(statistics.stdev(x for x, _ in v), 3) if len(v) > 1 else float("nan"),
                   "mean_se_log": round(statistics.mean(se for _, se in v), 3), "runs": len(v)}
            for name, v in sorted(logs.items())}


def print_spread(rows: list[dict[str, Any]]) -> None:
    print(f"\nA/A over the repeats: {'procedure statistic':<44}{'mean ratio':>11}{'run-to-run sd':>15}{'mean se':>9}")
    for name, v in spread(rows).items():
        print(f"{'':<21}{name:<44}{v['mean_ratio']:>11}{v['sd_log']:>15}{v['mean_se_log']:>9}")


def print_table(summary: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    """The figures side by side, as docs/performance.md records them."""
    pol = policy(args, args.looks)
    print(f"\n{args.repeats} repeats, {args.users} users, {args.duration:g} s, budgets median "
          f"{pol.max_slowdown:.0%} / p95 {pol.max_tail_slowdown:.0%}, {pol.window_s:g} s windows, {args.legs} legs, "
          f"{pol.looks} looks")
    print(f"{'series':<16}{'PASS':>6}{'FAIL':>6}{'INCONC':>8}{'ERROR':>7}{'detected':>10}{'cover med/p95':>15}"
          f"{'verdict at s':>14}{'wall s':>8}")
    for name, s in summary.items():
        v = s["verdicts"]
        cover = s.get("coverage_of_1")
        cover_txt = f"{cover['median']:.2f}/{cover['tail']:.2f}" if cover else "-"
        detected = f"{s['detected']:.0%}" if "detected" in s else "-"
        at, wall = s["median_verdict_at_s"], s["median_wall_s"]
        print(f"{name:<16}{v.get('PASS', 0):>6}{v.get('FAIL', 0):>6}{v.get('INCONCLUSIVE', 0):>8}{v.get('ERROR', 0):>7}"
              f"{detected:>10}{cover_txt:>15}{f'{at:.1f}' if at else '-':>14}{f'{wall:.1f}' if wall else '-':>8}")


def _terminated(signum: int, _frame: Any) -> None:
    """SIGTERM unwinds like Ctrl-C, so the sandboxes and locust processes of the series are stopped."""
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _terminated)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--duration", type=float, default=AB_DEFAULT_DURATION_S)
    parser.add_argument("--users", type=int, default=AB_DEFAULT_USERS)
    parser.add_argument("--series", default="aa,search,register,tail,fixed",
                        help="Comma list of aa, search, register, tail, fixed.")
    parser.add_argument("--max-slowdown", type=float, default=0.10)
    parser.add_argument("--max-tail-slowdown", type=float, default=None, help="Default 0.25 (or --max-slowdown).")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--min-samples", type=int, default=30)
    parser.add_argument("--looks", type=int, default=4)
    parser.add_argument("--window", type=float, default=None, help="Default: duration / 20, 1 to 5 s.")
    parser.add_argument("--legs", type=int, default=2)
    parser.add_argument("--same-pair", action="store_true",
                        help="One pair of sandboxes per series (the figures before session 7), not one per repeat.")
    parser.add_argument("--out", type=Path, default=None,
                        help="Keep run directories and results.json (rewritten after every repeat) here.")
    parser.add_argument("--summarise", type=Path, default=None, metavar="RESULTS_JSON",
                        help="Print the tables of an earlier run's results.json again (no load is run).")
    args = parser.parse_args()
    if args.summarise is not None:
        doc = json.loads(args.summarise.read_text(encoding="utf-8"))
        for key, value in doc["settings"].items():
            if key not in ("summarise", "out"):
                setattr(args, key, value)
        print_table(doc["summary"], args)
        if "aa" in doc["runs"]:
            print_spread(doc["runs"]["aa"])
        return 0
    chosen = [s.strip() for s in args.series.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in (*SERIES, "fixed")]
    if unknown or args.repeats < 1 or args.duration <= 0:
        print(f"error: unknown series {unknown} (or --repeats/--duration not positive)", file=sys.stderr)
        return 2
    work = args.out or Path(tempfile.mkdtemp(prefix="verdict-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    rows: dict[str, list[dict[str, Any]]] = {}

    def save(label: str, series_rows: list[dict[str, Any]]) -> None:
        """Rewrite results.json (whole, by rename) with every repeat so far."""
        rows[label] = series_rows
        doc = {"settings": vars(args) | {"out": str(work)}, "summary": {n: summarise(n, r) for n, r in rows.items()},
               "runs": rows, "elapsed_s": round(time.monotonic() - started)}
        partial = work / "results.json.partial"
        partial.write_text(json.dumps(doc, indent=2, default=str))
        partial.replace(work / "results.json")

    for name in chosen:
        if name == "fixed":
            for base in FIXED:
                run_series(base, args, work, looks=1, save=save)
        else:
            run_series(name, args, work, looks=args.looks, save=save)
    summary = {name: summarise(name, r) for name, r in rows.items()}
    print_table(summary, args)
    if "aa" in rows:
        print_spread(rows["aa"])
    print(f"results: {work / 'results.json'} ({round(time.monotonic() - started)} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
