"""Typed errors: each names the procedure (or path), the HTTP status and the server's message."""

from __future__ import annotations


class CRVSError(Exception):
    """A call to the CRVS target did not succeed."""

    def __init__(self, procedure: str, status: int | None, message: str, fields: tuple[str, ...] = ()) -> None:
        self.procedure = procedure
        self.status = status
        self.message = message
        self.fields = fields
        where = f"{procedure}: HTTP {status}" if status is not None else procedure
        detail = f" (fields: {', '.join(fields)})" if fields else ""
        super().__init__(f"{where}: {message}{detail}")


class TargetUnreachable(CRVSError):
    """The target did not answer: connection refused, DNS failure or timeout."""


class ProtocolError(CRVSError):
    """The target answered with something that is not the OpenCRVS wire format."""


class BadRequest(CRVSError):
    """HTTP 400: the input was rejected."""


class Unauthorized(CRVSError):
    """HTTP 401: no token, or the token was not accepted."""


class Forbidden(CRVSError):
    """HTTP 403: the token lacks the scope for this call."""


class NotFound(CRVSError):
    """HTTP 404: no such record or procedure."""


class Conflict(CRVSError):
    """HTTP 409: the action is not allowed in the record's current state."""


class RateLimited(CRVSError):
    """HTTP 402: OpenCRVS's login rate limit (10 a minute per username or nonce) was hit."""


class ServerError(CRVSError):
    """HTTP 5xx: the target failed."""


class ActionNotAccepted(CRVSError):
    """An action stayed `Requested` past the bound: the country config never confirmed it (records stuck in
    the outbox, opencrvs-core #12292)."""


class LocationNotFound(CRVSError):
    """A location the profile names (or the suite needs) is not on the target."""


_BY_STATUS: dict[int, type[CRVSError]] = {400: BadRequest, 401: Unauthorized, 402: RateLimited, 403: Forbidden,
                                          404: NotFound, 409: Conflict}


def error_for_status(procedure: str, status: int, message: str, fields: tuple[str, ...] = ()) -> CRVSError:
    """Build the typed error that matches an HTTP status."""
    if status >= 500:
        return ServerError(procedure, status, message, fields)
    cls = _BY_STATUS.get(status, CRVSError)
    return cls(procedure, status, message, fields)
