"""Promote a release whose gates all count: exclusive claim, then recorded, resumable, idempotent steps.

Steps, in order, each recorded in ``promotion_steps`` as it starts and completes:
``tag`` (vX.Y.Z on the candidate sha), ``production-branch`` (fast-forward only), ``deploy`` (the production
target's ``promote`` or ``deploy`` command), ``smoke`` (``release regression run -m smoke`` against the production
target) and ``audit`` (the final audit event; the release becomes PROMOTED). A promotion killed mid-way resumes on
the next run: DONE steps are skipped, and each step is idempotent on its own (a tag already at the sha is fine).
A failed deploy or smoke check leaves the release FAILED_AFTER_PROMOTE: run ``release rollback``.

With ``[watch]``, ``watch-baseline`` runs right before ``deploy`` and ``watch`` after ``smoke`` (docs/watch.md); a
watch FAIL rolls back by itself when configured (outcome ROLLED_BACK). A new promotion inside a ``[[freeze]]``
window, or while an emergency promotion awaits its review, is refused before any write unless it is an approved
emergency (docs/freeze-and-emergency.md).

Exactly one promotion at a time (docs/promotion.md): every step's ledger write is fenced on the claim (it fails with
PromotionSuperseded, exit 1, when another process took the claim over), and the claim is checked again right before
a ref moves and right before the deploy command runs. A claim held by a process that still runs on this host is never
taken over, not even with ``--resume``; one held on another host is taken over with ``--resume`` only once its lease
ran out (its last ledger write plus the time bound of the step it was in), or with ``--force-takeover``. The deploy
command runs in its own process group, recorded in the ledger before it runs; a resume waits for (or, with
``--kill-orphaned-deploy``, kills) a group a dead promote left running before it deploys again, and the command gets
``RELEASE_PROMOTION_ID``, the same for every run of one promotion.

Fail closed: promote needs ``[targets.production]`` with a ``promote`` or ``deploy`` command, or ``deploy =
"manual"``. Without one it refuses (exit 1) and changes nothing, because it could not deploy or smoke-check
production and PROMOTED would be a claim nobody checked. With ``deploy = "manual"`` the deploy step records that
the operator deployed by hand (and what production reports), and the smoke check still runs against the production
gateway unless ``smoke_waiver = "reason"`` is set; then the smoke step records the waiver and its reason. A command
that cannot be rendered (an unset env var behind a variable) is an exit 2 before any ref moves.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from release.config import MANUAL_DEPLOY, Target, WatchSettings
from release.errors import Blocked, GitConflict, PromotionSuperseded, UsageError
from release.ledger import ReleaseRecord, ReleaseState, StepStatus
from release.versioning import format_ref
from release.workflow import emergency as emergency_path
from release.workflow import watch as post_watch
from release.workflow.context import Context
from release.workflow.deploy import (
    KILL_GRACE_S,
    MANUAL_NOTE,
    RenderedCommand,
    Terminated,
    group_alive,
    host_id,
    is_manual,
    kill_group,
    process_start,
    run_command,
    target_command,
)
from release.workflow.freeze import active_window, pending_reviews, refuse_inside
from release.workflow.gate_runner import write_profile
from release.workflow.status import ReleaseView, evaluate_release, resolve_release
from release.workflow.target import parse_image_record, probe_identity, wait_for

STEPS = ("tag", "production-branch", "deploy", "smoke", "audit")
#: Test hook: the step after which the process kills itself (os._exit(137)); honoured only when set.
CRASH_ENV = "RELEASE_TEST_CRASH_AFTER_STEP"
PRODUCTION_TARGET = "production"
SMOKE_TIMEOUT_S = 900.0
#: The deploy command's idempotency key: one value per promotion of a version, the same on every resume of it.
PROMOTION_ID_ENV = "RELEASE_PROMOTION_ID"
#: Added to a claim's lease for clock skew between hosts and the slack between a step's bound and its ledger write.
LEASE_GRACE_S = 300.0
#: What owner_liveness says about a claim's owner.
ALIVE, DEAD, ELSEWHERE = "alive", "dead", "elsewhere"
Progress = Callable[[str], None]


def _silent(_: str) -> None:
    return None


@dataclass
class PromoteResult:
    """How a promotion ended: PROMOTED, ALREADY_PROMOTED, BLOCKED, FAILED_AFTER_PROMOTE, ROLLED_BACK (a failed
    watch rolled production back) or PLANNED (dry run)."""

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
    #: RELEASE_PROMOTION_ID, the deploy command's idempotency key (None until the promotion is claimed).
    promotion_id: str | None = None

    @property
    def exit_code(self) -> int:
        """0 when promoted (or would be), 1 when blocked or failed after promotion."""
        return 0 if self.outcome in ("PROMOTED", "ALREADY_PROMOTED", "PLANNED") else 1

    def to_json(self) -> dict[str, Any]:
        """The `release promote --json` shape."""
        from release.workflow.status import view_json

        return {"version": self.version, "outcome": self.outcome, "tag": self.tag, "sha": self.sha,
                "message": self.message, "steps": self.steps, "planned": self.planned,
                "production_branch": self.production_branch, "promotion_id": self.promotion_id,
                "status": view_json(self.view) if self.view else None}


def production_target(ctx: Context) -> Target | None:
    """The target named 'production', if configured."""
    return ctx.config.targets.get(PRODUCTION_TARGET)


def steps_for(watch: WatchSettings | None) -> tuple[str, ...]:
    """The promotion's steps: STEPS, with the post-promote watch after smoke (and its pre-deploy baseline right
    before the deploy) when [watch] is configured (docs/watch.md)."""
    if watch is None:
        return STEPS
    before = (post_watch.BASELINE_STEP,) if watch.baseline == "pre-deploy" else ()
    return ("tag", "production-branch", *before, "deploy", "smoke", post_watch.WATCH_STEP, "audit")


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


#: ``actor (pid N on HOSTNAME [BOOT.PIDNS/START])``; the bracket is absent where /proc cannot say (not Linux).
_OWNER = re.compile(r"\(pid (\d+) on ([^\[\]()]+?)(?: \[([0-9a-f]+\.\d+)/(\d+)\])?\)$")


def _owner(actor: str) -> str:
    """The claim's owner id: who, which process, where, and when it started (so a reused pid is not taken for it)."""
    pid, where, start = os.getpid(), host_id(), process_start(os.getpid())
    proof = f" [{where}/{start}]" if where and start else ""
    return f"{actor} (pid {pid} on {socket.gethostname()}{proof})"


def same_host(recorded_host_id: object, recorded_hostname: object) -> bool:
    """True when a recorded process's pid can be checked from here: the same boot and pid namespace (or, where
    neither side can tell, the same hostname)."""
    if isinstance(recorded_host_id, str) and recorded_host_id:
        return recorded_host_id == host_id()
    return host_id() is None and recorded_hostname == socket.gethostname()


def owner_liveness(owner: str | None) -> str:
    """ALIVE or DEAD for an owner whose process can be checked from here; ELSEWHERE when it cannot (another host,
    another pid namespace, or an id this tool did not write)."""
    m = _OWNER.search(owner or "")
    if m is None:
        return ELSEWHERE
    pid, hostname, where, start = int(m.group(1)), m.group(2), m.group(3), m.group(4)
    if where is not None:
        if where != host_id():
            return ELSEWHERE
        return ALIVE if process_start(pid) == start else DEAD
    if hostname != socket.gethostname():
        return ELSEWHERE
    # An id without a start time (an older crvs-release, or no /proc): the pid alone, which errs towards alive.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return DEAD
    except PermissionError:
        return ALIVE
    return ALIVE


def promotion_id(ctx: Context, version: str, sha: str) -> str:
    """RELEASE_PROMOTION_ID: sha256 of the version, the candidate sha and the hash of the claim's audit event.

    A resume takes the claim over (promotion.resumed) but does not make a new promotion.claimed event, so every run
    of one promotion gets the same key; a new claim after the release went back to PREPARED gets a new one.
    """
    claims = [e for e in ctx.ledger.audit_events() if e.action == "promotion.claimed" and e.subject == version]
    generation = claims[-1].hash if claims else "unclaimed"
    return hashlib.sha256("\0".join(("crvs-release promotion", version, sha, generation)).encode()).hexdigest()


def _step_bound_s(step: str, target: Target, watch: WatchSettings | None = None) -> float:
    """The longest a live promote may spend in step between two ledger writes."""
    if step in (post_watch.BASELINE_STEP, post_watch.WATCH_STEP) and watch is not None:
        return post_watch.step_bound_s(watch, target)
    if step == "deploy":
        return target.deploy_timeout_s + target.version_timeout_s + 2 * KILL_GRACE_S
    if step == "smoke":
        return SMOKE_TIMEOUT_S
    return 0.0


def lease_expires(ctx: Context, release: ReleaseRecord, target: Target) -> datetime:
    """When a claim held on another host may be taken over: its last ledger write plus the bound of the step it is in.

    No heartbeat is needed: a live promote writes to the ledger at least once per step and bounds every step in
    time (deploy_timeout_s and version_timeout_s, the smoke timeout), so silence past that bound means it died or
    hangs; if it hangs and wakes up, the fence stops it at its next write, ref move or deploy.
    """
    steps = ctx.ledger.steps(release.version)
    times = [t for t in (release.promotion_started_at, *(s.at for s in steps)) if t is not None]
    last = max(times) if times else ctx.now()
    bound = LEASE_GRACE_S + sum(_step_bound_s(s.step, target, ctx.config.watch) for s in steps
                                if s.status is StepStatus.STARTED)
    return last + timedelta(seconds=bound)


def _recorded_deploy(ctx: Context, version: str) -> dict[str, Any] | None:
    """The process of a deploy that was started and never finished (the ledger's "deploy started" record)."""
    recorded = {s.step: s for s in ctx.ledger.steps(version)}.get("deploy")
    if recorded is None or recorded.status is not StepStatus.STARTED:
        return None
    process = recorded.detail.get("process")
    return process if isinstance(process, dict) else None


def _claim(ctx: Context, version: str, owner: str, target: Target, *, resume: bool, force: bool,
           progress: Progress) -> None:
    """Claim the promotion, or take over a stopped one; Blocked (exit 1, nothing changed) when that is not safe.

    The rule (docs/promotion.md, "Exactly one promotion"): a live owner on this host is never taken over; a dead one
    is, with or without --resume; an owner on another host only with --resume once its lease ran out, or with
    --force-takeover; and a deploy recorded as running on another host blocks every takeover but a forced one.
    """
    if ctx.ledger.claim_promotion(version, owner, now=ctx.now()):
        return
    current = ctx.ledger.get_release(version)
    holder = current.promotion_owner or "someone else"
    if current.state is not ReleaseState.PROMOTING:
        raise Blocked(f"promotion of {version} already in progress by {holder} ({current.state.value})")
    life = owner_liveness(current.promotion_owner)
    if life == ALIVE:
        m = _OWNER.search(holder)
        pid = m.group(1) if m else "?"
        raise Blocked(f"promotion of {version} already in progress by {holder}: that process is still running on "
                      f"this host, so it is not taken over{' (not even with --resume)' if resume or force else ''}; "
                      f"wait for it to finish, or stop it (kill {pid}) and run `release promote {version}` again; "
                      "nothing was changed")
    if life == ELSEWHERE:
        if not (resume or force):
            raise Blocked(f"promotion of {version} already in progress by {holder}, which cannot be checked from "
                          f"here; if it has stopped, run `release promote {version} --resume` (docs/promotion.md)")
        if not force:
            expires = lease_expires(ctx, current, target)
            if ctx.now() < expires:
                raise Blocked(f"promotion of {version} already in progress by {holder} on another host: its lease "
                              f"runs until {expires.isoformat(timespec='seconds')} (its last ledger write plus the "
                              "time bound of the step it is in); resume after that, or pass --force-takeover once "
                              "you have made sure that process has stopped; nothing was changed")
    running = _recorded_deploy(ctx, version)
    if running is not None and not force and not same_host(running.get("host_id"), running.get("host")):
        raise Blocked(f"promotion of {version}: its deploy command (pid {running.get('pid')} on "
                      f"{running.get('host')}) was started and never recorded as finished, and it cannot be checked "
                      f"from here: run `release promote {version} --resume` on {running.get('host')}, or make sure "
                      "it has stopped and pass --force-takeover; nothing was changed")
    if not ctx.ledger.claim_promotion(version, owner, resume=True, now=ctx.now()):
        raise Blocked(f"promotion of {version} already in progress by {ctx.ledger.get_release(version).promotion_owner}"
                      " (taken over just now by another process)")
    progress(f"resuming the promotion started by {holder}")


def _plan(ctx: Context, view: ReleaseView, target: Target, command: RenderedCommand | None, tag: str,
          done: list[str], emergency: dict[str, Any] | None = None) -> list[str]:
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
    if ctx.config.watch is not None:
        text.update(post_watch.plan_lines(ctx.config.watch, target))
    lines = [("(done) " if step in done else "") + text[step] for step in steps_for(ctx.config.watch)]
    if emergency is not None:
        lines.insert(0, f"emergency promotion inside freeze window {emergency['window']['text']}, approved by "
                        f"{', '.join(emergency['approvers'])}: audit event {emergency_path.EMERGENCY_ACTION}; a "
                        "follow-up review (`release review`) is then required before the next normal release")
    return lines


def promote(ctx: Context, version: str, *, resume: bool = False, force_takeover: bool = False,
            kill_orphaned_deploy: bool = False, emergency: bool = False, reason: str | None = None,
            progress: Progress = _silent) -> PromoteResult:
    """Re-evaluate every gate, then promote exclusively and resumably; blocked means nothing changed.

    ``resume`` takes over a claim whose owner ran on another host once its lease ran out; ``force_takeover`` does
    so at once (the operator has made sure it stopped); ``kill_orphaned_deploy`` kills, instead of waiting for, a
    deploy command a dead promote left running on this host. See docs/promotion.md. ``emergency`` (with a
    ``reason``) promotes inside a freeze window once the emergency role approved (docs/freeze-and-emergency.md).
    """
    if reason is not None and not emergency:
        raise UsageError("--reason goes with --emergency")
    result = _promote(ctx, version, resume=resume or force_takeover, force=force_takeover,
                      kill_orphan=kill_orphaned_deploy, emergency=emergency, reason=reason, progress=progress)
    result.production_branch = ctx.config.release.production_branch
    return result


def _promote(ctx: Context, version: str, *, resume: bool, force: bool, kill_orphan: bool, emergency: bool,
             reason: str | None, progress: Progress) -> PromoteResult:
    actor = ctx.require_actor()
    ctx.ledger.require_intact()  # verify before deciding, even "already promoted": a tampered ledger is exit 1
    release = resolve_release(ctx, version)
    tag = format_ref(ctx.config.release.tag, release.version)
    if release.state is ReleaseState.PROMOTED:
        return PromoteResult(release.version, "ALREADY_PROMOTED", tag, ctx.git.tag_sha(tag),
                             f"release {release.version} is already promoted")
    if release.state in (ReleaseState.FAILED_AFTER_PROMOTE, ReleaseState.ROLLED_BACK):
        hint = "run `release rollback`" if release.state is ReleaseState.FAILED_AFTER_PROMOTE else \
            "prepare a new release"
        raise Blocked(f"release {release.version} is {release.state.value}; {hint}")
    # A new promotion (not a resume of one already claimed) inside a freeze window is refused before any write,
    # unless it is an approved emergency; so is a normal one while an emergency promotion awaits its review.
    fresh = release.state is ReleaseState.PREPARED
    window = active_window(ctx.config.freeze, ctx.now()) if fresh else None
    if fresh and not emergency:
        refuse_inside(ctx.config.freeze, ctx.now(), release.version)
        emergency_path.refuse_pending(ctx, f"promotion of {release.version}", besides=release.version)
    if fresh and emergency:
        emergency_path.settings(ctx)  # no [emergency] table: exit 1 before anything else is asked
    view = evaluate_release(ctx, release.version, operations=False)
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
    authorised = None
    if fresh and emergency:
        assert view.facts is not None, "a release with a candidate has facts"
        authorised = emergency_path.authorise(ctx, release.version, view.facts, actor, reason, window)
    if ctx.dry_run:
        return PromoteResult(release.version, "PLANNED", tag, sha, f"would promote {view.candidate.tag} as {tag}",
                             planned=_plan(ctx, view, production, command, tag, done, authorised), view=view)
    owner = _owner(actor)
    if authorised is not None:
        # Before the claim: a crash between the two cannot leave an emergency promotion unrecorded (the record
        # counts once a claim follows it: release.workflow.freeze.pending_reviews).
        emergency_path.record(ctx, release.version, actor, authorised)
    _claim(ctx, release.version, owner, production, resume=resume, force=force, progress=progress)
    done = ctx.ledger.completed_steps(release.version)
    key = promotion_id(ctx, release.version, sha)
    steps = _Steps(ctx, production, release.version, tag, sha, actor, progress, owner=owner, promotion_id=key,
                   kill_orphan=kill_orphan)
    result = PromoteResult(release.version, "PROMOTED", tag, sha, "", view=view, promotion_id=key)
    for step in steps_for(ctx.config.watch):
        if step in done:
            progress(f"step {step}: already done")
            result.steps.append({"step": step, "status": "skipped (already done)"})
            continue
        progress(f"step {step}")
        try:
            # Every write passes owner=: the ledger checks, inside that write's own transaction, that this process
            # still holds the claim, and raises PromotionSuperseded (writing nothing) when another one took it.
            ctx.ledger.record_step(release.version, step, StepStatus.STARTED, steps.started_detail(step),
                                   actor=actor, now=ctx.now(), owner=owner)
            ok, detail = getattr(steps, step.replace("-", "_"))()
            if not ok:
                ctx.ledger.record_step(release.version, step, StepStatus.FAILED, detail, actor=actor, now=ctx.now(),
                                       owner=owner)
                ctx.ledger.set_release_state(release.version, ReleaseState.FAILED_AFTER_PROMOTE, actor=actor,
                                             now=ctx.now(), detail={"step": step, "reason": detail.get("reason")})
                result.steps.append({"step": step, "status": "failed", **detail})
                result.outcome = "FAILED_AFTER_PROMOTE"
                result.message = (f"promotion of {release.version} failed at step {step}: {detail.get('reason')}; "
                                  "run `release rollback` to redeploy the previous production version")
                if step == post_watch.WATCH_STEP and ctx.config.watch is not None:
                    _after_watch(ctx, ctx.config.watch, result, detail, actor, progress)
                return result
            # The audit step ends the claim (PROMOTED, no longer PROMOTING), so its DONE cannot be fenced on it;
            # the step itself checked the claim right before it wrote release.promoted.
            ctx.ledger.record_step(release.version, step, StepStatus.DONE, detail, actor=actor, now=ctx.now(),
                                   owner=None if step == "audit" else owner)
        except PromotionSuperseded as exc:
            raise PromotionSuperseded(f"{exc}: step {step} and the steps after it are left to the new owner") from None
        except Terminated as exc:
            raise Terminated(exc.signum, f"promotion of {release.version} stopped by signal {exc.signum} at step "
                                         f"{step}; the deploy command's process group was stopped; run `release "
                                         f"promote {release.version}` to resume") from None
        result.steps.append({"step": step, "status": "done", **detail})
        if ctx.environ.get(CRASH_ENV) == step:
            os._exit(137)  # test hook: die like `kill -9` right after the step is recorded
    result.message = f"promoted {release.version}: {tag} at {sha[:12]}, {ctx.config.release.production_branch} moved"
    if command is None:
        result.message += f"; deploy = \"{MANUAL_DEPLOY}\": {MANUAL_NOTE}"
    if production.smoke_waiver:
        result.message += f"; smoke check waived: {production.smoke_waiver}"
    if release.version in pending_reviews(ctx.ledger.audit_events()):
        result.message += (f"; an EMERGENCY promotion: record its follow-up review (`release review {release.version} "
                           "--notes TEXT`) before the next normal release")
    return result


class _Steps:
    """The promotion steps; each returns (ok, detail) and is idempotent on its own."""

    def __init__(self, ctx: Context, target: Target, version: str, tag: str, sha: str, actor: str,
                 progress: Progress, *, owner: str, promotion_id: str, kill_orphan: bool = False) -> None:
        self.ctx, self.version, self.final_tag, self.sha, self.actor, self.progress = ctx, version, tag, sha, actor, progress
        self.branch = ctx.config.release.production_branch
        self.target = target
        self.owner, self.promotion_id, self.kill_orphan = owner, promotion_id, kill_orphan

    def _fence(self) -> None:
        """Stop (PromotionSuperseded) unless this process still holds the claim: called right before it acts."""
        self.ctx.ledger.assert_promotion_owner(self.version, self.owner)

    def started_detail(self, step: str) -> dict[str, Any]:
        if step == "production-branch":
            recorded = {s.step: s for s in self.ctx.ledger.steps(self.version)}.get(step)
            before = recorded.detail.get("from") if recorded else self.ctx.git.branch_sha(self.branch)
            return {"branch": self.branch, "from": before, "to": self.sha}
        if step == "deploy":
            # A deploy that was started and never finished keeps its process in the record until this run has
            # waited for it: a second crash before that must not forget which group may still be deploying.
            process = _recorded_deploy(self.ctx, self.version)
            return {"process": process} if process is not None else {}
        return {}

    def tag(self) -> tuple[bool, dict[str, Any]]:
        self._fence()
        # The witness: the audit head goes into the tag's annotation, where the ledger cannot rewrite it (a Sigstore
        # Rekor checkpoint); `release audit verify --against <tag>` proves the chain still holds that event.
        head = self.ctx.ledger.audit_checkpoint()
        created = self.ctx.git.create_tag(self.final_tag, self.sha,
                                          f"release {self.version}\n\n{head.witness_line()}")
        witness = {"audit_head": head.witness_line()} if created else {}
        return True, {"tag": self.final_tag, "sha": self.sha, "created": created, **witness}

    def production_branch(self) -> tuple[bool, dict[str, Any]]:
        detail = self.started_detail("production-branch")
        self._fence()
        moved = self.ctx.git.fast_forward(self.branch, self.sha)
        return True, {**detail, "moved": moved}

    def deploy(self) -> tuple[bool, dict[str, Any]]:
        target = self.target
        found = production_command(target)
        assert found is not None, "require_production_target refuses a target without a command"
        key, template = found
        base: dict[str, Any] = {"target": target.name, "url": target.gateway, "version": self.version,
                                "commit": self.sha, "tag": self.final_tag, "promotion_id": self.promotion_id}
        if is_manual(template):
            return True, self._manual_deploy(base)
        command = target_command(self.ctx.config, target, key, version=self.version, commit=self.sha,
                                 tag=self.final_tag, environ=self.ctx.environ)
        argv = command.argv
        previous = self._settle_previous_deploy()
        if previous is not None:
            base["previous_deploy"] = previous
        self._fence()  # right before the hook: a superseded process must not deploy
        env = {**self.ctx.environ, PROMOTION_ID_ENV: self.promotion_id}

        def started(pid: int, pgid: int) -> None:
            # "deploy started": written, fenced, after the process exists and before the command runs (the
            # launcher waits for this), so a resume after a kill -9 always knows which group may be deploying.
            process = {"pid": pid, "pgid": pgid, "host": socket.gethostname(), "host_id": host_id(),
                       "start": process_start(pid), "started_at": self.ctx.now().isoformat(), "owner": self.owner}
            self.ctx.ledger.record_step(self.version, "deploy", StepStatus.STARTED,
                                        {**base, "argv": list(argv), "process": process}, actor=self.actor,
                                        now=self.ctx.now(), owner=self.owner)

        self.progress(f"deploy: {' '.join(argv)}")
        outcome = run_command(argv, self.ctx.root, timeout_s=self.target.deploy_timeout_s, env=env, on_start=started)
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

    def _settle_previous_deploy(self) -> dict[str, Any] | None:
        """Wait for (or kill) a deploy command a dead owner left running on this host; what was found, or None.

        Never two deploys at once: the group recorded in "deploy started" is waited for until it has exited, and
        killed when its deploy_timeout_s (counted from when it started) has passed, as its own promote would have.
        """
        process = _recorded_deploy(self.ctx, self.version)
        if process is None:
            return None
        try:
            pid, pgid = int(process.get("pid") or 0), int(process.get("pgid") or 0)
        except (TypeError, ValueError):
            return None
        if pgid <= 0:
            return None
        seen: dict[str, Any] = {"pid": pid, "pgid": pgid, "host": process.get("host"), "owner": process.get("owner")}
        if not same_host(process.get("host_id"), process.get("host")):
            # Reached only with --force-takeover: _claim refuses otherwise. The operator said it has stopped.
            self.progress(f"deploy: the previous deploy command ran on {process.get('host')} and cannot be checked "
                          "from here; going on (--force-takeover)")
            return {**seen, "outcome": "on another host, not checked (--force-takeover)"}
        start = process.get("start")

        def running() -> bool:
            leader = process_start(pgid)
            if start and leader is not None and leader != start:
                return False  # the pgid now belongs to a process that started later: the recorded group is gone
            return group_alive(pgid)

        if not running():
            return {**seen, "outcome": "had exited"}
        who = f"{process.get('owner') or 'a previous promote'} (pid {pid}, process group {pgid})"
        if self.kill_orphan:
            self.progress(f"deploy: killing the deploy command left running by {who} (--kill-orphaned-deploy)")
            kill_group(pgid)
            return {**seen, "outcome": "killed (--kill-orphaned-deploy)"}
        timeout = self.target.deploy_timeout_s
        try:
            elapsed = (self.ctx.now() - datetime.fromisoformat(str(process.get("started_at")))).total_seconds()
        except (TypeError, ValueError):
            elapsed = 0.0
        remaining = min(timeout, max(0.0, timeout - elapsed))
        self.progress(f"deploy: waiting for the deploy command left running by {who} to finish, at most "
                      f"{remaining:.0f}s more (deploy_timeout_s); --kill-orphaned-deploy stops it instead")
        deadline = time.monotonic() + remaining
        while running():
            if time.monotonic() >= deadline:
                self.progress(f"deploy: the deploy command left running by {who} outlived deploy_timeout_s; "
                              "killing its process group")
                kill_group(pgid)
                return {**seen, "outcome": f"killed after deploy_timeout_s ({timeout:g}s)"}
            time.sleep(0.2)
        return {**seen, "outcome": "waited until it exited"}

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
        events = self.ctx.ledger.audit_events()
        already = [e for e in events if e.action == "release.promoted" and e.subject == self.version]
        # An emergency promotion says so in release.promoted (read from the ledger: resume-safe).
        emergency = emergency_path.recorded(self.ctx, self.version) if self.version in pending_reviews(events) \
            else None
        marked = {"emergency": emergency} if emergency else {}
        self._fence()  # the last act: a superseded process must not announce the promotion
        if not already:
            self.ctx.ledger.append_audit(self.actor, "release.promoted", self.version,
                                         {"tag": self.final_tag, "sha": self.sha, "branch": self.branch,
                                          "promotion_id": self.promotion_id, **self._how_it_was_deployed(),
                                          **marked}, now=self.ctx.now())
        self.ctx.ledger.set_release_state(self.version, ReleaseState.PROMOTED, actor=self.actor, now=self.ctx.now())
        return True, {"event": "release.promoted", **({"emergency": True} if emergency else {})}

    def watch_baseline(self) -> tuple[bool, dict[str, Any]]:
        assert self.ctx.config.watch is not None, "steps_for adds the watch steps only with [watch]"
        return post_watch.measure_baseline(self.ctx, self.target, self.ctx.config.watch, self.version, self.progress)

    def watch(self) -> tuple[bool, dict[str, Any]]:
        assert self.ctx.config.watch is not None, "steps_for adds the watch steps only with [watch]"
        recorded = {s.step: s for s in self.ctx.ledger.steps(self.version)}.get(post_watch.BASELINE_STEP)
        return post_watch.watch(self.ctx, self.target, self.ctx.config.watch, self.version,
                                recorded.detail if recorded is not None else None, self.progress)

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


def _after_watch(ctx: Context, settings: WatchSettings, result: PromoteResult, detail: dict[str, Any], actor: str,
                 progress: Progress) -> None:
    """A failed watch: audit and notify, then roll back when it is a FAIL and [watch] rollback = true."""
    outcome = post_watch.after_failure(ctx, settings, result.version, detail, actor, progress)
    result.steps[-1].update(outcome)
    if outcome.get("rollback") == "done":
        back = outcome.get("rollback_result") or {}
        result.outcome = "ROLLED_BACK"
        result.message = (f"promotion of {result.version} failed at step watch: {detail.get('reason')}; rolled back "
                          f"automatically: {back.get('message')}")
    elif outcome.get("rollback") == "failed":
        result.message += f"; the automatic rollback failed: {outcome.get('rollback_error') or 'see the audit log'}"


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
