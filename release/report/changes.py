"""The changelog as a board reads it: counts by kind, long groups capped and folded, subjects rendered as Markdown.

A release of a thousand commits (farajaland 2.0.0 has 1,221, most of them "Other") is not read line by line, so
each group shows its first lines and folds the rest into a `<details>` (closed on screen, left out on paper); a
group past LISTED_PER_GROUP says how many more there are and where the full list is (the tag's CHANGELOG.md).
"Other" (commits without a Conventional Commits type) is folded whole, with its commonest scopes counted.
Breaking changes are never folded. The scope section itself keeps every entry: the content hash binds them all.

Subjects are a small Markdown subset (code spans, emphasis, backslash escapes) rendered by markdown-it-py, which
rich already depends on, with raw HTML off and links, images and autolinks not parsed: a subject is shown as
text with that markup, never as a link or an image the record would fetch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from release.safe_text import one_line

#: Lines shown open per group, lines listed (folded) per group, and the groups folded whole.
VISIBLE_PER_GROUP = 8
LISTED_PER_GROUP = 150
FOLDED_GROUPS = frozenset({"Other"})
TOP_SCOPES = 6


@lru_cache(maxsize=1)
def _markdown() -> Any:
    """CommonMark's inline rules for code spans, emphasis and escapes only; raw HTML off."""
    from markdown_it import MarkdownIt

    return MarkdownIt("zero", {"html": False}).enable(["backticks", "emphasis", "escape", "entity"])


def subject_html(subject: str) -> Markup:
    """One commit subject as inline HTML: its Markdown rendered, every character of it escaped."""
    # Markup is sound here: markdown-it escapes every character of the text it does not turn into one of the
    # enabled tags, and with html off no tag of the subject's own survives.
    return Markup(_markdown().renderInline(one_line(subject)))


def _entry(e: Mapping[str, Any]) -> dict[str, Any]:
    return {**e, "subject_html": subject_html(str(e.get("subject", "")))}


def changelog_view(scope: Mapping[str, Any], *, full_list: str = "CHANGELOG.md") -> dict[str, Any]:
    """Counts by kind and, per group, the open lines, the folded lines and how many are not listed."""
    groups = []
    for g in scope.get("groups", ()):
        entries = list(g.get("entries", ()))
        title = str(g.get("title"))
        breaking = title.lower().startswith("breaking")
        fold_whole = title in FOLDED_GROUPS
        visible_n = len(entries) if breaking else (0 if fold_whole else VISIBLE_PER_GROUP)
        listed = entries if breaking else entries[:visible_n + LISTED_PER_GROUP]
        scopes = Counter(str(e.get("scope") or "(no scope)") for e in entries)
        groups.append({
            "title": title, "count": len(entries), "folded_whole": fold_whole,
            "visible": [_entry(e) for e in listed[:visible_n]],
            "folded": [_entry(e) for e in listed[visible_n:]],
            "unlisted": len(entries) - len(listed),
            "top_scopes": [{"scope": s, "count": n} for s, n in scopes.most_common(TOP_SCOPES)]
            if len(entries) > VISIBLE_PER_GROUP else [],
        })
    return {"total": int(scope.get("entries", 0)), "groups": groups, "full_list": full_list,
            "kinds": [{"title": g["title"], "count": g["count"]} for g in groups]}


def kind_counts(scope: Mapping[str, Any]) -> list[dict[str, Any]]:
    """[{title, count}] of the changelog's groups, in the changelog's order."""
    return [{"title": str(g.get("title")), "count": len(g.get("entries", ()))} for g in scope.get("groups", ())]


def breaking_subjects(scope: Mapping[str, Any]) -> Sequence[str]:
    """The subjects of the release's breaking changes."""
    return [str(e.get("subject", "")) for e in scope.get("breaking", ())]
