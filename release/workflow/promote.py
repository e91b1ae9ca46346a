"""Promote a release whose gates all count: exclusive claim, then recorded, resumable, idempotent steps.

Steps, in order, each recorded in ``promotion_steps`` as it starts and completes:
``tag`` (vX.Y.Z on the candidate sha), ``production-branch`` (fast-forward only), ``deploy`` (the production
target's ``promote`` or ``deploy`` command), ``smoke`` (``release regression run -m smoke`` against the production
target) and ``audit`` (the final audit event; the release becomes PROMOTED). A promotion killed mid-way resumes on
the next run: DONE steps are skipped, and each step is idempotent on its own (a tag already at the sha is fine).
A failed deploy or smoke check leaves the release FAILED_AFTER_PROMOTE: run ``release rollback``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release.config import Target
from release.errors import Blocked
from release.ledger import ReleaseState, StepStatus
from release.versioning import format_ref
from release.workflow.context import Context
from release.workflow.deploy import command_argv, run_command
from release.workflow.gate_runner import write_profile
from release.workflow.status import ReleaseView, evaluate_release, resolve_release
from release.workflow.target import wait_for

STEPS = ("tag", "production-branch", "deploy", "smoke", "audit")
#: Test hook: the step after which the process kills itself (os._exit(137)); honoured only when set.
CRASH_ENV = "RELEASE_TEST_CRASH_AFTER_STEP"
PRODUCTION_TARGET = "production"
SMOKE_TIMEOUT_S = 900.0
Progress = Callable[[str], None]


def _silent(_: str) -> None:
    return None


@dataclass
class PromoteResult:
    """How a promotion ended: PROMOTED, ALREADY_PROMOTED, BLOCKED, FAILED_AFTER_PROMOTE or PLANNED (dry run)."""

    version: str
    outcome: str
    tag: str
    sha: str | None
    message: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    view: ReleaseView | None = None

    @property
    def exit_code(self) -> int:
        """0 when promoted (or would be), 1 when blocked or failed after promotion."""
        return 0 if self.outcome in ("PROMOTED", "ALREADY_PROMOTED", "PLANNED") else 1

    def to_json(self) -> dict[str, Any]:
        """The `release promote --json` shape."""
        from release.workflow.status import view_json

        return {"version": self.version, "outcome": self.outcome, "tag": self.tag, "sha": self.sha,
                "message": self.message, "steps": self.steps, "planned": self.planned,
                "status": view_json(self.view) if self.view else None}


def production_target(ctx: Context) -> Target | None:
    """The target named 'production', if configured."""
    return ctx.config.targets.get(PRODUCTION_TARGET)


def _owner(actor: str) -> str:
    return f"{actor} (pid {os.getpid()} on {socket.gethostname()})"


def _owner_is_dead(owner: str | None) -> bool:
    """True when the owner was a process on this host that no longer runs."""
    m = re.search(r"\(pid (\d+) on (.+)\)$", owner or "")
    if m is None or m.group(2) != socket.gethostname():
        return False
    try:
        os.kill(int(m.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _plan(ctx: Context, view: ReleaseView, tag: str, done: list[str]) -> list[str]:
    assert view.candidate is not None
    sha, branch = view.candidate.sha, ctx.config.release.production_branch
    target = production_target(ctx)
    text = {
        "tag": f"tag {tag} at {sha[:12]}",
        "production-branch": f"fast-forward {branch} to {sha[:12]}",
        "deploy": (f"deploy {tag} to production: {target.promote or target.deploy}" if target and
                   (target.promote or target.deploy) else "deploy: skipped (no production target command)"),
        "smoke": (f"smoke check: release regression run -m smoke --target-file <{target.name} profile>" if target
                  else "smoke: skipped (no [targets.production])"),
        "audit": "audit event release.promoted; release state PROMOTED",
    }
    return [("(done) " if step in done else "") + text[step] for step in STEPS]


def promote(ctx: Context, version: str, *, resume: bool = False, progress: Progress = _silent) -> PromoteResult:
    """Re-evaluate every gate, then promote exclusively and resumably; blocked means nothing changed."""
    actor = ctx.require_actor()
    release = resolve_release(ctx, version)
    tag = format_ref(ctx.config.release.tag, release.version)
    if release.state is ReleaseState.PROMOTED:
        return PromoteResult(release.version, "ALREADY_PROMOTED", tag, ctx.git.tag_sha(tag),
                             f"release {release.version} is already promoted")
    if release.state in (ReleaseState.FAILED_AFTER_PROMOTE, ReleaseState.ROLLED_BACK):
        hint = "run `release rollback`" if release.state is ReleaseState.FAILED_AFTER_PROMOTE else \
            "prepare a new release"
        raise Blocked(f"release {release.version} is {release.state.value}; {hint}")
    view = evaluate_release(ctx, release.version)
    if not view.checklist.promotable or view.candidate is None:
        reasons = "; ".join(f"{g.gate}: {g.state.value}: {' / '.join(g.reasons) or 'no reason'}"
                            for g in view.checklist.gates if not g.state.counts) \
            or "; ".join(view.checklist.blocking_reasons)
        return PromoteResult(release.version, "BLOCKED", tag, view.candidate.sha if view.candidate else None,
                             f"promotion of {release.version} blocked: {reasons}", view=view)
    sha = view.candidate.sha
    production = production_target(ctx)
    if production is not None and not ctx.dry_run:
        production.require_secrets(ctx.environ)  # the smoke check logs in: fail before moving anything
    done = ctx.ledger.completed_steps(release.version) if release.state is ReleaseState.PROMOTING else []
    if ctx.dry_run:
        return PromoteResult(release.version, "PLANNED", tag, sha, f"would promote {view.candidate.tag} as {tag}",
                             planned=_plan(ctx, view, tag, done), view=view)
    owner = _owner(actor)
    if not ctx.ledger.claim_promotion(release.version, owner, now=ctx.now()):
        current = ctx.ledger.get_release(release.version)
        if not ((resume or _owner_is_dead(current.promotion_owner))
                and current.state is ReleaseState.PROMOTING
                and ctx.ledger.claim_promotion(release.version, owner, resume=True, now=ctx.now())):
            raise Blocked(f"promotion of {release.version} already in progress by "
                          f"{current.promotion_owner or 'someone else'} ({current.state.value})")
        progress(f"resuming the promotion started by {current.promotion_owner}")
    done = ctx.ledger.completed_steps(release.version)
    steps = _Steps(ctx, release.version, tag, sha, actor, progress)
    result = PromoteResult(release.version, "PROMOTED", tag, sha, "", view=view)
    for step in STEPS:
        if step in done:
            progress(f"step {step}: already done")
            result.steps.append({"step": step, "status": "skipped (already done)"})
            continue
        progress(f"step {step}")
        ctx.ledger.record_step(release.version, step, StepStatus.STARTED, steps.started_detail(step), actor=actor,
                               now=ctx.now())
        ok, detail = getattr(steps, step.replace("-", "_"))()
        if not ok:
            ctx.ledger.record_step(release.version, step, StepStatus.FAILED, detail, actor=actor, now=ctx.now())
            ctx.ledger.set_release_state(release.version, ReleaseState.FAILED_AFTER_PROMOTE, actor=actor,
                                         now=ctx.now(), detail={"step": step, "reason": detail.get("reason")})
            result.steps.append({"step": step, "status": "failed", **detail})
            result.outcome = "FAILED_AFTER_PROMOTE"
            result.message = (f"promotion of {release.version} failed at step {step}: {detail.get('reason')}; "
                              "run `release rollback` to redeploy the previous production version")
            return result
        ctx.ledger.record_step(release.version, step, StepStatus.DONE, detail, actor=actor, now=ctx.now())
        result.steps.append({"step": step, "status": "done", **detail})
        if ctx.environ.get(CRASH_ENV) == step:
            os._exit(137)  # test hook: die like `kill -9` right after the step is recorded
    result.message = f"promoted {release.version}: {tag} at {sha[:12]}, {ctx.config.release.production_branch} moved"
    return result


class _Steps:
    """The promotion steps; each returns (ok, detail) and is idempotent on its own."""

    def __init__(self, ctx: Context, version: str, tag: str, sha: str, actor: str, progress: Progress) -> None:
        self.ctx, self.version, self.final_tag, self.sha, self.actor, self.progress = ctx, version, tag, sha, actor, progress
        self.branch = ctx.config.release.production_branch
        self.target = production_target(ctx)

    def started_detail(self, step: str) -> dict[str, Any]:
        if step == "production-branch":
            recorded = {s.step: s for s in self.ctx.ledger.steps(self.version)}.get(step)
            before = recorded.detail.get("from") if recorded else self.ctx.git.branch_sha(self.branch)
            return {"branch": self.branch, "from": before, "to": self.sha}
        return {}

    def tag(self) -> tuple[bool, dict[str, Any]]:
        created = self.ctx.git.create_tag(self.final_tag, self.sha, f"release {self.version}")
        return True, {"tag": self.final_tag, "sha": self.sha, "created": created}

    def production_branch(self) -> tuple[bool, dict[str, Any]]:
        detail = self.started_detail("production-branch")
        moved = self.ctx.git.fast_forward(self.branch, self.sha)
        return True, {**detail, "moved": moved}

    def deploy(self) -> tuple[bool, dict[str, Any]]:
        target = self.target
        if target is None:
            return True, {"skipped": f"no [targets.{PRODUCTION_TARGET}] configured"}
        template = target.promote or target.deploy
        if not template:
            return True, {"skipped": f"target {target.name} has no promote or deploy command"}
        argv = command_argv(template, version=self.version, commit=self.sha, tag=self.final_tag)
        self.progress(f"deploy: {' '.join(argv)}")
        outcome = run_command(argv, self.ctx.root, env=self.ctx.environ)
        detail: dict[str, Any] = {"target": target.name, "url": target.gateway, "template": template,
                                  "version": self.version, "commit": self.sha, "tag": self.final_tag,
                                  "exit_code": outcome.exit_code}
        if not outcome.ok:
            return False, {**detail, "reason": outcome.describe()}
        seen = wait_for(target, self.version, self.sha, target.version_timeout_s,
                        environ=self.ctx.environ)
        if seen is None:
            return False, {**detail, "reason": f"{target.name} ({target.gateway}) never reported {self.version} "
                                               f"within {target.version_timeout_s:g}s"}
        return True, {**detail, "reported": seen.to_json()}

    def smoke(self) -> tuple[bool, dict[str, Any]]:
        if self.target is None:
            return True, {"skipped": f"no [targets.{PRODUCTION_TARGET}] configured"}
        return smoke_check(self.ctx, self.target)

    def audit(self) -> tuple[bool, dict[str, Any]]:
        already = [e for e in self.ctx.ledger.audit_events()
                   if e.action == "release.promoted" and e.subject == self.version]
        if not already:
            self.ctx.ledger.append_audit(self.actor, "release.promoted", self.version,
                                         {"tag": self.final_tag, "sha": self.sha, "branch": self.branch}, now=self.ctx.now())
        self.ctx.ledger.set_release_state(self.version, ReleaseState.PROMOTED, actor=self.actor, now=self.ctx.now())
        return True, {"event": "release.promoted"}


def smoke_check(ctx: Context, target: Target) -> tuple[bool, dict[str, Any]]:
    """Run the regression suite's smoke subset against the target; (passed, detail). Anything but 'passed' fails."""
    with tempfile.TemporaryDirectory(prefix="release-smoke-") as tmp:
        summary_path = Path(tmp) / "summary.json"
        profile = write_profile(target, Path(tmp) / "target.json")
        env = {**ctx.environ, "CRVS_TARGET_FILE": str(profile)}
        argv = [sys.executable, "-m", "release.cli.main", "regression", "run", "--target-file", str(profile),
                "-m", "smoke", "--json", str(summary_path), "--junit", str(Path(tmp) / "junit.xml")]
        try:
            proc = subprocess.run(argv, cwd=str(ctx.root), env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            return False, {"reason": f"smoke check timed out after {SMOKE_TIMEOUT_S:g}s"}
        try:
            data = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
            return False, {"reason": f"smoke check exited {proc.returncode} without a summary: {tail[0][:200]}"}
    counts = data.get("counts") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("status") != "passed" or proc.returncode != 0:
        failures = data.get("failures") if isinstance(data, dict) else None
        first = failures[0] if isinstance(failures, list) and failures else {}
        return False, {"reason": f"smoke check {data.get('status') if isinstance(data, dict) else 'broken'}: "
                                 f"{first.get('nodeid', '')} {first.get('reason', '')}".strip()[:300],
                       "counts": counts}
    return True, {"counts": counts}
