"""The PDF change record: WeasyPrint prints the very same standalone HTML, fetching nothing from outside."""

from __future__ import annotations

import logging
from typing import Any

from release.errors import InputError


def _no_network(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """WeasyPrint URL fetcher that serves data: URIs only; the record must never reach out to a network."""
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher

        result: dict[str, Any] = default_url_fetcher(url, *args, **kwargs)
        return result
    raise InputError(f"the change record refers to an external resource ({url.split(':', 1)[0]}:...); "
                     "only inline data: URIs are allowed")


def html_to_pdf(html: str) -> bytes:
    """Render standalone HTML (inline CSS, SVG charts and data: images) to PDF bytes."""
    from weasyprint import HTML

    # WeasyPrint logs every refused fetch and CSS nicety at WARNING; the record needs none of that noise.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    pdf: bytes | None = HTML(string=html, base_url=None, url_fetcher=_no_network).write_pdf()
    if not pdf:
        raise InputError("WeasyPrint produced an empty PDF")
    return pdf
