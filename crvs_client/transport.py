"""Transports carry one HTTP request; the client builds requests and reads answers.

A path is relative to the transport's base URL (the gateway) or an absolute URL (the register host's REST).
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from crvs_client.errors import TargetUnreachable


@dataclass(frozen=True)
class Response:
    """The parts of an HTTP answer the client reads; header names are lower case."""

    status: int
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """Decode the body as JSON; raises ValueError when it is not JSON."""
        return jsonlib.loads(self.text)

    def header(self, name: str) -> str | None:
        """One header's value, or None."""
        return self.headers.get(name.lower())


class Transport(Protocol):
    """Sends one request. `name` groups requests in statistics (Locust uses it)."""

    base_url: str

    def request(self, method: str, path: str, *, name: str, params: dict[str, str] | None = None,
                json: Any = None, data: dict[str, str] | None = None, content: bytes | None = None,
                headers: dict[str, str] | None = None) -> Response: ...


class HttpxTransport:
    """A synchronous httpx transport with a bounded timeout."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(base_url=self.base_url, timeout=timeout)

    def request(self, method: str, path: str, *, name: str, params: dict[str, str] | None = None,
                json: Any = None, data: dict[str, str] | None = None, content: bytes | None = None,
                headers: dict[str, str] | None = None) -> Response:
        """Send the request; connection failures become TargetUnreachable."""
        try:
            resp = self._client.request(method, path, params=params, json=json, data=data, content=content,
                                        headers=headers)
        except httpx.TransportError as exc:
            where = path if path.startswith(("http://", "https://")) else self.base_url
            raise TargetUnreachable(name, None, f"{where} did not answer ({type(exc).__name__})") from exc
        return Response(resp.status_code, resp.text, {k.lower(): v for k, v in resp.headers.items()})

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()
