"""Render report data to HTML or Markdown with the sandboxed, autoescaping template environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from release.errors import UsageError
from release.templating import template_env

FORMATS = {"html": "report.html.j2", "md": "report.md.j2"}


def render(data: Mapping[str, Any], fmt: str) -> str:
    """Render build_report_data() output as 'html' or 'md'."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return template_env().get_template(FORMATS[fmt]).render(report=data)
