"""Roll production back to the previous version: redeploy it, move the production branch back, audit.

Exit codes: 0 rolled back (or planned with --dry-run); 1 when there is nothing to roll back (no promoted release)
or nothing to roll back to (the production branch did not exist before the promotion), or when the redeploy
fails (then the branch is left where it is); 2 for an unknown --to version or one that is not an ancestor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from release.errors import Blocked, InputError
from release.ledger import ReleaseRecord, ReleaseState
from release.versioning import format_ref, parse_version_tag
from release.workflow.context import Context
from release.workflow.deploy import command_argv, run_command
from release.workflow.promote import production_target
from release.workflow.status import normalise_version
from release.workflow.target import wait_for

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


def rollback(ctx: Context, *, to: str | None = None, progress: Progress = _silent) -> RollbackResult:
    """Redeploy the previous production version, move the production branch back (compare-and-set), audit."""
    actor = ctx.require_actor()
    release = current_production_release(ctx)
    fmt, branch = ctx.config.release.tag, ctx.config.release.production_branch
    current_sha = ctx.git.tag_sha(format_ref(fmt, release.version))
    if current_sha is None:
        raise Blocked(f"release {release.version} has no tag {format_ref(fmt, release.version)}; nothing to roll back")
    to_version, to_sha = _previous(ctx, release, to, current_sha)
    to_tag = format_ref(fmt, to_version) if to_version else to_sha[:12]
    target = production_target(ctx)
    template = (target.promote or target.deploy) if target else None
    argv = command_argv(template, version=to_version or to_sha[:12], commit=to_sha, tag=to_tag) if template else None
    result = RollbackResult(release.version, to_version, to_sha, "ROLLED_BACK", "")
    if ctx.dry_run:
        result.outcome = "PLANNED"
        result.planned = [f"deploy {to_tag} to production: {' '.join(argv)}" if argv
                          else "deploy: skipped (no production target command)",
                          f"move {branch} back from {current_sha[:12]} to {to_sha[:12]} (compare-and-set)",
                          f"audit event release.rolled_back; release {release.version} state ROLLED_BACK"]
        result.message = f"would roll back {release.version} to {to_version or to_sha[:12]}"
        return result
    if argv is not None and target is not None:
        progress(f"redeploy {to_tag}: {' '.join(argv)}")
        outcome = run_command(argv, ctx.root, env=ctx.environ)
        seen = wait_for(target, to_version or "", to_sha, target.version_timeout_s, environ=ctx.environ) if outcome.ok else None
        step = {"step": "deploy", "argv": list(argv), "exit_code": outcome.exit_code,
                "reported": seen.to_json() if seen else None}
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
                            {"to_version": to_version, "to_sha": to_sha, "branch": branch}, now=ctx.now())
    ctx.ledger.set_release_state(release.version, ReleaseState.ROLLED_BACK, actor=actor, now=ctx.now(),
                                 detail={"to_version": to_version, "to_sha": to_sha})
    result.message = f"rolled back {release.version}: production runs {to_tag} again, {branch} at {to_sha[:12]}"
    return result
