"""Neutralisers for user text (comments, reasons, actor names, criterion text, commit subjects) per output format.

Every formatter that writes text someone else typed goes through one of these, so a board member's comment can
never act as markup or a command in the output it lands in:

- ``one_line``: terminal text and anything a CI runner reads line by line. Line breaks and control characters are
  shown as escapes (``\\n``, ``\\x1b``), so the text stays on the line the tool put it on, never starts a line of its
  own, and cannot move the cursor. GitHub's runner takes a line as a workflow command when it starts with ``::``
  after leading whitespace (``ActionCommand.TryParseV2``) or holds ``##[`` anywhere (the legacy ``TryParse``); the
  first cannot happen to text that never starts a line, the second (and Azure Pipelines' ``##vso[``) is broken up
  as ``#\\#[``.
- ``gh_data`` / ``gh_property``: the data and property values of a workflow command, escaped as
  ``@actions/core``'s ``command.ts`` does (``escapeData``: ``%`` ``\\r`` ``\\n``; ``escapeProperty`` also ``:`` ``,``).
- ``md_inline``: Markdown (report.md, GitLab notes, GitHub step summaries): folded onto one line, HTML characters as
  entities, inline markup escaped with CommonMark backslash escapes (so ``[x](javascript:...)`` and ``![x](...)``
  are plain text and ``|`` cannot split a table cell), and a block marker at its start (``#``, ``-``, ``1.``)
  escaped. ``md_code`` makes a code span whose fence no backtick in the text can close.
- ``xml_text``: characters XML 1.0 cannot hold, shown as escapes; the XML library does the escaping proper.
- ``json_text``: finished JSON with ``##[`` written as ``#\\u0023[``, which decodes to the same string.

All of them are pure functions of str. ``CI_TEXT_LIMIT`` bounds one piece of user text in CI outputs (a GitHub step
summary is refused above 1 MiB); the change record keeps the whole text.
"""

from __future__ import annotations

import re

#: Characters of one piece of user text kept in CI outputs (status/gate summaries, annotations, JUnit messages).
CI_TEXT_LIMIT = 1000

# Line breaks as Python's str.splitlines() knows them (a superset of what .NET's ReadLine and browsers split on).
_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Other control characters, bidi overrides (Trojan Source), lone surrogates (which cannot be encoded as UTF-8)
# and the non-characters U+FFFE/U+FFFF (not XML).
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                       "\ud800-\udfff\ufeff\ufffe\uffff]")
# What XML 1.0 allows (https://www.w3.org/TR/xml/#charsets), inverted.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MD_ESCAPES = str.maketrans({"\\": "\\\\", "`": "\\`", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]",
                             "|": "\\|", "~": "\\~", "<": "&lt;", ">": "&gt;", "&": "&amp;"})
# What makes a Markdown line a block of its own: an ATX heading, a list item, a setext underline, an ordered list
# item (`>` and `*` are escaped anyway).
_BLOCK_START = frozenset("#+=-")
_ORDERED_START = re.compile(r"\d{1,9}(?=[.)](?:\s|$))")  # CommonMark: the marker needs a space or the line end
_BACKTICKS = re.compile("`+")
_SHOWN = {"\r": "\\r", "\n": "\\n"}
# Log commands a runner finds anywhere in a line: GitHub's legacy `##[name]` and Azure Pipelines' `##vso[`.
_LOG_COMMAND = re.compile(r"##(?=\[|vso\[)", re.IGNORECASE)


def escape_char(ch: str) -> str:
    """A character as a visible escape: \\x1b, \\u202e."""
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def truncate(text: str, limit: int | None) -> str:
    """text cut to limit characters, saying how many were left out (None: no limit)."""
    if limit is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def one_line(value: object, *, limit: int | None = None) -> str:
    """Plain text on one line: line breaks and control characters as escapes, tabs as spaces, `##[` broken."""
    text = truncate(_text(value), limit)
    text = _BREAKS.sub(lambda m: "".join(_SHOWN.get(c) or escape_char(c) for c in m.group()), text)
    text = _CONTROLS.sub(lambda m: escape_char(m.group()), text).replace("\t", " ")
    return _LOG_COMMAND.sub("#\\\\#", text)


def gh_data(value: object, *, limit: int | None = CI_TEXT_LIMIT) -> str:
    """The data of a GitHub workflow command (`::error title=...::DATA`), as @actions/core escapeData does.

    Control characters are shown as escapes first; line breaks stay, as %0D/%0A, which the runner turns back into
    a multi-line annotation message without ever starting a new log line.
    """
    text = truncate(_text(value), limit)
    text = _CONTROLS.sub(lambda m: escape_char(m.group()), text)
    text = re.sub("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]", lambda m: escape_char(m.group()), text)
    # The runner parses an annotation as a `::` command before it looks for `##[`, but another reader of the log
    # (or Azure's agent, `##vso[`) may not: break those up too.
    text = _LOG_COMMAND.sub("#\\\\#", text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_property(value: object, *, limit: int | None = CI_TEXT_LIMIT) -> str:
    """A property value of a GitHub workflow command, as @actions/core escapeProperty does (also `:` and `,`)."""
    return gh_data(value, limit=limit).replace(":", "%3A").replace(",", "%2C")


def md_inline(value: object, *, limit: int | None = None) -> str:
    """Markdown that shows value as typed, on one line, with no HTML, link, image, table cell or block of its own."""
    text = truncate(_text(value), limit)
    text = _BREAKS.sub(" ", text)
    text = _CONTROLS.sub(lambda m: escape_char(m.group()), text).replace("\t", " ")
    text = text.strip().translate(_MD_ESCAPES)  # a paragraph drops whitespace at its ends, Unicode's included
    ordered = _ORDERED_START.match(text)
    if ordered:  # "1." or "1)" would start an ordered list
        return f"{text[:ordered.end()]}\\{text[ordered.end():]}"
    return "\\" + text if text[:1] in _BLOCK_START else text


def md_code(value: object, *, limit: int | None = None) -> str:
    """A Markdown code span showing value literally on one line (its fence longer than any backtick run in it)."""
    text = truncate(_text(value), limit)
    text = _BREAKS.sub(" ", text)
    text = _CONTROLS.sub(lambda m: escape_char(m.group()), text).replace("\t", " ")
    if not text:
        return ""
    # A pipe would end a GFM table cell even inside a code span; GFM strips the backslash of `\|` there.
    text = text.replace("|", "\\|")
    fence = "`" * (max((len(r) for r in _BACKTICKS.findall(text)), default=0) + 1)
    # CommonMark strips one space from each end of a code span whose text starts and ends with one (unless it is
    # all spaces): pad so a backtick or space at either end shows as written.
    padded = text.startswith(("`", " ")) or text.endswith(("`", " "))
    pad = " " if padded and text.strip(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def xml_text(value: object, *, limit: int | None = None) -> str:
    """Text XML 1.0 can hold: characters it cannot (most C0 controls, lone surrogates, U+FFFE) as escapes.

    Line ends are \\n, as an XML parser reads them anyway (XML 1.0 section 2.11), so element text round-trips.
    """
    text = truncate(_text(value), limit).replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_XML.sub(lambda m: escape_char(m.group()), text)


def json_text(dumped: str) -> str:
    """Finished JSON text with `##[` and `##vso[` (log commands, found anywhere in a line) as `#\\u0023[`.

    JSON has `#` only inside strings, where `\\u0023` decodes to the same `#`, so the data does not change.
    """
    return _LOG_COMMAND.sub("#\\\\u0023", dumped)

