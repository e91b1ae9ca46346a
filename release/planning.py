"""Version planning: read git and config, decide the next version and candidate tag. Shared by version and prepare.

It answers right or refuses (exit 2) where it cannot be sure; docs/versioning.md lists each refusal and its fix:
- a shallow clone (its history and tags are cut, so the version would be wrong);
- version tags but no production branch, neither local nor on the remote (it would say "first release");
- a version whose final tag exists already (the clash would surface only at promote).
"Nothing to release" is NothingToRelease (NothingToPlan here): the CLI reports it and exits 0.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import semver

from release.config import Config
from release.errors import GitConflict, InputError, NothingToRelease
from release.gitproject import GitProject
from release.versioning import (
    Bump,
    ParsedCommit,
    bump_for,
    candidate_tag,
    existing_rcs,
    format_ref,
    next_version,
    release_branch,
)

DEFAULT_REMOTE = "origin"


class ShallowRepository(InputError):
    """The clone is shallow: versions computed from it would be wrong."""


class ProductionBranchMissing(InputError):
    """Version tags exist, but the production branch is neither a local branch nor on the remote."""


class FinalTagExists(GitConflict):
    """The final tag of the computed version exists already."""


@dataclass(frozen=True)
class Baseline:
    """Where production stands: the ref read (local branch or its remote-tracking copy) and its last version."""

    production_ref: str | None  # "master", "origin/master", or None before the first release
    production_note: str | None  # set when the ref is not the local branch: say so to the user
    last_version: semver.Version | None
    last_tag: str | None

    def describe(self) -> str:
        """'1.9.12 (v1.9.12) on origin/master', or 'none (first release)'."""
        if self.last_version is None:
            return "none (first release)"
        return f"{self.last_version} ({self.last_tag}) on {self.production_ref}"


class NothingToPlan(NothingToRelease):
    """No releasable commit since production: what was read, so the CLI can say so and exit 0."""

    def __init__(self, message: str, *, baseline: Baseline, head: str, commits: tuple[ParsedCommit, ...],
                 requested: str) -> None:
        super().__init__(message)
        self.baseline, self.head, self.commits, self.requested = baseline, head, commits, requested

    def line(self) -> str:
        """The one line `version` and `prepare` print (exit 0)."""
        count = len({c.sha for c in self.commits})
        where = f"; production is {self.baseline.describe()}" if self.baseline.last_version else ""
        return f"{self}{where}; {count} commit{'' if count == 1 else 's'} read, no candidate to cut"

    def to_json(self) -> dict[str, Any]:
        """`release version --json` when there is nothing to release: the same keys, released false."""
        b = self.baseline
        return {
            "released": False, "reason": str(self),
            "last_version": str(b.last_version) if b.last_version else None, "last_tag": b.last_tag,
            "next_version": None, "bump": Bump.NONE.value, "requested": self.requested, "reasons": [],
            "commit_count": len({c.sha for c in self.commits}), "head": self.head, "branch": None, "tag": None,
            "rc": None, "rc_tag": None, "rc_reused": False,
            "production_ref": b.production_ref, "production_note": b.production_note, "bump_note": None,
        }


@dataclass(frozen=True)
class VersionPlan:
    """What the next release would be: versions, why, and the rc tag and branch it would use."""

    last_version: semver.Version | None
    last_tag: str | None
    next_version: semver.Version
    bump: str  # "major" | "minor" | "patch" | "explicit"
    requested: str  # "auto" | "major" | "minor" | "patch" | "explicit"
    reasons: tuple[ParsedCommit, ...]  # the commits that decided an auto bump (all releasable ones otherwise)
    commits: tuple[ParsedCommit, ...]  # every commit since the last production version (squash parts split)
    head: str
    branch: str
    tag: str
    rc: int
    rc_tag: str
    rc_reused: bool  # the latest rc of this version already points at head: prepare would reuse it
    production_ref: str | None = None
    production_note: str | None = None
    bump_note: str | None = None  # e.g. why a breaking change bumped the minor (major_on_zero = false)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able view (the `release version --json` shape)."""
        return {
            "released": True,
            "last_version": str(self.last_version) if self.last_version else None,
            "last_tag": self.last_tag,
            "next_version": str(self.next_version),
            "bump": self.bump,
            "requested": self.requested,
            "reasons": [_commit_json(c) for c in self.reasons],
            "commit_count": len({c.sha for c in self.commits}),
            "head": self.head,
            "branch": self.branch,
            "tag": self.tag,
            "rc": self.rc,
            "rc_tag": self.rc_tag,
            "rc_reused": self.rc_reused,
            "production_ref": self.production_ref,
            "production_note": self.production_note,
            "bump_note": self.bump_note,
        }


def _commit_json(c: ParsedCommit) -> dict[str, Any]:
    return {"sha": c.sha, "short_sha": c.short_sha, "type": c.type, "scope": c.scope, "subject": c.subject,
            "breaking": c.breaking, "bump": c.bump.value, "issue_refs": list(c.issue_refs),
            "squash_part": c.squash_part}


def shallow_fix(environ: Mapping[str, str]) -> str:
    """How to get the whole history, for the CI the tool runs in (GitHub Actions, GitLab CI, or a shell)."""
    unshallow = "`git fetch --unshallow --tags`"
    if environ.get("GITHUB_ACTIONS") == "true":
        return f"set `fetch-depth: 0` on actions/checkout (or run {unshallow} before this step)"
    if environ.get("GITLAB_CI") == "true":
        return f"set the CI/CD variable `GIT_DEPTH: 0` (or run {unshallow} before this step)"
    return f"run {unshallow} (in GitHub Actions: `fetch-depth: 0` on actions/checkout)"


def require_full_history(project: GitProject, environ: Mapping[str, str] | None = None) -> None:
    """ShallowRepository in a shallow clone: the production tag or the breaking commit may lie past its edge.

    actions/checkout fetches one commit by default (fetch-depth: 1); GitLab CI fetches GIT_DEPTH commits.
    """
    if project.is_shallow():
        raise ShallowRepository(
            "this is a shallow clone: its history and tags are cut, so the next version cannot be computed from "
            f"it; fix: {shallow_fix(os.environ if environ is None else environ)}")


def production_baseline(config: Config, project: GitProject) -> Baseline:
    """The production ref and its last version: the local branch, else `<remote>/<branch>`; refuse to guess.

    With no production ref at all, a repository that has final version tags is not at its first release:
    ProductionBranchMissing names the branch and the fix, instead of planning 0.1.0 over existing tags.
    """
    settings = config.release
    branch, remote = settings.production_branch, settings.remote or DEFAULT_REMOTE
    if project.branch_sha(branch) is not None:
        ref, shown, note = f"refs/heads/{branch}", branch, None
    elif project.remote_branch_sha(remote, branch) is not None:
        ref, shown = f"refs/remotes/{remote}/{branch}", f"{remote}/{branch}"
        note = f"no local branch {branch}: reading production from {remote}/{branch} (as last fetched)"
    else:
        highest = project.highest_release_tag(settings.tag)
        if highest is not None:
            raise ProductionBranchMissing(
                f"production branch {branch!r} is neither a local branch nor {remote}/{branch}, but version tags "
                f"exist (highest {highest[1]}), so this repository has released before; fix: `git fetch {remote} "
                f"{branch}:{branch}`, or set release.production_branch in release.toml to the branch production "
                "releases are on")
        return Baseline(None, None, None, None)
    last = project.last_production_version(ref, settings.tag)
    if last is None:
        highest = project.highest_release_tag(settings.tag)
        if highest is not None:
            raise ProductionBranchMissing(
                f"no version tag is in the history of {shown}, but version tags exist (highest {highest[1]}), so "
                "this repository has released before; fix: set release.production_branch in release.toml to the "
                "branch production releases are tagged on (and fetch it)")
    last_version, last_tag = last if last else (None, None)
    return Baseline(shown, note, last_version, last_tag)


def refuse_existing_final_tag(project: GitProject, tag: str, version: semver.Version, baseline: Baseline) -> None:
    """FinalTagExists if `tag` exists anywhere (commitizen's tags, a release made elsewhere): never propose it."""
    sha = project.tag_sha(tag)
    if sha is None:
        return
    where = f", outside the history of {baseline.production_ref}" if baseline.production_ref else ""
    raise FinalTagExists(
        f"version {version} is already tagged: {tag} exists at commit {sha[:12]}{where}; fix: make "
        "release.production_branch the branch that release is on (and fetch it), or choose an untagged "
        "version with --version X.Y.Z")


def plan_version(config: Config, project: GitProject, *, bump: str = "auto", explicit: str | None = None,
                 until: str = "HEAD", environ: Mapping[str, str] | None = None) -> VersionPlan:
    """Plan the next release from the commits between the production version and `until`."""
    settings = config.release
    require_full_history(project, environ)
    baseline = production_baseline(config, project)
    head = project.head_sha(until)
    commits = tuple(project.commits_between(baseline.last_tag, head, squash=settings.parse_squash_commits))
    try:
        version = next_version(commits, baseline.last_version, bump=bump, explicit=explicit,
                               major_on_zero=settings.major_on_zero)
    except NothingToRelease as exc:
        raise NothingToPlan(str(exc), baseline=baseline, head=head, commits=commits, requested=bump) from None
    refuse_existing_final_tag(project, format_ref(settings.tag, version), version, baseline)
    decided = bump_for(commits)
    note = None
    if explicit is not None:
        kind, requested = "explicit", "explicit"
        reasons = tuple(c for c in commits if c.releasable)
    else:
        kind = decided.value if bump == "auto" else bump
        requested = bump
        reasons = tuple(c for c in commits if c.releasable and (bump != "auto" or c.bump is decided))
        on_zero = baseline.last_version is None or baseline.last_version.major == 0
        if bump == "auto" and decided is Bump.MAJOR and on_zero and not settings.major_on_zero:
            kind = Bump.MINOR.value
            note = "a breaking change on 0.x bumps the minor: [release] major_on_zero = false"
    rcs = existing_rcs(version, project.tags(), settings.tag)
    latest = max(rcs, default=0)
    reused = latest > 0 and project.tag_sha(rcs[latest]) == head
    rc = latest if reused else latest + 1
    return VersionPlan(
        last_version=baseline.last_version, last_tag=baseline.last_tag, next_version=version, bump=kind,
        requested=requested, reasons=reasons, commits=commits, head=head,
        branch=release_branch(version, settings.branch), tag=format_ref(settings.tag, version), rc=rc,
        rc_tag=candidate_tag(version, rc, settings.tag), rc_reused=reused,
        production_ref=baseline.production_ref, production_note=baseline.production_note, bump_note=note,
    )
