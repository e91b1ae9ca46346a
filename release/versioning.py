"""Versions from Conventional Commits: parse, bump, next version, rc tags. Pure: no I/O.

Rules (kept deliberately simple, also on 0.x):
- a breaking change (``type!:`` or a ``BREAKING CHANGE:``/``BREAKING-CHANGE:`` footer) is MAJOR,
  so the first breaking change on 0.x goes to 1.0.0;
- ``feat`` is MINOR; ``fix`` and ``perf`` are PATCH; anything else releases nothing;
- the first release (no production tag yet) is 0.1.0 for an auto/minor/patch bump and 1.0.0 for major;
- an explicit version must be a plain ``X.Y.Z`` greater than the version in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

import semver

from release.errors import InvalidVersion, NothingToRelease, UsageError


class Bump(Enum):
    """How far a set of commits moves the version."""

    NONE = "none"
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"

    @property
    def rank(self) -> int:
        """Order of magnitude: NONE < PATCH < MINOR < MAJOR."""
        return _BUMP_ORDER.index(self)


_BUMP_ORDER = (Bump.NONE, Bump.PATCH, Bump.MINOR, Bump.MAJOR)
_TYPE_BUMP = {"feat": Bump.MINOR, "fix": Bump.PATCH, "perf": Bump.PATCH}

_HEADER = re.compile(r"^(?P<type>[A-Za-z][A-Za-z0-9_-]*)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?: +(?P<subject>\S.*)$")
_BREAKING_FOOTER = re.compile(r"^BREAKING[ -]CHANGE: *(?P<text>.*)$", re.MULTILINE)
_DEPRECATED_FOOTER = re.compile(r"^DEPRECATED: *(?P<text>.*)$", re.MULTILINE)
_FOOTER_TOKEN = re.compile(r"^(?:[A-Za-z][\w-]*|BREAKING CHANGE)(?:: | #)")
_ISSUE_REF = re.compile(r"(?<![\w/#-])(?:(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)?#(?P<num>\d+)|GH-(?P<gh>\d+))\b")


@dataclass(frozen=True)
class ParsedCommit:
    """One commit read as a Conventional Commit."""

    sha: str
    short_sha: str
    type: str | None
    scope: str | None
    breaking: bool
    subject: str
    body: str
    issue_refs: tuple[str, ...]
    author_email: str
    releasable: bool
    breaking_description: str | None = None
    deprecated: str | None = None
    merge: bool = False

    @property
    def bump(self) -> Bump:
        """The bump this commit alone asks for."""
        if self.type is None:
            return Bump.NONE
        if self.breaking:
            return Bump.MAJOR
        return _TYPE_BUMP.get(self.type, Bump.NONE)


def _footer_text(match: re.Match[str] | None, body: str) -> str | None:
    if match is None:
        return None
    # A footer value continues on the following lines until a blank line or the next footer token.
    parts = [match.group("text").strip()]
    for line in body[match.end():].lstrip("\n").split("\n"):
        if not line.strip() or _FOOTER_TOKEN.match(line):
            break
        parts.append(line.strip())
    text = " ".join(p for p in parts if p)
    return text or None


def parse_issue_refs(text: str) -> tuple[str, ...]:
    """Issue references in order of appearance, deduplicated: '#123', 'GH-12', 'org/repo#45'."""
    refs: list[str] = []
    for m in _ISSUE_REF.finditer(text):
        ref = f"GH-{m.group('gh')}" if m.group("gh") else f"{m.group('repo') or ''}#{m.group('num')}"
        if ref not in refs:
            refs.append(ref)
    return tuple(refs)


def parse_commit(sha: str, message: str, author_email: str = "") -> ParsedCommit:
    """Read a commit message as Conventional Commits 1.0; merges and unparseable ones are not releasable."""
    text = message.replace("\r\n", "\n").strip("\n")
    header, _, body = text.partition("\n")
    header, body = header.strip(), body.strip("\n")
    short = sha[:7]
    refs = parse_issue_refs(text)
    is_merge = header.startswith("Merge ")
    m = None if is_merge else _HEADER.match(header)
    if m is None:
        return ParsedCommit(sha, short, None, None, False, header, body, refs, author_email, False, merge=is_merge)
    ctype = m.group("type").lower()
    scope = (m.group("scope") or "").strip() or None
    footer = _footer_text(_BREAKING_FOOTER.search(body), body)
    breaking = bool(m.group("bang")) or _BREAKING_FOOTER.search(body) is not None
    deprecated = _footer_text(_DEPRECATED_FOOTER.search(body), body)
    parsed = ParsedCommit(
        sha, short, ctype, scope, breaking, m.group("subject").strip(), body, refs, author_email, False,
        breaking_description=footer if breaking else None, deprecated=deprecated,
    )
    return replace(parsed, releasable=parsed.bump is not Bump.NONE)


def bump_for(commits: Iterable[ParsedCommit]) -> Bump:
    """The largest bump any of the commits asks for."""
    best = Bump.NONE
    for commit in commits:
        if commit.bump.rank > best.rank:
            best = commit.bump
    return best


def parse_plain_version(text: str) -> semver.Version:
    """Parse an explicit release version 'X.Y.Z' (no 'v', no pre-release); InvalidVersion otherwise."""
    try:
        version = semver.Version.parse(text.strip())
    except (ValueError, TypeError) as exc:
        raise InvalidVersion(f"invalid version {text!r}: expected X.Y.Z, e.g. 1.2.0") from exc
    if version.prerelease or version.build:
        raise InvalidVersion(f"invalid version {text!r}: expected X.Y.Z without a pre-release or build part")
    return version


def next_version(
    commits: Sequence[ParsedCommit],
    last: semver.Version | None,
    bump: str = "auto",
    explicit: str | None = None,
) -> semver.Version:
    """The next release version from the commits since `last`, a forced bump, or an explicit version."""
    if bump not in ("auto", "major", "minor", "patch"):
        raise UsageError(f"invalid bump {bump!r}: expected auto, major, minor or patch")
    if explicit is not None:
        if bump != "auto":
            raise UsageError("give either an explicit version or a bump, not both")
        version = parse_plain_version(explicit)
        if last is not None and version <= last:
            raise InvalidVersion(f"version {version} is not greater than {last}, the version in production")
        return version
    level = Bump(bump) if bump != "auto" else bump_for(commits)
    if level is Bump.NONE:
        raise NothingToRelease(
            f"nothing to release: no feat, fix, perf or breaking commit since {last or 'the first commit'}"
        )
    if last is None:
        return semver.Version(1, 0, 0) if level is Bump.MAJOR else semver.Version(0, 1, 0)
    base = last.finalize_version()
    if level is Bump.MAJOR:
        return base.bump_major()
    if level is Bump.MINOR:
        return base.bump_minor()
    return base.bump_patch()


def format_ref(ref_format: str, version: semver.Version | str) -> str:
    """Fill '{version}' in a branch or tag format."""
    return ref_format.replace("{version}", str(version))


def release_branch(version: semver.Version, branch_format: str = "release/v{version}") -> str:
    """The release branch name for a version."""
    return format_ref(branch_format, version)


def candidate_tag(version: semver.Version, rc: int, tag_format: str = "v{version}") -> str:
    """The release-candidate tag, e.g. 'v1.2.0-rc.3'."""
    return format_ref(tag_format, f"{version.finalize_version()}-rc.{rc}")


def parse_version_tag(tag: str, tag_format: str = "v{version}") -> semver.Version | None:
    """The version a tag names under `tag_format`, or None if it does not match."""
    prefix, sep, suffix = tag_format.partition("{version}")
    if not sep:
        return None
    m = re.fullmatch(re.escape(prefix) + r"(?P<v>.+?)" + re.escape(suffix), tag)
    if m is None:
        return None
    try:
        return semver.Version.parse(m.group("v"))
    except ValueError:
        return None


def rc_number(version: semver.Version) -> int | None:
    """N for an 'X.Y.Z-rc.N' version, else None."""
    m = re.fullmatch(r"rc\.(\d+)", version.prerelease or "")
    return int(m.group(1)) if m else None


def existing_rcs(version: semver.Version, tags: Iterable[str], tag_format: str = "v{version}") -> dict[int, str]:
    """rc number -> tag, for the candidates of `version` among `tags`."""
    found: dict[int, str] = {}
    final = version.finalize_version()
    for tag in tags:
        parsed = parse_version_tag(tag, tag_format)
        if parsed is None or parsed.finalize_version() != final or parsed.build:
            continue
        n = rc_number(parsed)
        if n is not None:
            found[n] = tag
    return found


def next_rc(version: semver.Version, existing_tags: Iterable[str], tag_format: str = "v{version}") -> int:
    """The next rc number for `version`: 1 + the highest existing rc of that version (1 if none)."""
    return max(existing_rcs(version, existing_tags, tag_format), default=0) + 1
