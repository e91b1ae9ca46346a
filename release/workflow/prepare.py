"""Cut a release candidate: version, release branch, rc tag, ledger rows, deploy, gates, report.

How commits reach a candidate: ``prepare`` creates ``release/vX.Y.Z`` from HEAD only when it does not exist.
Once it exists, the candidate is always the branch's head; prepare never moves it. To put a fix into the
release, commit it on the release branch (or cherry-pick / merge it there) and run ``release prepare`` again:
the new head gets the next ``-rc.N`` tag and earlier evidence becomes STALE by its commit binding. Running
prepare again on the same head reuses the existing rc tag and candidate (idempotent). Prepare never commits,
never force-pushes and never rewrites history; the changelog section is written under ``.release/reports/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release.changelog import build_changelog, render_changelog
from release.config import Target
from release.errors import InputError, LedgerConflict
from release.gates import GateState
from release.ledger import CandidateRecord
from release.planning import VersionPlan, plan_version
from release.workflow.context import Context
from release.workflow.deploy import command_argv, require_command_variables, run_command
from release.workflow.emergency import refuse_pending as refuse_pending_review
from release.workflow.gate_runner import (
    GateOutcome,
    candidate_version,
    deploy_record_path,
    require_gate_secrets,
    run_automated_gates,
)
from release.workflow.status import ReleaseView, evaluate_release
from release.workflow.target import TargetIdentity, parse_image_record, probe_identity, wait_for

Progress = Callable[[str], None]


def _silent(_: str) -> None:
    return None


@dataclass
class PrepareResult:
    """What prepare did (or, with dry_run, would do)."""

    version: str
    previous_version: str | None
    branch: str
    branch_created: bool
    tag: str
    rc: int
    sha: str
    tag_created: bool
    dry_run: bool
    production_ref: str | None = None
    production_note: str | None = None
    planned: list[str] = field(default_factory=list)
    deploys: list[dict[str, Any]] = field(default_factory=list)
    gates: list[GateOutcome] = field(default_factory=list)
    changelog_path: Path | None = None
    reports: dict[str, str] = field(default_factory=dict)
    view: ReleaseView | None = None

    @property
    def gates_ok(self) -> bool:
        """True when no automated gate that ran ended other than PASSED."""
        return all(g.state is GateState.PASSED for g in self.gates)

    def to_json(self) -> dict[str, Any]:
        """The `release prepare --json` shape."""
        from release.workflow.status import view_json

        return {"released": True, "version": self.version, "previous_version": self.previous_version,
                "production_ref": self.production_ref, "production_note": self.production_note,
                "branch": self.branch,
                "branch_created": self.branch_created, "tag": self.tag, "rc": self.rc, "sha": self.sha,
                "tag_created": self.tag_created, "dry_run": self.dry_run, "planned": self.planned,
                "deploys": self.deploys, "gates": [g.to_json() for g in self.gates],
                "changelog": str(self.changelog_path) if self.changelog_path else None,
                "reports": self.reports, "status": view_json(self.view) if self.view else None}


def _candidate_plan(ctx: Context, bump: str, explicit: str | None) -> tuple[VersionPlan, bool]:
    """Plan from HEAD; if the release branch exists, re-plan from its head (the candidate is the branch head)."""
    plan = plan_version(ctx.config, ctx.git, bump=bump, explicit=explicit, environ=ctx.environ)
    if ctx.git.branch_sha(plan.branch) is None:
        return plan, True
    return plan_version(ctx.config, ctx.git, explicit=str(plan.next_version), until=plan.branch,
                        environ=ctx.environ), False


#: How many dirty paths the refusal names before "and N more".
DIRTY_PATHS_SHOWN = 20


def refuse_dirty_tree(ctx: Context) -> None:
    """InputError naming the untracked and modified files: a candidate is a commit, so they would not be in it.

    Right after `release init`, release.toml itself is untracked: the message says to commit it.
    """
    paths = ctx.git.dirty_paths()
    if not paths and not ctx.git.is_dirty():
        return
    shown = ", ".join(f"{path} ({state})" for state, path in paths[:DIRTY_PATHS_SHOWN])
    more = f" and {len(paths) - DIRTY_PATHS_SHOWN} more" if len(paths) > DIRTY_PATHS_SHOWN else ""
    message = (f"{ctx.root}: the working tree has uncommitted or untracked changes; commit or stash them before "
               f"preparing a release: {shown or 'see git status'}{more}")
    config = _relative(ctx.config.path, ctx.root)
    if config is not None and any(state == "untracked" and (path == config or (path.endswith("/")
                                  and config.startswith(path))) for state, path in paths):
        message += (f"; {config} is not committed yet (as after `release init`): commit it with "
                    f"`git add {config} && git commit -m \"chore: add release configuration\"`")
    raise InputError(message)


def _relative(path: Path, root: Path) -> str | None:
    """`path` relative to the repository root, with '/' separators as git prints it; None if outside it."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def deploy_targets(ctx: Context) -> list[str]:
    """Names of the targets the automated gates run against, in config order, without repeats."""
    names: list[str] = []
    for gate in ctx.config.gates.values():
        if gate.automated and gate.target not in names:
            names.append(gate.target)
    return names


def prepare(ctx: Context, *, bump: str = "auto", explicit: str | None = None, deploy: bool = True,
            gates: bool = True, progress: Progress = _silent) -> PrepareResult:
    """Cut (or reuse) the candidate at the release branch head, deploy it, run the automated gates, report."""
    actor = ctx.require_actor()
    refuse_dirty_tree(ctx)
    refuse_pending_review(ctx, "prepare")  # an emergency promotion is reviewed before the next normal release
    if gates:  # a gate that cannot log in would only end in ERROR: say so before cutting anything
        require_gate_secrets(ctx, [g for g in ctx.config.gates.values() if g.automated])
    if deploy:  # a deploy command that cannot be rendered (an unset variable) would fail after tagging: say so now
        require_command_variables(ctx.config, [ctx.config.targets[n] for n in deploy_targets(ctx)],
                                  environ=ctx.environ)
    plan, new_branch = _candidate_plan(ctx, bump, explicit)
    version, previous = str(plan.next_version), (str(plan.last_version) if plan.last_version else None)
    sha = plan.head
    result = PrepareResult(version=version, previous_version=previous, branch=plan.branch,
                           branch_created=new_branch, tag=plan.rc_tag, rc=plan.rc, sha=sha,
                           tag_created=not plan.rc_reused, dry_run=ctx.dry_run,
                           production_ref=plan.production_ref, production_note=plan.production_note)
    if plan.production_note:
        progress(plan.production_note)
    try:
        existing = ctx.ledger.get_release(version)
    except InputError:
        existing = None
    if existing is not None and existing.state.value not in ("PREPARED",):
        raise LedgerConflict(f"release {version} is {existing.state.value}; it cannot take a new candidate")
    section = preflight(ctx, plan, existing_release=existing is not None, deploy=deploy, gates=gates)
    progress(f"version {version} (from {previous or 'no production version'}, {plan.bump}); "
             f"candidate {plan.rc_tag} at {sha[:12]} on {plan.branch}")
    # The first writes. Each ref this prepare creates is noted, so that a failure before the candidate is recorded
    # deletes it again: prepare leaves no rc tag or release branch that the ledger does not know.
    created: list[tuple[str, str]] = []
    try:
        if ctx.git.ensure_branch(plan.branch, sha) and not ctx.dry_run:
            created.append(("heads", plan.branch))
        if ctx.git.create_tag(plan.rc_tag, sha, f"release candidate {plan.rc_tag}") and not ctx.dry_run:
            created.append(("tags", plan.rc_tag))
        if not ctx.dry_run:
            if existing is None:  # release and first candidate in one transaction: never a release without one
                candidate = ctx.ledger.create_release_with_candidate(
                    version, preparer=actor, previous_version=previous, rc=plan.rc, tag=plan.rc_tag, sha=sha,
                    now=ctx.now())[1]
            else:
                candidate = ctx.ledger.add_candidate(version, rc=plan.rc, tag=plan.rc_tag, sha=sha,
                                                     created_by=actor, now=ctx.now())
    except BaseException:  # Ctrl-C included: the refs go, the error (or the interrupt) goes on
        _roll_back(ctx, created, sha, progress)
        raise
    report_dir = ctx.reports_dir / plan.rc_tag
    if ctx.dry_run:
        result.planned.extend(ctx.git.planned())
        if existing is None:
            result.planned.append(f"ledger: record release {version} prepared by {actor}")
        result.planned.append(f"ledger: record candidate {plan.rc_tag} at {sha[:12]} (reused if already recorded)")
        result.planned.append(f"write changelog section to {report_dir / 'CHANGELOG.md'}")
        from release.workflow.deploy import MANUAL_NOTE, is_manual

        for name in deploy_targets(ctx) if deploy else ():
            target = ctx.config.targets[name]
            if is_manual(target.deploy):
                result.planned.append(f"deploy to {name}: by hand (deploy = \"manual\"; {MANUAL_NOTE})")
            elif target.deploy:
                argv = command_argv(target.deploy, version=candidate_version_text(version, plan.rc), commit=sha,
                                    tag=plan.rc_tag, target=name, variables=ctx.config.variables,
                                    environ=ctx.environ, source=target.source, where=f"targets.{name}.deploy")
                result.planned.append(f"deploy to {name}: {' '.join(argv)}")
            result.planned.append(f"wait up to {target.version_timeout_s:g}s for {target.name} to report "
                                  f"{candidate_version_text(version, plan.rc)} ({_identity_text(target)})")
        if gates:
            result.planned.extend(f"run gate {g.name} ({g.kind})" for g in ctx.config.gates.values() if g.automated)
        result.planned.append(f"render the report to {report_dir}/report.html and report.md")
        return result
    result.rc, result.tag = candidate.rc, candidate.tag
    report_dir = ctx.reports_dir / candidate.tag
    report_dir.mkdir(parents=True, exist_ok=True)
    result.changelog_path = report_dir / "CHANGELOG.md"
    result.changelog_path.write_text(section, encoding="utf-8")
    forced: dict[str, str] = {}
    if deploy or gates:
        forced = _deploy_and_wait(ctx, candidate, result, deploy=deploy, progress=progress)
    if gates:
        result.gates = run_automated_gates(ctx, candidate, forced_errors=forced, progress=progress)
    result.view = evaluate_release(ctx, version)
    result.reports = write_reports(ctx, result.view, report_dir)
    progress(f"report: {result.reports.get('html')}")
    return result


def preflight(ctx: Context, plan: VersionPlan, *, existing_release: bool, deploy: bool, gates: bool) -> str:
    """Everything that could fail after the first git or ledger write, checked before it; the changelog section.

    Before this, prepare has checked the actor, the working tree, the gates' extras and secrets and the deploy
    commands' variables. Here: the branch and tag names git would refuse, each [report] text rendered (through
    the sandbox, within its size bound) with the candidate's real values, the changelog section rendered, an rc
    number the ledger already gave another commit, and every folder prepare writes to: the reports folder,
    the candidate's folder under .release/runs (deploy records, gate runs) and the evidence store. In a dry run
    nothing is created: the folders must be creatable.
    """
    from release.workflow.gate_runner import require_writable_dir

    version, previous = str(plan.next_version), (str(plan.last_version) if plan.last_version else None)
    ctx.git.require_ref_name("heads", plan.branch)
    ctx.git.require_ref_name("tags", plan.rc_tag)
    for name in ("risk", "impact", "implementation_plan", "backout_plan"):
        ctx.config.report.render(name, version=version, previous_version=previous, tag=plan.rc_tag, commit=plan.head)
    section = render_changelog(build_changelog(version, previous, plan.commits, ctx.now().date()))
    if existing_release:
        for known in ctx.ledger.candidates(version):
            if known.rc == plan.rc and known.sha != plan.head:
                raise LedgerConflict(f"release {version} already has candidate rc.{known.rc} ({known.tag}) at "
                                     f"{known.sha[:12]}, not {plan.head[:12]}: was tag {plan.rc_tag} deleted by "
                                     f"hand? Restore it at {known.sha[:12]} before preparing again")
    create = not ctx.dry_run
    require_writable_dir(ctx.reports_dir / plan.rc_tag, "the reports folder", create=create)
    if deploy or gates:
        require_writable_dir(ctx.work_dir / candidate_version_text(version, plan.rc), "the runs folder",
                             create=create)
    if gates:
        require_writable_dir(ctx.ledger.evidence_root, "the evidence store", create=create)
    return section


def _roll_back(ctx: Context, created: list[tuple[str, str]], sha: str, progress: Progress) -> None:
    """Delete the refs this prepare created (newest first), each only if still where it was made."""
    for kind, name in reversed(created):
        what = "tag" if kind == "tags" else "branch"
        try:
            gone = ctx.git.delete_created_ref(kind, name, sha)
        except Exception as exc:  # the original error matters more; say what is left behind
            gone, why = False, f": {exc}"
        else:
            why = ""
        if gone:
            progress(f"rolled back: deleted {what} {name}, which this prepare had created")
        else:
            progress(f"could not roll back {what} {name}{why}; delete it by hand if nothing records it")


def candidate_version_text(version: str, rc: int) -> str:
    """'X.Y.Z-rc.N': what a target running the candidate reports."""
    return f"{version}-rc.{rc}"


def _deploy_and_wait(ctx: Context, candidate: CandidateRecord, result: PrepareResult, *, deploy: bool,
                     progress: Progress) -> dict[str, str]:
    """Deploy the candidate to each gate target and wait for it; target name -> reason its gates are ERROR."""
    from release.workflow.deploy import MANUAL_NOTE, is_manual, target_command

    forced: dict[str, str] = {}
    want = candidate_version(candidate)
    for name in deploy_targets(ctx):
        target = ctx.config.targets[name]
        record: dict[str, Any] = {"target": name, "url": target.gateway}
        if deploy and is_manual(target.deploy):
            # deploy = "manual": the operator deploys by hand; the wait below still checks what the target reports.
            record.update(manual=MANUAL_NOTE)
            progress(f"deploy {candidate.tag} to {name}: by hand ({MANUAL_NOTE})")
            ctx.ledger.append_audit(ctx.actor or "release", "candidate.deployed", f"{candidate.version}/rc.{candidate.rc}",
                                    {"target": name, "manual": MANUAL_NOTE}, now=ctx.now())
        elif deploy and target.deploy:
            command = target_command(ctx.config, target, "deploy", version=want, commit=candidate.sha,
                                     tag=candidate.tag, environ=ctx.environ)
            argv, variables = command.argv, dict(command.variables)
            progress(f"deploy {candidate.tag} to {name}: {' '.join(argv)}")
            outcome = run_command(argv, ctx.root, timeout_s=target.deploy_timeout_s, env=ctx.environ)
            images = parse_image_record(outcome.output)
            record.update(command=list(argv), variables=variables, exit_code=outcome.exit_code, images=images)
            ctx.ledger.append_audit(ctx.actor or "release", "candidate.deployed", f"{candidate.version}/rc.{candidate.rc}",
                                    {"target": name, "argv": list(argv), "variables": variables,
                                     "exit_code": outcome.exit_code, "images": images}, now=ctx.now())
            _keep_deploy_record(ctx, candidate, name, list(argv), outcome.exit_code, images, variables)
            if images:
                progress(f"deployed to {name}: " + ", ".join(f"{k}={v}" for k, v in images.items()))
            if not outcome.ok:
                forced[name] = f"deploy to {name} failed: {outcome.describe()}"
                record["error"] = forced[name]
                result.deploys.append(record)
                progress(forced[name])
                continue
        progress(f"waiting up to {target.version_timeout_s:g}s for {name} to report {want}")
        seen: TargetIdentity | None = wait_for(target, want, candidate.sha, target.version_timeout_s, environ=ctx.environ)
        if seen is None:
            last = probe_identity(target, environ=ctx.environ)
            now = f"it reports {last.identity.version}" if last.identity else last.problem
            forced[name] = (f"target never reported the candidate: {_identity_text(target)} did not show {want} "
                            f"within {target.version_timeout_s:g}s ({now})")
            record["error"] = forced[name]
            progress(forced[name])
        else:
            record["reported"] = seen.to_json()
        result.deploys.append(record)
    return forced


def _identity_text(target: Target) -> str:
    spec = target.identity
    if spec.kind == "command":
        return f"identity command {spec.command!r}"
    if spec.kind == "json":
        return f"key {spec.key!r} of {spec.json_url}"
    return f"the {spec.header} header of {target.gateway}{spec.path}"


def _keep_deploy_record(ctx: Context, candidate: CandidateRecord, target: str, argv: list[str],
                        exit_code: int | None, images: dict[str, str], variables: dict[str, str]) -> None:
    """Keep what the deploy step recorded, so each gate run's evidence carries the deployed image tags."""
    import json

    path = deploy_record_path(ctx, candidate, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"target": target, "argv": argv, "exit_code": exit_code, "images": images,
                                "variables": variables}, indent=2, sort_keys=True), encoding="utf-8")


def write_reports(ctx: Context, view: ReleaseView, folder: Path) -> dict[str, str]:
    """Render the full change record (charts included) as HTML and Markdown into folder; returns format -> path."""
    from release.report.record import change_record_data, render_record

    data = change_record_data(ctx, view.release.version)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for fmt, name in (("html", "report.html"), ("md", "report.md")):
        path = folder / name
        path.write_bytes(render_record(data, fmt))
        paths[fmt] = str(path)
    from release.notify import deliver_now
    from release.workflow.snapshots import snapshot

    snapshot(ctx, view.release.version, "prepare", data)  # the stored version the board reads and approves
    deliver_now(ctx)  # candidate.ready (and blocked); the outbox keeps what a dead receiver did not take
    return paths
