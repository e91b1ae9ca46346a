"""Roll production back to the previous version: redeploy it, move the production branch back, audit.

Exit codes: 0 rolled back (or planned with --dry-run); 1 when there is nothing to roll back (no promoted release)
or nothing to roll back to (the production branch did not exist before the promotion), while a promotion is in
progress (a release is PROMOTING: rolling back would run a second production deploy beside its one), when there is no
``[targets.production]`` with a command (as promote, it refuses and changes nothing), or when the redeploy fails
(then the branch is left where it is); 2 for an unknown --to version or one that is not an ancestor, or a command
that cannot be rendered (an unset env var behind a variable).

With ``deploy = "manual"`` on the production target, rollback cannot redeploy: it moves the production branch back,
records that the operator must redeploy the previous version by hand, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from release.errors import Blocked, InputError
from release.ledger import ReleaseRecord, ReleaseState
from release.versioning import format_ref, parse_version_tag
from release.workflow.context import Context
from release.workflow.deploy import is_manual, run_command, target_command
from release.workflow.promote import production_command, require_production_target
from release.workflow.status import normalise_version
from release.workflow.target import parse_image_record, wait_for

Progress = Callable[[str], None]


def _silent(_: str) -> None:
    return None


@dataclass
class RollbackResult:
    """What rollback did or would do."""

    version: str
    to_version: str | None
    to_sha: str
    outcome: str  # ROLLED_BACK | PLANNED | FAILED
    message: str
    planned: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 rolled back or planned, 1 failed."""
        return 1 if self.outcome == "FAILED" else 0

    def to_json(self) -> dict[str, Any]:
        """The `release rollback --json` shape."""
        return {"version": self.version, "to_version": self.to_version, "to_sha": self.to_sha,
                "outcome": self.outcome, "message": self.message, "planned": self.planned, "steps": self.steps}


def current_production_release(ctx: Context) -> ReleaseRecord:
    """The newest promoted (or failed-after-promote) release; Blocked when there is none."""
    live = [r for r in ctx.ledger.list_releases()
            if r.state in (ReleaseState.PROMOTED, ReleaseState.FAILED_AFTER_PROMOTE)]
    if not live:
        raise Blocked("nothing to roll back: no promoted release in the ledger")
    return max(live, key=lambda r: (r.promotion_started_at or r.created_at))


def _previous(ctx: Context, release: ReleaseRecord, to: str | None, current_sha: str) -> tuple[str | None, str]:
    """(previous version, its sha) to roll back to."""
    fmt = ctx.config.release.tag
    if to is not None:
        version = normalise_version(ctx, to)
        sha = ctx.git.tag_sha(format_ref(fmt, version))
        if sha is None:
            raise InputError(f"cannot roll back to {version}: there is no tag {format_ref(fmt, version)}")
        if sha == current_sha or not ctx.git.is_ancestor(sha, current_sha):
            raise InputError(f"cannot roll back to {version}: it is not an earlier version of {release.version}")
        return version, sha
    steps = {s.step: s for s in ctx.ledger.steps(release.version)}
    before = steps["production-branch"].detail.get("from") if "production-branch" in steps else None
    if not before:
        raise Blocked(f"nothing to roll back to: {ctx.config.release.production_branch} did not exist before "
                      f"{release.version} was promoted")
    previous = release.previous_version
    if previous is None:
        tagged = [parse_version_tag(t, fmt) for t in ctx.git.tags_at(before)]
        finals = sorted(v for v in tagged if v is not None and not v.prerelease)
        previous = str(finals[-1]) if finals else None
    return previous, str(before)


def _refuse_during_promotion(ctx: Context) -> None:
    """Blocked while any release is PROMOTING: production gets one deploy at a time (docs/promotion.md)."""
    for record in ctx.ledger.list_releases():
        if record.state is ReleaseState.PROMOTING:
            raise Blocked(f"rollback refused: release {record.version} is being promoted (PROMOTING, by "
                          f"{record.promotion_owner or 'someone'}), and rolling back now would deploy production "
                          f"a second time beside it; let it finish or resume it (`release promote {record.version} "
                          "--resume`), then roll back; nothing was changed")


def rollback(ctx: Context, *, to: str | None = None, progress: Progress = _silent) -> RollbackResult:
    """Redeploy the previous production version, move the production branch back (compare-and-set), audit."""
    actor = ctx.require_actor()
    _refuse_during_promotion(ctx)
    release = current_production_release(ctx)
    fmt, branch = ctx.config.release.tag, ctx.config.release.production_branch
    current_sha = ctx.git.tag_sha(format_ref(fmt, release.version))
    if current_sha is None:
        raise Blocked(f"release {release.version} has no tag {format_ref(fmt, release.version)}; nothing to roll back")
    to_version, to_sha = _previous(ctx, release, to, current_sha)
    to_tag = format_ref(fmt, to_version) if to_version else to_sha[:12]
    target = require_production_target(ctx, "rollback")  # fail closed, as promote: no target, nothing changes
    found = production_command(target)
    assert found is not None, "require_production_target refuses a target without a command"
    key, template = found
    # deploy = "manual": nothing to run; the operator redeploys the previous version by hand (recorded below).
    manual = f"roll back by hand: redeploy {to_tag} to {target.name}; not run by crvs-release"
    command = None if is_manual(template) else target_command(
        ctx.config, target, key, version=to_version or to_sha[:12], commit=to_sha, tag=to_tag, environ=ctx.environ)
    result = RollbackResult(release.version, to_version, to_sha, "ROLLED_BACK", "")
    if ctx.dry_run:
        result.outcome = "PLANNED"
        result.planned = [f"deploy {to_tag} to {target.name}: {' '.join(command.argv)}" if command
                          else f"deploy: {manual}",
                          f"move {branch} back from {current_sha[:12]} to {to_sha[:12]} (compare-and-set)",
                          f"audit event release.rolled_back; release {release.version} state ROLLED_BACK"]
        result.message = f"would roll back {release.version} to {to_version or to_sha[:12]}"
        return result
    deployed: dict[str, Any] = {"manual": manual}
    if command is None:
        progress(manual)
        result.steps.append({"step": "deploy", "manual": manual})
    else:
        argv = command.argv
        progress(f"redeploy {to_tag}: {' '.join(argv)}")
        outcome = run_command(argv, ctx.root, timeout_s=target.deploy_timeout_s, env=ctx.environ)
        seen = wait_for(target, to_version or "", to_sha, target.version_timeout_s, environ=ctx.environ) if outcome.ok else None
        images = parse_image_record(outcome.output)
        step = {"step": "deploy", "argv": list(argv), "variables": dict(command.variables),
                "exit_code": outcome.exit_code, "images": images, "reported": seen.to_json() if seen else None}
        deployed = {k: step[k] for k in ("argv", "variables", "images")}
        result.steps.append(step)
        if seen is None:
            result.outcome = "FAILED"
            reason = outcome.describe() if not outcome.ok else f"{target.name} never reported {to_tag}"
            result.message = f"rollback of {release.version} failed: {reason}; {branch} was not moved"
            ctx.ledger.append_audit(actor, "release.rollback_failed", release.version, {**step, "reason": reason},
                                    now=ctx.now())
            return result
    if ctx.git.branch_sha(branch) != to_sha:
        ctx.git.move_branch_back(branch, to_sha, expected_current=current_sha)
    result.steps.append({"step": "production-branch", "from": current_sha, "to": to_sha})
    ctx.ledger.append_audit(actor, "release.rolled_back", release.version,
                            {"to_version": to_version, "to_sha": to_sha, "branch": branch, "deploy": deployed},
                            now=ctx.now())
    ctx.ledger.set_release_state(release.version, ReleaseState.ROLLED_BACK, actor=actor, now=ctx.now(),
                                 detail={"to_version": to_version, "to_sha": to_sha})
    if command is None:
        result.message = (f"rolled back {release.version}: {branch} at {to_sha[:12]} ({to_tag}); production's deploy "
                          f"is manual: redeploy {to_tag} to {target.name} by hand now")
    else:
        result.message = f"rolled back {release.version}: production runs {to_tag} again, {branch} at {to_sha[:12]}"
    return result
