"""Changelog sections from parsed commits (pure), rendered with Jinja2 and prepended to CHANGELOG.md."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

SECTION_TITLES = (
    "Breaking changes",
    "New features",
    "Improvements",
    "Bug fixes",
    "Deprecated",
    "Dependency upgrades",
    "Other",
)
_TYPE_SECTION = {
    "feat": "New features",
    "perf": "Improvements",
    "refactor": "Improvements",
    "fix": "Bug fixes",
    "deprecate": "Deprecated",
    "deprecated": "Deprecated",
    "deps": "Dependency upgrades",
}
_HEADING = re.compile(r"^## \[?v?(?P<version>[0-9][^\s\]]*)\]?", re.MULTILINE)

if TYPE_CHECKING:
    from release.versioning import ParsedCommit


@dataclass(frozen=True)
class ChangelogEntry:
    """One line of the changelog."""

    subject: str
    scope: str | None
    short_sha: str
    issue_refs: tuple[str, ...]


@dataclass(frozen=True)
class ChangelogSection:
    """A titled group of entries."""

    title: str
    entries: tuple[ChangelogEntry, ...]


@dataclass(frozen=True)
class ChangelogData:
    """Everything the changelog template needs for one release."""

    version: str
    previous_version: str | None
    date: str
    sections: tuple[ChangelogSection, ...]


def _section_for(commit: ParsedCommit) -> str:
    ctype = commit.type or ""
    if ctype in ("build", "chore") and commit.scope == "deps":
        return "Dependency upgrades"
    return _TYPE_SECTION.get(ctype, "Other")


def build_changelog(version: object, previous_version: object | None, commits: Iterable[ParsedCommit],
                    date: dt.date | str) -> ChangelogData:
    """Group commits like OpenCRVS's CHANGELOG: breaking first, then features, improvements, fixes, ... other.

    A squash merge read with ``parse_squash_commits`` arrives as one commit per Conventional Commit line of its
    message (versioning.parse_commits), so each line gets its own entry, under the squash commit's sha.
    """
    groups: dict[str, list[ChangelogEntry]] = {title: [] for title in SECTION_TITLES}
    for c in commits:
        if c.merge:
            continue

        def entry(subject: str, c: ParsedCommit = c) -> ChangelogEntry:
            refs = tuple(r for r in c.issue_refs if r not in subject)  # '(#12)' in the subject is not repeated
            return ChangelogEntry(subject, c.scope, c.short_sha, refs)

        if c.breaking:
            groups["Breaking changes"].append(entry(c.breaking_description or c.subject))
            if not c.breaking_description:
                continue  # 'feat!: x' says it once; a footer adds a note and the commit keeps its own line
        if c.deprecated:
            groups["Deprecated"].append(entry(c.deprecated))
        groups[_section_for(c)].append(entry(c.subject))
    sections = tuple(ChangelogSection(t, tuple(groups[t])) for t in SECTION_TITLES if groups[t])
    day = date.isoformat() if isinstance(date, dt.date) else str(date)
    return ChangelogData(str(version), None if previous_version is None else str(previous_version), day, sections)


def render_changelog(data: ChangelogData) -> str:
    """The Markdown section for one release."""
    from release.templating import template_env

    return template_env().get_template("changelog.md.j2").render(changelog=data)


def prepend_changelog(path: Path, section: str) -> bool:
    """Put `section` at the top of the changelog, replacing a section for the same version; True if the file changed."""
    path = Path(path)
    section = section.strip("\n") + "\n"
    m = _HEADING.search(section)
    if m is None:
        raise ValueError("a changelog section must start with '## <version>'")
    version = m.group("version")
    old = path.read_text(encoding="utf-8") if path.exists() else "# Changelog\n"
    headings = list(_HEADING.finditer(old))
    same = next((h for h in headings if h.group("version") == version), None)
    if same is not None:
        following = next((h for h in headings if h.start() > same.start()), None)
        end = following.start() if following else len(old)
        new = old[: same.start()] + section + ("\n" if following else "") + old[end:]
    elif headings:
        start = headings[0].start()
        new = old[:start] + section + "\n" + old[start:]
    else:
        new = old.rstrip("\n") + "\n\n" + section
    if new == old:
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(path)
    return True
