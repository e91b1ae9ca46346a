"""API errors: each maps to one tRPC error code and HTTP status."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


class ApiError(Exception):
    """Root of every error the API answers with; carries the tRPC code and HTTP status."""

    code = "INTERNAL_SERVER_ERROR"
    http_status = 500
    rpc_code = -32603

    def __init__(self, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.fields = list(fields)


class BadRequest(ApiError):
    """The input is malformed or fails validation."""

    code, http_status, rpc_code = "BAD_REQUEST", 400, -32600


class InputInvalid(BadRequest):
    """The input fails the procedure's zod schema: tRPC wraps the ZodError, whose message is its issues as JSON.

    zod v4's ZodError message is `JSON.stringify(issues, null, 2)`; over REST, trpc-to-openapi 3.2.0
    (src/adapters/node-http/core.ts) answers such an error as 'Input validation failed' with the `issues` list.
    """

    def __init__(self, issues: Sequence[Mapping[str, Any]]) -> None:
        self.issues = [dict(issue) for issue in issues]
        super().__init__(json.dumps(self.issues, ensure_ascii=False, indent=2),
                         fields=[".".join(str(p) for p in issue.get("path", ())) for issue in self.issues])


class ValidationFailed(BadRequest):
    """Declaration or annotation fields fail the form: the message is a JSON list of {message, id, value}.

    OpenCRVS throws these as BAD_REQUEST with `JSON.stringify(errors)` as the message
    (opencrvs-core packages/events/src/router/middleware/validate/utils.ts `throwWhenNotEmpty`).
    """

    def __init__(self, issues: Sequence[Mapping[str, Any]]) -> None:
        self.issues = [dict(issue) for issue in issues]
        # JSON.stringify: compact, and a `value` that is undefined (a missing field) is left out.
        wire = [{k: v for k, v in issue.items() if k != "value" or v is not None} for issue in self.issues]
        super().__init__(json.dumps(wire, ensure_ascii=False, separators=(",", ":"), default=str),
                         fields=[str(issue.get("id")) for issue in self.issues])


class Unauthorized(ApiError):
    """No valid credentials or token."""

    code, http_status, rpc_code = "UNAUTHORIZED", 401, -32001


class Forbidden(ApiError):
    """Authenticated, but the token lacks the scope."""

    code, http_status, rpc_code = "FORBIDDEN", 403, -32003


class NotFound(ApiError):
    """No such record or procedure."""

    code, http_status, rpc_code = "NOT_FOUND", 404, -32004


class Conflict(ApiError):
    """The action is not allowed in the record's current state or assignment."""

    code, http_status, rpc_code = "CONFLICT", 409, -32009


class TooManyRequests(ApiError):
    """The auth rate limit was exceeded."""

    code, http_status, rpc_code = "TOO_MANY_REQUESTS", 429, -32029


class InternalError(ApiError):
    """An error OpenCRVS answers as INTERNAL_SERVER_ERROR (e.g. an unknown declaration field on DECLARE)."""


class InjectedFault(ApiError):
    """A fault injected on purpose by --error-rate."""

    code, http_status, rpc_code = "INTERNAL_SERVER_ERROR", 500, -32603
