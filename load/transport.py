"""A crvs_client Transport over Locust's FastHttpUser client, so Locust's stats see each call by procedure."""

from __future__ import annotations

import json as jsonlib
from typing import Any, ClassVar
from urllib.parse import urlencode

from crvs_client import Response
from crvs_client.errors import TargetUnreachable

# Answers that are not JSON by design: `/upload` answers the stored path as text/plain, `/ping` may be anything.
PLAIN_ANSWERS = ("/upload", "/ping")


def is_trpc(path: str) -> bool:
    """tRPC procedures live at `/events/<procedure>` on the gateway; REST at `/events/events…`."""
    return path.startswith("/events/") and not path.startswith("/events/events")


def wire_problem(path: str, status: int, text: str | None) -> str | None:
    """Why an answer is a failure (status >= 400, or a body that is not the wire format); None when fine."""
    if status == 0:
        return "no answer"
    if status >= 400:
        return f"HTTP {status}"
    if path in PLAIN_ANSWERS:
        return None
    try:
        body = jsonlib.loads(text or "")
    except ValueError:
        return "answer is not JSON"
    if is_trpc(path):
        ok = (isinstance(body, list) and body and isinstance(body[0], dict) and isinstance(body[0].get("result"), dict)
              and isinstance(body[0]["result"].get("data"), dict) and "json" in body[0]["result"]["data"])
        if not ok:
            return "answer is not a tRPC batch result"
    return None


class LocustTransport:
    """Sends each request through `FastHttpUser.client` with `name=procedure` and `catch_response=True`."""

    # Requests this process sent and Locust recorded, counted here rather than in the request hook: a worker's
    # own count, against which the master's merged histograms are checked (docs/load-distributed.md).
    completed: ClassVar[int] = 0

    def __init__(self, session: Any, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, path: str, *, name: str, params: dict[str, str] | None = None,
                json: Any = None, data: dict[str, str] | None = None, content: bytes | None = None,
                headers: dict[str, str] | None = None) -> Response:
        """Send one request (a path on the gateway or an absolute URL); the Locust stats entry is a failure
        when `wire_problem` finds one."""
        url = f"{path}?{urlencode(params)}" if params else path
        hdrs = dict(headers or {})
        body: Any = None
        if content is not None:
            body = content
        elif data is not None:
            body = urlencode(data)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        with self.session.request(method, url, name=name, data=body, json=json, headers=hdrs,
                                  catch_response=True) as resp:
            status = int(resp.status_code or 0)
            text = resp.text if status else ""
            headers = {str(k).lower(): str(v) for k, v in (resp.headers or {}).items()} if status else {}
            problem = wire_problem(path, status, text)
            if problem:
                resp.failure(problem)
            else:
                resp.success()
        LocustTransport.completed += 1
        if status == 0:
            raise TargetUnreachable(name, None, f"{self.base_url} did not answer")
        return Response(status, text or "", headers)
