"""The PDF change record: WeasyPrint prints the very same standalone HTML, fetching nothing from outside."""

from __future__ import annotations

import logging

from release.errors import InputError


def html_to_pdf(html: str) -> bytes:
    """Render standalone HTML (inline CSS, SVG charts and data: images) to PDF bytes; any other URL is an error."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    # WeasyPrint logs CSS niceties at WARNING; the record needs none of that noise on the terminal.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    # Only data: URIs: the record must never reach a network or read local files while printing.
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True, timeout=5)
    try:
        pdf: bytes | None = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    except FatalURLFetchingError as exc:
        raise InputError(f"the change record refers to a resource that is not inline: {exc}") from exc
    if not pdf:
        raise InputError("WeasyPrint produced an empty PDF")
    return pdf
