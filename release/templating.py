"""The one Jinja2 environment for every template the tool renders: sandboxed, autoescaped HTML, strict.

Two kinds of template go through it:

* the tool's own files under release/templates (the change record, the changelog, `release init`'s release.toml);
* texts a user writes in release.toml, such as the [report] risk and plans. Users keep the ``{version}`` syntax.
  Such a text is never compiled as Jinja source: it is split by ``string.Formatter`` into literal runs and bare
  ``{name}`` placeholders, each placeholder must be one of the names the caller allows (no ``!conversion``, no
  ``:format_spec``, no ``[item]`` or ``.attribute``), and the template that runs is built by this module from
  that shape alone; the literal runs are passed in as *data*. So no user text becomes template code (OWASP's
  server-side template injection advice: never build a template from user input), and the sandbox is a second
  wall, not the only one.

Every render is bounded: output is streamed from ``Template.generate`` and counted as it comes, and a render
that would exceed its bound is a ``TemplateTooLarge`` (exit 2) before any byte of it is written anywhere.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import PackageLoader, StrictUndefined, Template, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from release.errors import InputError

#: The most one user text (a [report] risk or plan) may render to: far more than any real one.
MAX_TEXT_BYTES = 64 * 1024
#: The most any template the tool renders may produce (a change record with its charts inlined is a few MiB).
MAX_OUTPUT_BYTES = 64 * 1024 * 1024

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TemplateTooLarge(InputError):
    """A template's output would exceed its size bound; nothing of it was written."""


class TemplateRefused(InputError):
    """A user text is not a plain text with bare, known {name} placeholders."""


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


def render_bounded(template: Template, context: Mapping[str, Any], *, limit: int = MAX_OUTPUT_BYTES,
                   what: str = "template") -> str:
    """Render `template`, streaming, and refuse (TemplateTooLarge) as soon as its UTF-8 output passes `limit` bytes."""
    parts: list[str] = []
    size = 0
    for chunk in template.generate(**context):
        size += len(chunk.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise TemplateTooLarge(f"{what}: renders to more than {_size(limit)}; nothing was written")
        parts.append(chunk)
    return "".join(parts)


def render_file(name: str, *, limit: int = MAX_OUTPUT_BYTES, **context: Any) -> str:
    """One of the tool's own templates (release/templates/`name`), rendered with a size bound."""
    return render_bounded(template_env().get_template(name), context, limit=limit, what=name)


def placeholders(text: str, allowed: Iterable[str], *, where: str) -> tuple[tuple[str, bool], ...]:
    """`text` as (literal, False) and (placeholder name, True) runs; TemplateRefused for anything else.

    ``{{`` and ``}}`` are literal braces (as in str.format); a placeholder is a bare ``{name}`` from `allowed`.
    """
    known = frozenset(allowed)
    runs: list[tuple[str, bool]] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # a lone "{" or "}"
        raise TemplateRefused(f"{where}: {exc}; write {{{{ and }}}} for literal braces") from None
    for literal, field, spec, conversion in parsed:
        if literal:
            runs.append((literal, False))
        if field is None:
            continue
        if conversion or spec or _NAME.fullmatch(field) is None:
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise TemplateRefused(f"{where}: {{{shown}}}: a placeholder is a bare {{name}}")
        if field not in known:
            raise TemplateRefused(f"{where}: unknown placeholder {{{field}}}; expected "
                                  + ", ".join(f"{{{p}}}" for p in sorted(known)))
        runs.append((field, True))
    return tuple(runs)


@lru_cache(maxsize=256)
def _shape_template(shape: tuple[str | None, ...]) -> Template:
    """The Jinja template for a text's shape: None is the next literal run (data), a name is that placeholder.

    Only this module writes the source, from identifiers checked by `placeholders`: user text never reaches it.
    """
    source: list[str] = []
    literal = 0
    for name in shape:
        if name is None:
            source.append(f"{{{{ literals[{literal}] }}}}")
            literal += 1
        else:
            source.append(f"{{{{ values[{name!r}] }}}}")  # item first: values.items would be dict.items
    return template_env().from_string("".join(source))


def render_text(text: str, values: Mapping[str, str], *, where: str, limit: int = MAX_TEXT_BYTES) -> str:
    """A user text with its ``{name}`` placeholders filled from `values`, through the sandbox, at most `limit` bytes.

    TemplateRefused for a malformed text or an unknown placeholder, TemplateTooLarge past the bound.
    """
    runs = placeholders(text, values, where=where)
    shape = tuple(None if not is_field else part for part, is_field in runs)
    literals = [part for part, is_field in runs if not is_field]
    return render_bounded(_shape_template(shape), {"literals": literals, "values": dict(values)}, limit=limit,
                          what=where)


def _size(limit: int) -> str:
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= factor and limit % factor == 0:
            return f"{limit // factor} {unit}"
    return f"{limit} bytes"
