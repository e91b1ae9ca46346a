"""Squash-merge messages, the `BREAKING CHANGE #N` footer forms and major_on_zero, as input -> expected tables."""

from __future__ import annotations

import pytest
import semver

from release.changelog import build_changelog
from release.versioning import Bump, bump_for, next_version, parse_commit, parse_commits, split_squash_message

pytestmark = pytest.mark.unit
SHA = "d" * 40

GITHUB_SQUASH = """Death registration v2 (#42)

* feat(death): record the cause of death

* fix!: drop the legacy informant type

* docs: describe the new fields

Co-authored-by: Ana Dev <ana@example.org>"""

GIT_MERGE_SQUASH = """Squashed commit of the following:

commit 63ec09b9e844e616dcaa7bae35a0b66671b59fbb
Author: Ana Dev <ana@example.org>
Date:   Sun Oct 13 12:05:23 2024 -0600

    feat(birth): add the twin flag

    The flag is shown on the certificate.

commit 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567
Author: Bo Dev <bo@example.org>
Date:   Sun Oct 13 12:09:00 2024 -0600

    fix(auth): token format

    BREAKING CHANGE #12
"""


@pytest.mark.parametrize(
    ("message", "parts"),
    [
        (GITHUB_SQUASH, ["Death registration v2 (#42)", "feat(death): record the cause of death",
                         "fix!: drop the legacy informant type",
                         "docs: describe the new fields\n\nCo-authored-by: Ana Dev <ana@example.org>"]),
        # GitLab's %{all_commits} and hand-written lists: one bullet per line, no blank line between them.
        ("Feature X (!7)\n* feat: a\n* fix!: b\n- perf: c", ["Feature X (!7)", "feat: a", "fix!: b", "perf: c"]),
        (GIT_MERGE_SQUASH, ["feat(birth): add the twin flag\n\nThe flag is shown on the certificate.",
                            "fix(auth): token format\n\nBREAKING CHANGE #12"]),
        # A one-word subject opening a paragraph is a footer ("fix: #123"), not a commit; so is a trailer.
        ("feat: search (#7)\n\nfix: #123\nCo-authored-by: A B <a@example.org>",
         ["feat: search (#7)\n\nfix: #123\nCo-authored-by: A B <a@example.org>"]),
        # An unbulleted header inside a paragraph is prose, not a commit.
        ("fix: a\n\nthe old code said\nfeat: something odd here",
         ["fix: a\n\nthe old code said\nfeat: something odd here"]),
        # An unknown type never starts a commit, bulleted or not.
        ("Tidy (#3)\n\n* wip: half done\n\n* Note: see the wiki page",
         ["Tidy (#3)\n\n* wip: half done\n\n* Note: see the wiki page"]),
        ("fix: z\n\nBREAKING CHANGE: y", ["fix: z\n\nBREAKING CHANGE: y"]),
    ],
)
def test_split_squash_message(message, parts):
    assert split_squash_message(message) == parts


def test_a_github_squash_counts_each_line_and_carries_the_pr_number():
    found = parse_commits(SHA, GITHUB_SQUASH, "ana@example.org")
    assert [(c.type, c.breaking, c.subject, c.squash_part) for c in found] == [
        ("feat", False, "record the cause of death", 2),
        ("fix", True, "drop the legacy informant type", 3),
        ("docs", False, "describe the new fields", 4),
    ]
    assert all(c.issue_refs == ("#42",) and c.sha == SHA and c.author_email == "ana@example.org" for c in found)
    assert bump_for(found) is Bump.MAJOR


def test_a_git_merge_squash_splits_on_its_commit_headers():
    found = parse_commits(SHA, GIT_MERGE_SQUASH)
    assert [(c.type, c.scope, c.breaking, c.breaking_description) for c in found] == [
        ("feat", "birth", False, None), ("fix", "auth", True, "#12")]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # Switched off, or nothing inside: the commit is read whole, as before.
        (GITHUB_SQUASH, None),
        ("Merge pull request #9 from org/feat\n\n* feat: inside", [(None, "Merge pull request #9 from org/feat")]),
        ("feat: x\n\nBREAKING CHANGE: y", [("feat", "x")]),
        ("Update the readme (#5)", [(None, "Update the readme (#5)")]),
        ("Update the readme (#5)\n\n* update links", [(None, "Update the readme (#5)")]),
        # A conventional squash title is a commit too.
        ("feat(api): v2 search (#8)\n\n* fix: paging", [("feat", "v2 search (#8)"), ("fix", "paging")]),
    ],
)
def test_parse_commits_reads_whole_when_there_is_nothing_inside(message, expected):
    if expected is None:  # parse_squash_commits = false
        assert parse_commits(SHA, message, squash=False) == [parse_commit(SHA, message)]
        return
    assert [(c.type, c.subject) for c in parse_commits(SHA, message)] == expected


@pytest.mark.parametrize(
    ("footer", "breaking", "description"),
    [
        ("BREAKING CHANGE: token format", True, "token format"),
        ("BREAKING-CHANGE: token format", True, "token format"),
        ("BREAKING CHANGE #12", True, "#12"),
        ("BREAKING-CHANGE #12 token format", True, "#12 token format"),
        ("BREAKING CHANGE #12\nthe old tokens stop working", True, "#12 the old tokens stop working"),
        ("BREAKING CHANGES: plural is not the token", False, None),
        ("BREAKING CHANGE 12", False, None),
        ("Refs #12", False, None),
    ],
)
def test_breaking_change_footer_forms(footer, breaking, description):
    c = parse_commit(SHA, f"fix(auth): tokens\n\n{footer}")
    assert (c.breaking, c.breaking_description) == (breaking, description)
    assert c.bump is (Bump.MAJOR if breaking else Bump.PATCH)


@pytest.mark.parametrize(
    ("messages", "last", "major_on_zero", "bump", "expected"),
    [
        (("feat!: a",), "0.4.2", False, "auto", "0.5.0"),
        (("fix: a\n\nBREAKING CHANGE #3",), "0.4.2", False, "auto", "0.5.0"),
        (("feat!: a",), "0.4.2", True, "auto", "1.0.0"),
        (("feat!: a",), "1.4.2", False, "auto", "2.0.0"),  # only 0.x stays put
        (("feat!: a",), None, False, "auto", "0.1.0"),  # a first release stays on 0.x too
        (("feat!: a",), None, True, "auto", "1.0.0"),
        (("feat: a",), "0.4.2", False, "auto", "0.5.0"),
        (("fix: a",), "0.4.2", False, "auto", "0.4.3"),
        (("docs: a",), "0.4.2", False, "major", "1.0.0"),  # --bump major leaves 0.x on purpose
    ],
)
def test_major_on_zero(messages, last, major_on_zero, bump, expected):
    commits = [parse_commit(f"{i:040x}", m) for i, m in enumerate(messages, 1)]
    got = next_version(commits, semver.Version.parse(last) if last else None, bump=bump,
                       major_on_zero=major_on_zero)
    assert str(got) == expected


def test_the_changelog_takes_its_entries_from_the_squash_lines():
    data = build_changelog("2.0.0", "1.9.12", parse_commits(SHA, GITHUB_SQUASH), "2024-05-01")
    sections = {s.title: [(e.subject, e.issue_refs) for e in s.entries] for s in data.sections}
    assert sections == {
        "Breaking changes": [("drop the legacy informant type", ("#42",))],
        "New features": [("record the cause of death", ("#42",))],
        "Other": [("describe the new fields", ("#42",))],
    }
