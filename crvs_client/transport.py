"""Transports carry one HTTP request; the client builds requests and reads answers."""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from crvs_client.errors import TargetUnreachable


@dataclass(frozen=True)
class Response:
    """The parts of an HTTP answer the client reads."""

    status: int
    text: str

    def json(self) -> Any:
        """Decode the body as JSON; raises ValueError when it is not JSON."""
        return jsonlib.loads(self.text)


class Transport(Protocol):
    """Sends one request. `name` groups requests in statistics (Locust uses it)."""

    base_url: str

    def request(self, method: str, path: str, *, name: str, params: dict[str, str] | None = None,
                json: Any = None, data: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Response: ...


class HttpxTransport:
    """A synchronous httpx transport with a bounded timeout."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(base_url=self.base_url, timeout=timeout)

    def request(self, method: str, path: str, *, name: str, params: dict[str, str] | None = None,
                json: Any = None, data: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Response:
        """Send the request; connection failures become TargetUnreachable."""
        try:
            resp = self._client.request(method, path, params=params, json=json, data=data, headers=headers)
        except httpx.TransportError as exc:
            raise TargetUnreachable(name, None, f"{self.base_url} did not answer ({type(exc).__name__})") from exc
        return Response(resp.status_code, resp.text)

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()
