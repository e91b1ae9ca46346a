"""The one Jinja2 environment for every template the tool renders: sandboxed, autoescaped HTML, strict."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment


@lru_cache(maxsize=1)
def template_env() -> SandboxedEnvironment:
    """A sandboxed environment over release/templates; HTML/XML (also *.html.j2) autoescaped, undefined is an error."""
    return SandboxedEnvironment(
        loader=PackageLoader("release", "templates"),
        autoescape=select_autoescape(["html", "xml", "html.j2", "xml.j2"], default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
