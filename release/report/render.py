"""Render report data to HTML or Markdown with the sandboxed template environment.

HTML templates are autoescaped by the shared environment (release.templating). Markdown has no autoescape of its
own, so Markdown templates render through `markdown_env()`: the same sandboxed environment with a `finalize` that
passes every `{{ ... }}` through safe_text.md_inline. Every value is therefore plain text unless the template asks
otherwise: `| md_code` makes a code span (for shas, paths and test ids), and nothing takes user text as Markdown.
This is autoescaping, with Markdown's escapes instead of HTML's.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from release.errors import UsageError
from release.safe_text import md_code, md_inline
from release.templating import render_bounded, template_env

FORMATS = {"html": "report.html.j2", "md": "report.md.j2"}


class MarkdownSafe(str):
    """Markdown the tool made itself (a code span from `md_code`), emitted by markdown_env() as it is."""

    __slots__ = ()


def _finalize(value: Any) -> str:
    if isinstance(value, MarkdownSafe):
        return value
    return md_inline(value)


@lru_cache(maxsize=1)
def markdown_env() -> SandboxedEnvironment:
    """The shared template environment for Markdown output: every expression escaped as Markdown text."""
    # A cache of its own: templates are compiled with the environment's finalize, so one compiled by the shared
    # environment (no finalize) must never be handed out here.
    env = template_env().overlay(finalize=_finalize, autoescape=False, cache_size=50)
    # overlay() shares the parent's filter dict; a copy keeps these filters out of the HTML environment.
    env.filters = {**env.filters, "md_code": lambda value: MarkdownSafe(md_code(value))}
    return env


def render_markdown(name: str, **values: Any) -> str:
    """Render a Markdown template (report.md.j2, changelog.md.j2) with every value escaped as Markdown text."""
    return render_bounded(markdown_env().get_template(name), values, what=name)


def render(data: Mapping[str, Any], fmt: str) -> str:
    """Render build_report_data() output as 'html' or 'md'."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "md":
        return render_markdown(FORMATS[fmt], report=data)
    return render_bounded(template_env().get_template(FORMATS[fmt]), {"report": data}, what=FORMATS[fmt])
