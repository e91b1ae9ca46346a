"""The post-promote watch: light synthetic load on production after deploy and smoke, compared with a baseline.

Modelled on an Argo Rollouts analysis run after a rollout step: the promotion is not PROMOTED until the watch
passes, and a FAIL aborts it (rolled back at once when ``[watch] rollback = true``, as Argo Rollouts aborts and
scales the stable version back up). The load is the load gate's own runner (``release load run``, a subprocess)
and the comparison is the load gate's own statistics (``release load compare``, load/compare.py), bounded in time
(``duration``) and requests (``max_requests``).

The baseline is production itself right before the deploy (``baseline = "pre-deploy"``: the step
``watch-baseline`` runs the same light load on the version still serving, as Kayenta compares a canary with a
baseline on the same infrastructure), or the load gate's last passed run on the release in production
(``baseline = "evidence"``; none yet: SLO checks only, as the load gate does).

Verdicts, fail closed: PASS lets the promotion finish; FAIL (a measured regression) fails it and rolls back when
configured; INCONCLUSIVE (too few samples) and ERROR (the load could not run) fail it too but never roll back by
themselves (Argo Rollouts pauses on an inconclusive analysis for a person to judge): the release is left
FAILED_AFTER_PROMOTE, and `release rollback` is one command away. Every outcome is in the promotion step's ledger
record and in the audit chain (``release.watch_failed``: the hook a notifier subscribes to).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release.config import Target, WatchSettings
from release.gates import GateState
from release.ledger import ReleaseState
from release.workflow.context import Context
from release.workflow.gate_runner import write_profile

BASELINE_STEP = "watch-baseline"
WATCH_STEP = "watch"
#: The audit event of a failed watch; a notifier (webhooks) announces it as "failed after promote".
FAILED_ACTION = "release.watch_failed"
PASS, FAIL, INCONCLUSIVE, ERROR = "PASS", "FAIL", "INCONCLUSIVE", "ERROR"
#: `release load compare` exit codes (release/cli/load.py EXIT_BY_COMPARISON).
_COMPARE_EXIT = {0: PASS, 1: FAIL, 3: INCONCLUSIVE}
#: Slack a load run gets beyond its duration (start-up, login, writing results) before it is stopped.
RUN_GRACE_S = 120.0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class WatchVerdict:
    """The watch's decision and why (counts and procedure names only)."""

    verdict: str
    reason: str

    @property
    def passed(self) -> bool:
        """Only PASS lets the promotion go on."""
        return self.verdict == PASS


def judge(settings: WatchSettings, run: Mapping[str, Any] | None, comparison: Mapping[str, Any] | None,
          compare_exit: int | None, *, baseline: bool) -> WatchVerdict:
    """The watch verdict from the run's stats.json, the comparison.json and its exit code (pure).

    With `procedures`, only those procedures' comparisons decide (a missing one is INCONCLUSIVE); otherwise the
    comparison's own verdict does. A configured `slo` that the run fails is a FAIL. Without a baseline only the SLO
    decides, and without an SLO either there is nothing to decide on: INCONCLUSIVE.
    """
    if run is None:
        return WatchVerdict(ERROR, "the watch load run produced no stats.json")
    run_verdict = str(run.get("verdict") or "")
    if run_verdict not in ("PASSED", "FAILED"):
        errors = run.get("errors") if isinstance(run.get("errors"), list) else []
        why = "; ".join(str(e) for e in (errors or run.get("inconclusive") or ["no reason recorded"])[:2])
        return WatchVerdict(INCONCLUSIVE if run_verdict == "INCONCLUSIVE" else ERROR,
                            f"the watch load run ended {run_verdict or 'without a verdict'}: {why}"[:400])
    if settings.slo is not None and run_verdict != "PASSED":
        return WatchVerdict(FAIL, f"the watch run misses its SLO ({run_verdict or 'no verdict'})")
    if not baseline:
        if settings.slo is None:
            return WatchVerdict(INCONCLUSIVE, "no baseline to compare with and no [watch] slo to check")
        return WatchVerdict(PASS, "SLO checks passed; no baseline to compare with (SLO checks only)")
    if comparison is None or compare_exit not in _COMPARE_EXIT:
        return WatchVerdict(ERROR, f"the comparison with the baseline produced no verdict (exit {compare_exit})")
    procedures = comparison.get("procedures")
    procedures = procedures if isinstance(procedures, Mapping) else {}
    if not settings.procedures:
        verdict = str(comparison.get("verdict") or "").upper()
        if verdict != _COMPARE_EXIT[compare_exit]:
            return WatchVerdict(ERROR, f"comparison exit {compare_exit} disagrees with its verdict {verdict!r}")
        return WatchVerdict(verdict, _reason(procedures, verdict) or str(comparison.get("reason") or verdict))
    verdicts = {name: str((procedures.get(name) or {}).get("verdict") or INCONCLUSIVE).upper()
                for name in settings.procedures}
    for wanted in (FAIL, INCONCLUSIVE):
        hit = [n for n, v in verdicts.items() if v == wanted]
        if hit:
            return WatchVerdict(wanted, _reason({n: procedures.get(n) or {} for n in hit}, wanted)
                                or f"{', '.join(hit)}: {wanted} (no samples)")
    return WatchVerdict(PASS, "every watched procedure is within the budget: " + ", ".join(settings.procedures))


def _reason(procedures: Mapping[str, Any], verdict: str) -> str:
    """'event.search FAIL: +180.0% slower, ...' for the procedures with that verdict."""
    parts = []
    for name, proc in sorted(procedures.items()):
        if isinstance(proc, Mapping) and str(proc.get("verdict", "")).upper() == verdict and verdict != PASS:
            parts.append(f"{name} {verdict}: {proc.get('reason') or ''}".strip())
    return "; ".join(parts)


def watch_dir(ctx: Context, version: str) -> Path:
    """Where the watch keeps its runs for one release (outside the evidence store; hashes go to the ledger)."""
    return ctx.work_dir / version / "watch"


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "release.cli.main", *args]


def _run(argv: list[str], ctx: Context, env: Mapping[str, str], timeout_s: float, log: Path) -> int | None:
    """Run a tool with its output in `log`; its exit code, or None when it timed out or could not start."""
    with log.open("wb") as out:
        try:
            return subprocess.run(argv, cwd=str(ctx.root), env=dict(env), stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout_s, check=False).returncode
        except subprocess.TimeoutExpired:
            out.write(f"\nstopped after {timeout_s:g}s\n".encode())
            return None
        except OSError as exc:
            out.write(f"could not start {argv[0]}: {exc}\n".encode())
            return None


def light_load(ctx: Context, target: Target, settings: WatchSettings, out: Path) -> dict[str, Any]:
    """Run the watch's light load against `target` into `out` (emptied first); what it recorded."""
    if out.exists():
        shutil.rmtree(out)  # a resumed watch measures again: a half-written run must not be read as this one
    out.mkdir(parents=True)
    profile = write_profile(target, out.parent / f"{out.name}-target.json")
    argv = _cli("load", "run", "--target-file", str(profile), "--out", str(out), "--users", str(settings.users),
                "--spawn-rate", f"{float(settings.users):g}", "--duration", f"{max(1, round(settings.duration_s))}s",
                "--max-requests", str(settings.max_requests))
    if settings.slo is not None:
        slo = out.parent / f"{out.name}-slo.json"
        slo.write_text(json.dumps(_plain(settings.slo), sort_keys=True), encoding="utf-8")
        argv += ["--slo", str(slo)]
    if settings.weights:
        argv += ["--weights", settings.weights]
    if settings.allow_non_loopback:
        argv.append("--allow-non-loopback")
    env = {**ctx.environ, "CRVS_TARGET_FILE": str(profile)}
    code = _run(argv, ctx, env, settings.duration_s + RUN_GRACE_S, out.parent / f"{out.name}-output.txt")
    stats = _read_json(out / "stats.json")
    return {"dir": str(out), "exit_code": code, "verdict": stats.get("verdict") if stats else None,
            "requests": _requests(stats), "files": {n: _sha256(out / n) for n in ("stats.json", "histograms.json")}}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _requests(stats: Mapping[str, Any] | None) -> int | None:
    """The number of requests a stats.json counted over every procedure (None when it cannot say)."""
    procedures = (stats or {}).get("procedures")
    if not isinstance(procedures, Mapping):
        return None
    counts = [p.get("count") for p in procedures.values() if isinstance(p, Mapping)]
    return sum(c for c in counts if isinstance(c, int)) if counts else None


def measure_baseline(ctx: Context, target: Target, settings: WatchSettings, version: str,
                     progress: Progress) -> tuple[bool, dict[str, Any]]:
    """The pre-deploy baseline: the light load on the version production still serves; fails when it cannot run.

    No baseline means the watch could not judge the deploy, so promote stops before deploying (fail closed).
    """
    progress(f"watch: baseline, {settings.users} users for {settings.duration_s:g}s on {target.name} before the "
             "deploy")
    run = light_load(ctx, target, settings, watch_dir(ctx, version) / "baseline")
    detail = {"target": target.name, "url": target.gateway, "baseline": "pre-deploy", "run": run}
    if run["verdict"] not in ("PASSED", "FAILED") or not all(run["files"].values()):
        return False, {**detail, "reason": f"the pre-deploy baseline load did not complete (exit {run['exit_code']}, "
                                           f"verdict {run['verdict']}); production was not deployed"}
    return True, detail


def _evidence_baseline(ctx: Context, settings: WatchSettings, into: Path) -> dict[str, Any] | None:
    """Copy the load gate's last passed stats and histograms on the release in production into `into`."""
    name = settings.gate or next(g.name for g in ctx.config.gates.values() if g.kind == "locust")
    gate = ctx.config.gate(name)
    for release in reversed([r for r in ctx.ledger.list_releases() if r.state is ReleaseState.PROMOTED]):
        candidate = ctx.ledger.latest_candidate(release.version)
        if candidate is None:
            continue
        runs = [r for r in ctx.ledger.runs_for(candidate, gate.name) if r.state is GateState.PASSED
                and r.summary.get("scenario") == gate.options.get("scenario")]
        for run in reversed(runs):
            paths = {a.path.rsplit("/", 1)[-1]: ctx.ledger.artifacts.path_of(a) for a in run.artifacts
                     if a.kind == "load"}
            stats = next((p for n, p in paths.items() if n.endswith("stats.json")), None)
            hists = next((p for n, p in paths.items() if n.endswith("histograms.json")), None)
            if stats is None or hists is None:
                continue
            into.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(stats, into / "stats.json")
            shutil.copyfile(hists, into / "histograms.json")
            return {"baseline": "evidence", "gate": gate.name, "release": release.version, "run_id": run.id}
    return None


def watch(ctx: Context, target: Target, settings: WatchSettings, version: str, baseline_detail: Mapping[str, Any] | None,
          progress: Progress) -> tuple[bool, dict[str, Any]]:
    """Load production lightly, compare with the baseline, and judge; (passed, the detail the ledger records)."""
    folder = watch_dir(ctx, version)
    baseline: dict[str, Any] | None
    if settings.baseline == "pre-deploy":
        base_dir = folder / "baseline"
        recorded = (baseline_detail or {}).get("run") or {}
        files = recorded.get("files") if isinstance(recorded, Mapping) else None
        if not isinstance(files, Mapping) or not files or any(_sha256(base_dir / n) != h for n, h in files.items()):
            return False, {"target": target.name, "verdict": ERROR,
                           "reason": f"the pre-deploy baseline in {base_dir} is missing or not the one recorded; "
                                     "the deploy cannot be judged"}
        baseline = {"baseline": "pre-deploy", "dir": str(base_dir)}
    else:
        base_dir = folder / "evidence-baseline"
        baseline = _evidence_baseline(ctx, settings, base_dir)
    progress(f"watch: {settings.users} users for {settings.duration_s:g}s on {target.name} after the deploy")
    run = light_load(ctx, target, settings, folder / "after")
    comparison, code = None, None
    if baseline is not None and run["verdict"] in ("PASSED", "FAILED"):
        out = folder / "comparison.json"
        out.unlink(missing_ok=True)
        code = _run(_cli("load", "compare", str(base_dir), str(folder / "after"), "--max-slowdown",
                         f"{settings.max_slowdown:g}", "--confidence", f"{settings.confidence:g}", "--min-samples",
                         str(settings.min_samples), "--out", str(out)),
                    ctx, ctx.environ, 600, folder / "compare-output.txt")
        comparison = _read_json(out)
    result = judge(settings, _read_json(folder / "after" / "stats.json"), comparison, code,
                   baseline=baseline is not None)
    progress(f"watch: {result.verdict}: {result.reason}")
    detail: dict[str, Any] = {"target": target.name, "url": target.gateway, "verdict": result.verdict,
                              "reason": result.reason, "baseline": baseline or {"baseline": "none"}, "run": run,
                              "comparison": _summary(comparison)}
    return result.passed, detail


def _summary(comparison: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The comparison's verdict and per-procedure figures (no raw samples) for the ledger."""
    if comparison is None:
        return None
    found = comparison.get("procedures")
    procedures: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    keep = ("verdict", "ratio", "ci_low", "ci_high", "n_baseline", "n_candidate", "median_baseline_ms",
            "median_candidate_ms")
    return {"verdict": comparison.get("verdict"), "reason": comparison.get("reason"),
            "procedures": {n: {k: p.get(k) for k in keep} for n, p in sorted(procedures.items())
                           if isinstance(p, Mapping)}}


def after_failure(ctx: Context, settings: WatchSettings, version: str, detail: Mapping[str, Any], actor: str,
                  progress: Progress) -> dict[str, Any]:
    """Audit the failed watch, then roll production back when it is a FAIL and [watch] rollback = true.

    The rollback is `release rollback` as its own process (its own audit events, its own exit code), run once
    the release is FAILED_AFTER_PROMOTE, so it is the same, audited command an operator would run.
    """
    verdict = str(detail.get("verdict") or ERROR)
    automatic = verdict == FAIL and settings.rollback
    ctx.ledger.append_audit(actor, FAILED_ACTION, version,
                            {"verdict": verdict, "reason": detail.get("reason"), "rollback": automatic,
                             "comparison": detail.get("comparison")}, now=ctx.now())
    progress(f"NOTIFY: release {version} is FAILED_AFTER_PROMOTE: the watch says {verdict}: {detail.get('reason')}")
    if not automatic:
        return {"rollback": "not run" + ("" if verdict == FAIL else f" (a watch {verdict} never rolls back by "
                                                                     "itself)")}
    progress(f"watch: rolling {version} back (release rollback)")
    try:
        proc = subprocess.run(_cli("rollback", "--json", "--as", actor), cwd=str(ctx.root), env=dict(ctx.environ),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
                              timeout=_rollback_timeout(ctx))
    except (subprocess.TimeoutExpired, OSError) as exc:
        return {"rollback": "failed", "rollback_error": f"release rollback did not finish: {exc}"}
    try:
        outcome = json.loads(proc.stdout)
    except ValueError:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"rollback": "failed", "rollback_error": f"release rollback exited {proc.returncode}: {tail[:300]}"}
    return {"rollback": "done" if proc.returncode == 0 else "failed",
            "rollback_result": {k: outcome.get(k) for k in ("outcome", "to_version", "to_sha", "message")}}


def _rollback_timeout(ctx: Context) -> float:
    target = ctx.config.targets.get("production")
    return (target.deploy_timeout_s + target.version_timeout_s if target else 900.0) + RUN_GRACE_S


def plan_lines(settings: WatchSettings, target: Target) -> dict[str, str]:
    """What `promote --dry-run` says the watch steps would do."""
    load = f"{settings.users} users for {settings.duration_s:g}s (at most {settings.max_requests} requests)"
    after = ("compare with the pre-deploy baseline" if settings.baseline == "pre-deploy"
             else "compare with the load gate's evidence on the release in production")
    on_fail = "roll back (release rollback)" if settings.rollback else "mark FAILED_AFTER_PROMOTE and notify"
    return {BASELINE_STEP: f"watch baseline: {load} on {target.name} before the deploy",
            WATCH_STEP: f"watch: {load} on {target.name}, {after}; on FAIL {on_fail}"}


__all__ = ["BASELINE_STEP", "FAILED_ACTION", "WATCH_STEP", "WatchVerdict", "after_failure", "judge",
           "measure_baseline", "plan_lines", "watch"]


def step_bound_s(settings: WatchSettings, target: Target) -> float:
    """The longest a live promote may spend in a watch step: the load, the comparison and an automatic rollback."""
    return settings.duration_s + RUN_GRACE_S + 600 + target.deploy_timeout_s + target.version_timeout_s
