"""Version planning: read git and config, decide the next version and candidate tag. Shared by version and prepare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import semver

from release.config import Config
from release.gitproject import GitProject
from release.versioning import (
    ParsedCommit,
    bump_for,
    candidate_tag,
    existing_rcs,
    format_ref,
    next_version,
    release_branch,
)


@dataclass(frozen=True)
class VersionPlan:
    """What the next release would be: versions, why, and the rc tag and branch it would use."""

    last_version: semver.Version | None
    last_tag: str | None
    next_version: semver.Version
    bump: str  # "major" | "minor" | "patch" | "explicit"
    requested: str  # "auto" | "major" | "minor" | "patch" | "explicit"
    reasons: tuple[ParsedCommit, ...]  # the commits that decided an auto bump (all releasable ones otherwise)
    commits: tuple[ParsedCommit, ...]  # every commit since the last production version
    head: str
    branch: str
    tag: str
    rc: int
    rc_tag: str
    rc_reused: bool  # the latest rc of this version already points at head: prepare would reuse it

    def to_json(self) -> dict[str, Any]:
        """A JSON-able view (the `release version --json` shape)."""
        return {
            "last_version": str(self.last_version) if self.last_version else None,
            "last_tag": self.last_tag,
            "next_version": str(self.next_version),
            "bump": self.bump,
            "requested": self.requested,
            "reasons": [_commit_json(c) for c in self.reasons],
            "commit_count": len(self.commits),
            "head": self.head,
            "branch": self.branch,
            "tag": self.tag,
            "rc": self.rc,
            "rc_tag": self.rc_tag,
            "rc_reused": self.rc_reused,
        }


def _commit_json(c: ParsedCommit) -> dict[str, Any]:
    return {"sha": c.sha, "short_sha": c.short_sha, "type": c.type, "scope": c.scope, "subject": c.subject,
            "breaking": c.breaking, "bump": c.bump.value, "issue_refs": list(c.issue_refs)}


def plan_version(config: Config, project: GitProject, *, bump: str = "auto", explicit: str | None = None,
                 until: str = "HEAD") -> VersionPlan:
    """Plan the next release from the commits between the production version and `until`."""
    settings = config.release
    last = project.last_production_version(settings.production_branch, settings.tag)
    last_version, last_tag = (last if last else (None, None))
    head = project.head_sha(until)
    commits = tuple(project.commits_between(last_tag, head))
    version = next_version(commits, last_version, bump=bump, explicit=explicit)
    decided = bump_for(commits)
    if explicit is not None:
        kind, requested = "explicit", "explicit"
        reasons = tuple(c for c in commits if c.releasable)
    else:
        kind = decided.value if bump == "auto" else bump
        requested = bump
        reasons = tuple(c for c in commits if c.releasable and (bump != "auto" or c.bump is decided))
    rcs = existing_rcs(version, project.tags(), settings.tag)
    latest = max(rcs, default=0)
    reused = latest > 0 and project.tag_sha(rcs[latest]) == head
    rc = latest if reused else latest + 1
    return VersionPlan(
        last_version=last_version, last_tag=last_tag, next_version=version, bump=kind, requested=requested,
        reasons=reasons, commits=commits, head=head, branch=release_branch(version, settings.branch),
        tag=format_ref(settings.tag, version), rc=rc, rc_tag=candidate_tag(version, rc, settings.tag),
        rc_reused=reused,
    )
