"""`release init` reads how a repository names its version tags and release branches."""

from __future__ import annotations

import pytest

from release.workflow.init_detect import infer_branch_format, infer_tag_format

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("tags", "expected", "highest"),
    [
        ([f"v1.9.{n}" for n in range(13)] + ["v1.10.0-rc.1"], "v{version}", "v1.10.0-rc.1"),
        (["1.0.0", "1.1.0", "1.1.1-rc.2", "latest"], "{version}", "1.1.1-rc.2"),
        (["app-2.0.0", "app-2.1.0", "v0.1.0"], "app-{version}", "app-2.1.0"),
        (["v1.0.0", "1.0.0"], "v{version}", "v1.0.0"),  # a tie goes to v{version}
        (["pkg@3.2.1"], "pkg@{version}", "pkg@3.2.1"),
    ],
)
def test_tag_format_is_the_one_most_tags_follow(tags, expected, highest):
    guess = infer_tag_format(tags)
    assert guess is not None
    assert (guess.format, guess.highest) == (expected, highest)


def test_tags_in_other_formats_are_counted_apart():
    guess = infer_tag_format(["v1.0.0", "v1.1.0", "1.2.0", "nightly"])
    assert guess is not None and guess.format == "v{version}" and guess.count == 2 and guess.others == ("1.2.0",)


@pytest.mark.parametrize("tags", [[], ["latest", "nightly", "v1", "v1.2", "build-42"]])
def test_no_version_tags_gives_no_guess(tags):
    assert infer_tag_format(tags) is None


@pytest.mark.parametrize(
    ("branches", "expected", "note"),
    [
        (["develop", "master", *(f"release-v1.9.{n}" for n in range(13))], "release-v{version}", False),
        (["main", "release/v1.0.0", "release/v1.1.0", "feature/x"], "release/v{version}", False),
        (["main", "releases/2.0.0"], "releases/{version}", False),
        (["main", "team/release-1.0.0", "dependabot/npm_and_yarn/release-it-1.2.3"], "team/release-{version}", False),
        (["main", "release/1.9", "release/1.10"], "release/{version}", True),
        (["main", "release-v1.9.0", "release-v1.9.1", "release/v2.0.0"], "release-v{version}", False),
    ],
)
def test_release_branch_format_from_existing_branches(branches, expected, note):
    guess = infer_branch_format(branches)
    assert guess is not None and guess.format == expected
    assert (guess.note is not None) is note


def test_major_minor_branches_say_what_the_next_branch_is_called():
    guess = infer_branch_format(["release/1.9", "release/1.10"])
    assert guess is not None and guess.note is not None
    assert "major.minor only" in guess.note and "release/1.11.0" in guess.note


@pytest.mark.parametrize("branches", [[], ["main", "develop", "feature/release-notes", "hotfix-v1.2.3", "v1.2.3"]])
def test_no_release_branches_gives_no_guess(branches):
    assert infer_branch_format(branches) is None
