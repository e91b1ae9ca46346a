"""The change record: a pure data builder and HTML/Markdown rendering through the shared Jinja2 environment."""

from release.report.data import REPORT_SCHEMA, build_report_data
from release.report.render import FORMATS, render

__all__ = ["FORMATS", "REPORT_SCHEMA", "build_report_data", "render"]
