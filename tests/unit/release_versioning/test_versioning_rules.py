"""Conventional Commit parsing, bumps, next version and rc numbering as input -> expected tables."""

from __future__ import annotations

import pytest
import semver

from release.errors import InvalidVersion, NothingToRelease, UsageError
from release.versioning import (
    Bump,
    bump_for,
    candidate_tag,
    next_rc,
    next_version,
    parse_commit,
    parse_version_tag,
)

pytestmark = pytest.mark.unit
V = semver.Version.parse


def commits(*messages: str):
    return [parse_commit(f"{i:040x}", m) for i, m in enumerate(messages, 1)]


@pytest.mark.parametrize(
    ("message", "ctype", "scope", "breaking", "subject", "releasable"),
    [
        ("feat(search): fuzzy names", "feat", "search", False, "fuzzy names", True),
        ("fix: null dob", "fix", None, False, "null dob", True),
        ("perf(db): index tracking id", "perf", "db", False, "index tracking id", True),
        ("feat(api)!: drop v1 search", "feat", "api", True, "drop v1 search", True),
        ("refactor!: rename events", "refactor", None, True, "rename events", True),
        ("chore: tidy\n\nBREAKING CHANGE: config moved", "chore", None, True, "tidy", True),
        ("fix: x\n\nBREAKING-CHANGE: y", "fix", None, True, "x", True),
        ("docs: readme", "docs", None, False, "readme", False),
        ("Feat: capitalised type", "feat", None, False, "capitalised type", True),
        ("Merge branch 'develop' into main", None, None, False, "Merge branch 'develop' into main", False),
        ("Merge pull request #9 from org/feat\n\nfeat: inside", None, None, False,
         "Merge pull request #9 from org/feat", False),
        ("update stuff", None, None, False, "update stuff", False),
        ("feat:missing space", None, None, False, "feat:missing space", False),
        ("fix: body mentions breaking change\n\nnot a BREAKING CHANGE: footer", "fix", None, False,
         "body mentions breaking change", True),
    ],
)
def test_parse_commit(message, ctype, scope, breaking, subject, releasable):
    c = parse_commit("a" * 40, message, "dev@example.org")
    assert (c.type, c.scope, c.breaking, c.subject, c.releasable) == (ctype, scope, breaking, subject, releasable)
    assert c.short_sha == "aaaaaaa" and c.author_email == "dev@example.org"


@pytest.mark.parametrize(
    ("message", "refs"),
    [
        ("fix: crash (#123)", ("#123",)),
        ("fix: a\n\nRefs: GH-12, opencrvs/opencrvs-core#45", ("GH-12", "opencrvs/opencrvs-core#45")),
        ("fix: a #1 and #1 again", ("#1",)),
        ("fix: colour #fff and abc#12", ()),
    ],
)
def test_issue_refs(message, refs):
    assert parse_commit("b" * 40, message).issue_refs == refs


def test_breaking_footer_text_and_deprecation_are_kept():
    c = parse_commit("c" * 40, "feat: x\n\nBREAKING CHANGE: search moved\nto REST\nRefs: #4\nDEPRECATED: old flag")
    assert c.breaking_description == "search moved to REST"
    assert c.deprecated == "old flag"


@pytest.mark.parametrize(
    ("messages", "bump"),
    [
        (("feat: a", "fix: b"), Bump.MINOR),
        (("fix: b",), Bump.PATCH),
        (("perf: b", "docs: c"), Bump.PATCH),
        (("fix!: b", "feat: a"), Bump.MAJOR),
        (("docs: b\n\nBREAKING CHANGE: removed page",), Bump.MAJOR),
        (("docs: a", "chore: b", "ci: c", "Merge branch x"), Bump.NONE),
        ((), Bump.NONE),
    ],
)
def test_bump_for(messages, bump):
    assert bump_for(commits(*messages)) is bump


@pytest.mark.parametrize(
    ("messages", "last", "bump", "explicit", "expected"),
    [
        (("feat: a",), "1.1.0", "auto", None, "1.2.0"),
        (("fix: a",), "1.1.0", "auto", None, "1.1.1"),
        (("perf: a",), "1.1.3", "auto", None, "1.1.4"),
        (("feat!: a",), "1.1.0", "auto", None, "2.0.0"),
        (("fix: a\n\nBREAKING CHANGE: b",), "0.4.2", "auto", None, "1.0.0"),  # no 0.x special case
        (("feat: a",), "0.4.2", "auto", None, "0.5.0"),
        (("feat: a",), None, "auto", None, "0.1.0"),
        (("fix: a",), None, "auto", None, "0.1.0"),
        (("feat!: a",), None, "auto", None, "1.0.0"),
        (("docs: a",), "1.1.0", "major", None, "2.0.0"),
        (("docs: a",), "1.1.0", "minor", None, "1.2.0"),
        (("feat!: a",), "1.1.0", "patch", None, "1.1.1"),
        ((), None, "major", None, "1.0.0"),
        ((), None, "patch", None, "0.1.0"),
        (("docs: a",), "1.1.0", "auto", "1.5.0", "1.5.0"),
        ((), None, "auto", "3.0.0", "3.0.0"),
    ],
)
def test_next_version(messages, last, bump, explicit, expected):
    got = next_version(commits(*messages), V(last) if last else None, bump=bump, explicit=explicit)
    assert str(got) == expected


@pytest.mark.parametrize(
    ("messages", "last", "bump", "explicit", "error", "text"),
    [
        (("docs: a", "chore: b"), "1.1.0", "auto", None, NothingToRelease, "nothing to release"),
        ((), None, "auto", None, NothingToRelease, "nothing to release"),
        ((), "1.1.0", "auto", "v1.x", InvalidVersion, "invalid version 'v1.x'"),
        ((), "1.1.0", "auto", "1.2", InvalidVersion, "expected X.Y.Z"),
        ((), "1.1.0", "auto", "1.2.0-rc.1", InvalidVersion, "without a pre-release"),
        ((), "1.1.0", "auto", "1.1.0", InvalidVersion, "not greater than 1.1.0"),
        ((), "1.1.0", "auto", "1.0.9", InvalidVersion, "not greater than 1.1.0"),
        ((), "1.1.0", "minor", "1.3.0", UsageError, "not both"),
        ((), "1.1.0", "huge", None, UsageError, "invalid bump"),
    ],
)
def test_next_version_refuses(messages, last, bump, explicit, error, text):
    with pytest.raises(error, match=text) as info:
        next_version(commits(*messages), V(last) if last else None, bump=bump, explicit=explicit)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("version", "tags", "expected"),
    [
        ("1.2.0", [], 1),
        ("1.2.0", ["v1.2.0-rc.1"], 2),
        ("1.2.0", ["v1.2.0-rc.1", "v1.2.0-rc.10", "v1.2.0-rc.2"], 11),
        ("1.2.0", ["v1.3.0-rc.4", "v1.1.0-rc.7", "v1.2.0", "v1.2.0-beta.3", "v1.2.0-rc.x"], 1),
        ("1.2.0", ["release-1.2.0-rc.5"], 1),
    ],
)
def test_next_rc(version, tags, expected):
    assert next_rc(V(version), tags, "v{version}") == expected


def test_candidate_tag_and_parse_round_trip():
    tag = candidate_tag(V("1.2.0"), 3, "v{version}")
    assert tag == "v1.2.0-rc.3"
    assert parse_version_tag(tag, "v{version}") == V("1.2.0-rc.3")
    assert candidate_tag(V("1.2.0"), 1, "crvs-{version}") == "crvs-1.2.0-rc.1"
    assert next_rc(V("1.2.0"), ["crvs-1.2.0-rc.1"], "crvs-{version}") == 2


@pytest.mark.parametrize(
    ("tag", "fmt", "expected"),
    [
        ("v1.2.3", "v{version}", "1.2.3"),
        ("1.2.3", "v{version}", None),
        ("v1.2", "v{version}", None),
        ("vnext", "v{version}", None),
        ("core-v2.0.0-rc.1", "core-v{version}", "2.0.0-rc.1"),
    ],
)
def test_parse_version_tag(tag, fmt, expected):
    got = parse_version_tag(tag, fmt)
    assert (str(got) if got else None) == expected
