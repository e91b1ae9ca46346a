"""Versions from Conventional Commits: parse, bump, next version, rc tags. Pure: no I/O.

Rules (docs/versioning.md tells them in full):
- a breaking change (``type!:``, or a ``BREAKING CHANGE:`` / ``BREAKING-CHANGE:`` footer, or the git-trailer
  form ``BREAKING CHANGE #12`` that Conventional Commits 1.0 allows) is MAJOR, so by default the first
  breaking change on 0.x goes to 1.0.0; with ``major_on_zero = false`` it bumps the minor instead while the
  version is 0.x (python-semantic-release's ``major_on_zero``);
- ``feat`` is MINOR; ``fix`` and ``perf`` are PATCH; anything else releases nothing;
- the first release (no production tag yet) is 0.1.0 for an auto/minor/patch bump and 1.0.0 for major
  (0.1.0 with ``major_on_zero = false`` unless the major bump was asked for with ``--bump major``);
- an explicit version must be a plain ``X.Y.Z`` greater than the version in production;
- a squash-merge commit's body may hold one Conventional Commit per squashed commit ("* feat: a" lines, as
  GitHub writes them): each counts, as in python-semantic-release 10 (``parse_squash_commits``).
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
# Conventional Commits 1.0 (items 8-9, 16): a footer is a token, then ": " or " #" (the git-trailer
# convention), then its value; BREAKING-CHANGE is a synonym of BREAKING CHANGE. "BREAKING CHANGE #12" keeps
# its "#12" as the description.
_BREAKING_FOOTER = re.compile(r"^BREAKING[ -]CHANGE(?:: *| (?=#))(?P<text>.*)$", re.MULTILINE)
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
    #: 1, 2, ... for a Conventional Commit read from a squash-merge message; None for a commit read whole.
    squash_part: int | None = None

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


# --- squash-merge messages -------------------------------------------------------------------------------
# python-semantic-release 10 (commit_parser/conventional/parser.py, parse_squash_commits, on by default)
# splits a squash-merge message into one Conventional Commit per squashed commit. The facts followed here:
# - GitHub writes the PR title "(#42)" as the subject and each squashed commit as a "* type: subject"
#   bullet in the body; `git merge --squash` writes "Squashed commit of the following:" and, per commit,
#   "commit <sha>", "Author: ...", "Date: ..." headers and the message indented.
# - A new commit starts where a line (after an optional "* " or "- " bullet or indentation) is a header
#   with a known type; without a bullet it must open a paragraph and its subject must have more than one
#   word, so footers such as "fix: #123" are not read as commits.
# - Merge commits are never split (their commits are in the history already), and the PR number in the
#   title is carried to every commit found inside it.
# Unlike PSR, a bulleted header counts even when it follows another line directly (GitLab's %{all_commits}
# writes one bullet per line), and only the commit types below can start a commit, so trailers such as
# "Co-authored-by: A <a@x>" never do.
SQUASH_TYPES = frozenset({"feat", "fix", "perf", "refactor", "build", "chore", "ci", "docs", "style", "test",
                          "revert", "deps", "deprecate", "deprecated"})
_SQUASH_HEADING = re.compile(r"^\s*Squashed commit of the following:.*$")
_GIT_COMMIT_LINE = re.compile(r"^\s*commit [0-9a-f]{7,64}\s*$")
_GIT_META_LINE = re.compile(r"^\s*(?:Author|AuthorDate|Commit|CommitDate|Date|Merge):\s.*$")
_BULLET = re.compile(r"^[ \t]*[*-][ \t]+")


def _starts_squashed_commit(raw: str, paragraph_start: bool) -> str | None:
    """The header text if line `raw` opens a squashed Conventional Commit, else None."""
    bullet = _BULLET.match(raw)
    text = (raw[bullet.end():] if bullet else raw).strip()
    m = _HEADER.match(text)
    if m is None or m.group("type").lower() not in SQUASH_TYPES:
        return None
    if bullet or (paragraph_start and len(m.group("subject").split()) > 1):
        return text
    return None


def split_squash_message(message: str) -> list[str]:
    """The commit messages inside a squash-merge message, the title's first; one item when there is only one."""
    messages: list[list[str]] = []
    current: list[str] | None = None
    paragraph_start, in_git_header = True, False
    for raw in message.replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n"):
        if _SQUASH_HEADING.match(raw):
            paragraph_start = True
            continue
        if _GIT_COMMIT_LINE.match(raw):
            current, paragraph_start, in_git_header = None, True, True
            continue
        if in_git_header and _GIT_META_LINE.match(raw):
            continue
        if not raw.strip():
            paragraph_start = True
            if current is not None:
                current.append("")
            continue
        in_git_header = False
        header = _starts_squashed_commit(raw, paragraph_start)
        if current is None or header is not None:
            current = [header if header is not None else raw.strip()]
            messages.append(current)
        else:
            current.append(raw.strip())
        paragraph_start = False
    return ["\n".join(lines).strip("\n") for lines in messages if any(line.strip() for line in lines)]


def parse_commits(sha: str, message: str, author_email: str = "", *, squash: bool = True) -> list[ParsedCommit]:
    """One commit's Conventional Commits: itself, or with `squash` each commit found inside a squash merge.

    A squash title that is not a Conventional Commit ("Feature X (#42)") only heads the commits below it:
    it is dropped when they were found, and its issue references go with each of them.
    """
    whole = parse_commit(sha, message, author_email)
    if not squash or whole.merge:
        return [whole]
    parts = split_squash_message(message)
    if len(parts) < 2:
        return [whole]
    parsed = [replace(parse_commit(sha, part, author_email), squash_part=i) for i, part in enumerate(parts, 1)]
    if not any(c.type is not None for c in parsed[1:]):
        return [whole]
    title_refs = parse_issue_refs(parts[0].partition("\n")[0])
    found = [replace(c, issue_refs=tuple(dict.fromkeys((*c.issue_refs, *title_refs)))) for c in parsed[1:]]
    return ([parsed[0]] if parsed[0].type is not None else []) + found


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
    *,
    major_on_zero: bool = True,
) -> semver.Version:
    """The next release version from the commits since `last`, a forced bump, or an explicit version.

    With `major_on_zero` False a breaking change read from the commits bumps the minor while the version is
    0.x (python-semantic-release's ``major_on_zero = false``); ``--bump major`` still leaves 0.x on purpose.
    """
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
    if level is Bump.MAJOR and bump == "auto" and not major_on_zero and (last is None or last.major == 0):
        level = Bump.MINOR
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
