"""Promote a release whose gates all count: exclusive claim, then recorded, resumable, idempotent steps.

Steps, in order, each recorded in ``promotion_steps`` as it starts and completes:
``tag`` (vX.Y.Z on the candidate sha), ``production-branch`` (fast-forward only), ``deploy`` (the production
target's ``promote`` or ``deploy`` command), ``smoke`` (``release regression run -m smoke`` against the production
target) and ``audit`` (the final audit event; the release becomes PROMOTED). A promotion killed mid-way resumes on
the next run: DONE steps are skipped, and each step is idempotent on its own (a tag already at the sha is fine).
A failed deploy or smoke check leaves the release FAILED_AFTER_PROMOTE: run ``release rollback``.

Fail closed: promote needs ``[targets.production]`` with a ``promote`` or ``deploy`` command, or ``deploy =
"manual"``. Without one it refuses (exit 1) and changes nothing, because it could not deploy or smoke-check
production and PROMOTED would be a claim nobody checked. With ``deploy = "manual"`` the deploy step records that
the operator deployed by hand (and what production reports), and the smoke check still runs against the production
gateway unless ``smoke_waiver = "reason"`` is set; then the smoke step records the waiver and its reason. A command
that cannot be rendered (an unset env var behind a variable) is an exit 2 before any ref moves.
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

from release.config import MANUAL_DEPLOY, Target
from release.errors import Blocked, GitConflict
from release.ledger import ReleaseState, StepStatus
from release.versioning import format_ref
from release.workflow.context import Context
from release.workflow.deploy import MANUAL_NOTE, RenderedCommand, is_manual, run_command, target_command
from release.workflow.gate_runner import write_profile
from release.workflow.status import ReleaseView, evaluate_release, resolve_release
from release.workflow.target import parse_image_record, probe_identity, wait_for

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
    #: The branch promote moves to `sha` (release.production_branch): a CI job pushes exactly this and the tag.
    production_branch: str | None = None

    @property
    def exit_code(self) -> int:
        """0 when promoted (or would be), 1 when blocked or failed after promotion."""
        return 0 if self.outcome in ("PROMOTED", "ALREADY_PROMOTED", "PLANNED") else 1

    def to_json(self) -> dict[str, Any]:
        """The `release promote --json` shape."""
        from release.workflow.status import view_json

        return {"version": self.version, "outcome": self.outcome, "tag": self.tag, "sha": self.sha,
                "message": self.message, "steps": self.steps, "planned": self.planned,
                "production_branch": self.production_branch,
                "status": view_json(self.view) if self.view else None}


def production_target(ctx: Context) -> Target | None:
    """The target named 'production', if configured."""
    return ctx.config.targets.get(PRODUCTION_TARGET)


def production_command(target: Target) -> tuple[str, str] | None:
    """(key, template) of what promote runs on production: its promote command, else its deploy command.

    ``("deploy", "manual")`` means the operator deploys by hand; None means the target says nothing about deploying.
    """
    if target.promote:
        return "promote", target.promote
    if target.deploy:
        return "deploy", target.deploy
    return None


def require_production_target(ctx: Context, command: str = "promote") -> Target:
    """The production target promote deploys and smoke-checks; Blocked (exit 1) naming what to add when missing.

    ``command`` names the refusing command (promote, rollback) in the message.
    """
    target = production_target(ctx)
    fix = (f'a promote = "..." or deploy = "..." command (it may use {{version}} {{commit}} {{tag}} {{target}} and '
           f'[variables]), or deploy = "{MANUAL_DEPLOY}" if you deploy by hand (the smoke check still runs unless '
           'smoke_waiver = "reason" is set); see docs/deploy.md')
    if target is None:
        raise Blocked(f"{command} refused: {ctx.config.path.name} has no [targets.{PRODUCTION_TARGET}], so "
                      f"{command} could not deploy production; nothing was changed. Add "
                      f'[targets.{PRODUCTION_TARGET}] with gateway = "https://gateway.<your domain>" and {fix}')
    if production_command(target) is None:
        raise Blocked(f"{command} refused: [targets.{PRODUCTION_TARGET}] in {target.source} has neither a promote "
                      f"nor a deploy command, so {command} could not deploy production; nothing was changed. "
                      f"Add {fix}")
    return target


def _render(ctx: Context, target: Target, version: str, sha: str, tag: str) -> RenderedCommand | None:
    """The production command, rendered (None for a manual deploy); ConfigError (exit 2) before anything moves."""
    found = production_command(target)
    assert found is not None, "require_production_target refuses a target without a command"
    key, template = found
    if is_manual(template):
        return None
    return target_command(ctx.config, target, key, version=version, commit=sha, tag=tag, environ=ctx.environ)


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


def _plan(ctx: Context, view: ReleaseView, target: Target, command: RenderedCommand | None, tag: str,
          done: list[str]) -> list[str]:
    assert view.candidate is not None
    sha, branch = view.candidate.sha, ctx.config.release.production_branch
    deploy = (f"deploy {tag} to {target.name}: {' '.join(command.argv)}" if command is not None
              else f"deploy {tag} to {target.name}: by hand (deploy = \"{MANUAL_DEPLOY}\"; {MANUAL_NOTE})")
    smoke = (f"smoke check: waived ({target.smoke_waiver})" if target.smoke_waiver else
             f"smoke check: release regression run -m smoke --target-file <{target.name} profile> "
             f"against {target.gateway}")
    text = {
        "tag": f"tag {tag} at {sha[:12]}",
        "production-branch": f"fast-forward {branch} to {sha[:12]}",
        "deploy": deploy,
        "smoke": smoke,
        "audit": "audit event release.promoted; release state PROMOTED",
    }
    return [("(done) " if step in done else "") + text[step] for step in STEPS]


def promote(ctx: Context, version: str, *, resume: bool = False, progress: Progress = _silent) -> PromoteResult:
    """Re-evaluate every gate, then promote exclusively and resumably; blocked means nothing changed."""
    result = _promote(ctx, version, resume=resume, progress=progress)
    result.production_branch = ctx.config.release.production_branch
    return result


def _promote(ctx: Context, version: str, *, resume: bool, progress: Progress) -> PromoteResult:
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
    production = require_production_target(ctx)  # fail closed: no production target, no promotion
    problem = ctx.git.fast_forward_problem(ctx.config.release.production_branch, sha)
    if problem and release.state is not ReleaseState.PROMOTING:  # say so before the tag is made
        raise GitConflict(f"cannot promote {release.version}: {problem}; nothing was changed")
    command = _render(ctx, production, release.version, sha, tag)  # an unset variable: exit 2, nothing moved
    if not ctx.dry_run and not production.smoke_waiver:
        production.require_secrets(ctx.environ)  # the smoke check logs in: fail before moving anything
    done = ctx.ledger.completed_steps(release.version) if release.state is ReleaseState.PROMOTING else []
    if ctx.dry_run:
        return PromoteResult(release.version, "PLANNED", tag, sha, f"would promote {view.candidate.tag} as {tag}",
                             planned=_plan(ctx, view, production, command, tag, done), view=view)
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
    steps = _Steps(ctx, production, release.version, tag, sha, actor, progress)
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
    if command is None:
        result.message += f"; deploy = \"{MANUAL_DEPLOY}\": {MANUAL_NOTE}"
    if production.smoke_waiver:
        result.message += f"; smoke check waived: {production.smoke_waiver}"
    return result


class _Steps:
    """The promotion steps; each returns (ok, detail) and is idempotent on its own."""

    def __init__(self, ctx: Context, target: Target, version: str, tag: str, sha: str, actor: str,
                 progress: Progress) -> None:
        self.ctx, self.version, self.final_tag, self.sha, self.actor, self.progress = ctx, version, tag, sha, actor, progress
        self.branch = ctx.config.release.production_branch
        self.target = target

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
        found = production_command(target)
        assert found is not None, "require_production_target refuses a target without a command"
        key, template = found
        base: dict[str, Any] = {"target": target.name, "url": target.gateway, "version": self.version,
                                "commit": self.sha, "tag": self.final_tag}
        if is_manual(template):
            return True, self._manual_deploy(base)
        command = target_command(self.ctx.config, target, key, version=self.version, commit=self.sha,
                                 tag=self.final_tag, environ=self.ctx.environ)
        argv = command.argv
        self.progress(f"deploy: {' '.join(argv)}")
        outcome = run_command(argv, self.ctx.root, timeout_s=self.target.deploy_timeout_s, env=self.ctx.environ)
        images = parse_image_record(outcome.output)
        # What was deployed: the rendered argv, the variables it used (never secrets: see docs/deploy.md) and the
        # image tags the command printed as RELEASE_IMAGE_<NAME>= lines.
        detail: dict[str, Any] = {**base, "template": template, "argv": list(argv),
                                  "variables": dict(command.variables), "exit_code": outcome.exit_code,
                                  "images": images}
        if images:
            self.progress("deployed: " + ", ".join(f"{k}={v}" for k, v in images.items()))
        if not outcome.ok:
            return False, {**detail, "reason": outcome.describe()}
        seen = wait_for(target, self.version, self.sha, target.version_timeout_s,
                        environ=self.ctx.environ)
        if seen is None:
            return False, {**detail, "reason": f"{target.name} ({target.gateway}) never reported {self.version} "
                                               f"within {target.version_timeout_s:g}s"}
        return True, {**detail, "reported": seen.to_json()}

    def _manual_deploy(self, base: dict[str, Any]) -> dict[str, Any]:
        """deploy = "manual": record that the operator deploys by hand, and what production reports right now."""
        probed = probe_identity(self.target, environ=self.ctx.environ)
        detail = {**base, "deploy": MANUAL_DEPLOY, "manual": MANUAL_NOTE,
                  "reported": probed.identity.to_json() if probed.identity else None}
        if probed.identity is None:
            detail["probe_problem"] = probed.problem
        now = probed.identity.version if probed.identity else f"unknown ({probed.problem})"
        self.progress(f"deploy: by hand ({MANUAL_NOTE}); {self.target.name} reports {now}")
        return detail

    def smoke(self) -> tuple[bool, dict[str, Any]]:
        target = self.target
        where = {"target": target.name, "url": target.gateway}
        if target.smoke_waiver:
            self.progress(f"smoke check waived: {target.smoke_waiver}")
            return True, {**where, "waived": target.smoke_waiver}
        ok, detail = smoke_check(self.ctx, target)
        return ok, {**where, **detail}

    def audit(self) -> tuple[bool, dict[str, Any]]:
        already = [e for e in self.ctx.ledger.audit_events()
                   if e.action == "release.promoted" and e.subject == self.version]
        if not already:
            self.ctx.ledger.append_audit(self.actor, "release.promoted", self.version,
                                         {"tag": self.final_tag, "sha": self.sha, "branch": self.branch,
                                          **self._how_it_was_deployed()}, now=self.ctx.now())
        self.ctx.ledger.set_release_state(self.version, ReleaseState.PROMOTED, actor=self.actor, now=self.ctx.now())
        return True, {"event": "release.promoted"}

    def _how_it_was_deployed(self) -> dict[str, Any]:
        """The deploy and smoke facts for the release.promoted event, read from the recorded steps (resume-safe)."""
        recorded = {s.step: s.detail for s in self.ctx.ledger.steps(self.version)}
        deploy, smoke = recorded.get("deploy") or {}, recorded.get("smoke") or {}
        how: dict[str, Any] = {"target": self.target.name, "url": self.target.gateway}
        if deploy.get("manual"):
            how["deploy"] = {"manual": deploy["manual"]}
        else:
            how["deploy"] = {k: deploy[k] for k in ("argv", "variables", "images") if k in deploy}
        how["smoke"] = {"waived": smoke["waived"]} if smoke.get("waived") else {"counts": smoke.get("counts")}
        return how


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
