"""Changelog grouping (pure data), rendering and idempotent prepending."""

from __future__ import annotations

import datetime as dt

import pytest

from release.changelog import build_changelog, prepend_changelog, render_changelog
from release.versioning import parse_commit

pytestmark = pytest.mark.unit


def _commits(*messages: str):
    return [parse_commit(f"{i:x}" * 40, m) for i, m in enumerate(messages, 1)]


def test_sections_in_opencrvs_order_with_scope_sha_and_refs():
    data = build_changelog("2.0.0", "1.4.0", _commits(
        "docs: guide", "fix(search): lost results (#12)", "feat(api)!: new search", "perf: faster register",
        "chore(deps): bump jinja", "deprecate: old endpoint", "refactor: split module",
        "feat: certificates\n\nRefs: GH-7", "Merge branch 'x'",
    ), dt.date(2024, 5, 1))
    titles = [s.title for s in data.sections]
    assert titles == ["Breaking changes", "New features", "Improvements", "Bug fixes", "Deprecated",
                      "Dependency upgrades", "Other"]
    sections = {s.title: s.entries for s in data.sections}
    assert [(e.scope, e.subject) for e in sections["Breaking changes"]] == [("api", "new search")]
    assert [e.subject for e in sections["New features"]] == ["certificates"]
    assert sections["New features"][0].issue_refs == ("GH-7",)
    assert [e.subject for e in sections["Improvements"]] == ["faster register", "split module"]
    fix = sections["Bug fixes"][0]
    assert (fix.scope, fix.short_sha, fix.issue_refs) == ("search", "2222222", ())  # '#12' already in subject
    assert data.date == "2024-05-01" and data.previous_version == "1.4.0"


def test_breaking_footer_adds_a_note_and_keeps_the_commit_line():
    data = build_changelog("2.0.0", None, _commits("fix: x\n\nBREAKING CHANGE: token format\n\nDEPRECATED: v1"), "d")
    sections = {s.title: [e.subject for e in s.entries] for s in data.sections}
    assert sections == {"Breaking changes": ["token format"], "Bug fixes": ["x"], "Deprecated": ["v1"]}


def test_render_is_markdown_with_headings():
    text = render_changelog(build_changelog("1.1.0", "1.0.0", _commits("feat(search): fuzzy (#3)"), "2024-05-01"))
    assert text.startswith("## 1.1.0 (2024-05-01)\n")
    assert "### New features\n\n- **search:** fuzzy (#3) (1111111)\n" in text
    assert "No notable changes." in render_changelog(build_changelog("1.0.1", None, [], "2024-05-01"))


def test_prepend_is_idempotent_and_replaces_same_version(tmp_path):
    path = tmp_path / "CHANGELOG.md"
    first = render_changelog(build_changelog("1.0.0", None, _commits("feat: a"), "2024-01-01"))
    second = render_changelog(build_changelog("1.1.0", "1.0.0", _commits("fix: b"), "2024-02-01"))
    assert prepend_changelog(path, first) is True
    assert prepend_changelog(path, second) is True
    assert prepend_changelog(path, second) is False
    text = path.read_text()
    assert text.startswith("# Changelog\n\n## 1.1.0")
    assert text.count("## 1.1.0") == 1 and text.count("## 1.0.0") == 1
    assert text.index("## 1.1.0") < text.index("## 1.0.0")
    redo = render_changelog(build_changelog("1.1.0", "1.0.0", _commits("fix: b", "fix: c"), "2024-02-02"))
    assert prepend_changelog(path, redo) is True
    text = path.read_text()
    assert text.count("## 1.1.0") == 1 and "2024-02-02" in text and "2024-02-01" not in text
    assert "- a (1111111)" in text  # the older section is untouched


def test_prepend_refuses_a_section_without_heading(tmp_path):
    with pytest.raises(ValueError):
        prepend_changelog(tmp_path / "CHANGELOG.md", "no heading")
    assert not (tmp_path / "CHANGELOG.md").exists()
