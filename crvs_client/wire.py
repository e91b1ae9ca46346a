"""Pure functions for the tRPC batch envelope and the REST error body."""

from __future__ import annotations

import json
from typing import Any

from crvs_client.errors import ProtocolError, error_for_status


def batch_body(payload: Any) -> dict[str, Any]:
    """The tRPC batch body: `{"0": {"json": payload}}`."""
    return {"0": {"json": payload}}


def query_params(payload: Any) -> dict[str, str]:
    """Query-string parameters of a tRPC GET call."""
    return {"batch": "1", "input": json.dumps(batch_body(payload), separators=(",", ":"))}


def _fields(data: Any) -> tuple[str, ...]:
    if isinstance(data, dict) and isinstance(data.get("fields"), list):
        return tuple(str(f) for f in data["fields"])
    return ()


def validation_fields(message: str) -> tuple[str, ...]:
    """Field ids of an OpenCRVS validation error, whose message is a JSON string of `[{message, id, value}]`
    (packages/events/src/router/middleware/validate/index.ts); () for any other message."""
    try:
        items = json.loads(message)
    except (TypeError, ValueError):
        return ()
    if not isinstance(items, list):
        return ()
    return tuple(str(i["id"]) for i in items if isinstance(i, dict) and isinstance(i.get("id"), str))


def unwrap_trpc(procedure: str, status: int, text: str) -> Any:
    """Return the output of a tRPC batch answer, or raise the typed error it carries."""
    try:
        body = json.loads(text)
    except ValueError:
        if status >= 400:
            raise error_for_status(procedure, status, text[:200] or "empty body") from None
        raise ProtocolError(procedure, status, "answer is not JSON") from None
    if not isinstance(body, list) or not body or not isinstance(body[0], dict):
        if status >= 400:
            raise error_for_status(procedure, status, _message(body))
        raise ProtocolError(procedure, status, "answer is not a tRPC batch")
    item = body[0]
    if "error" in item:
        err = item["error"].get("json", item["error"]) if isinstance(item["error"], dict) else {}
        data = err.get("data", {}) if isinstance(err, dict) else {}
        http_status = data.get("httpStatus", status) if isinstance(data, dict) else status
        message = str(err.get("message", "error")) if isinstance(err, dict) else "error"
        fields = _fields(data) or validation_fields(message)
        raise error_for_status(procedure, int(http_status or status), message, fields)
    if status >= 400:
        raise error_for_status(procedure, status, "error status without an error body")
    try:
        return item["result"]["data"]["json"]
    except (KeyError, TypeError):
        raise ProtocolError(procedure, status, "tRPC result has no data.json") from None


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:200]
    return str(body)[:200]


def unwrap_rest(name: str, status: int, text: str) -> Any:
    """Return the JSON body of a REST answer, or raise the typed error it carries."""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        if status >= 400:
            raise error_for_status(name, status, text[:200] or "empty body") from None
        raise ProtocolError(name, status, "answer is not JSON") from None
    if status >= 400:
        message = _message(body)
        raw = body.get("message") if isinstance(body, dict) else None
        fields = _fields(body) or validation_fields(raw if isinstance(raw, str) else "")
        raise error_for_status(name, status, message, fields)
    return body

