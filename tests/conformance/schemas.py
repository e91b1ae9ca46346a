"""JSON Schemas written by hand from OpenCRVS v2.0.0's zod schemas (opencrvs-core tag v2.0.0).

Each schema names the file it transcribes. Required keys are exactly the zod schema's non-optional keys; the
`nullish()`/`optional()` keys are allowed to be absent. Extra keys are allowed where zod's default object
(strip) would allow them on output.
"""

from __future__ import annotations

from typing import Any

import jsonschema

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# zod `z.string().datetime()`: ISO 8601 with a time and `Z` (no offset) by default.
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

_uuid = {"type": "string", "pattern": UUID_PATTERN}
_uuid_nullish = {"anyOf": [_uuid, {"type": "null"}]}
_datetime = {"type": "string", "pattern": DATETIME_PATTERN}
_record = {"type": "object"}

# packages/commons/src/events/ActionDocument.ts: ActionBase (+ ActionStatus).
ACTION = {
    "type": "object",
    "required": ["id", "transactionId", "createdByUserType", "createdAt", "createdBy", "status", "type"],
    # Action = ActionDocument | AsyncRejectActionDocument: only an asynchronously rejected action omits declaration.
    "if": {"properties": {"status": {"const": "Rejected"}}},
    "else": {"required": ["declaration"]},
    "properties": {
        "id": _uuid,
        "transactionId": {"type": "string"},
        "createdByUserType": {"enum": ["user", "system"]},  # TokenUserType, packages/commons/src/authentication.ts
        "createdAt": _datetime,
        "createdBy": {"type": "string"},
        "createdByRole": {"type": "string"},
        "createdAtLocation": _uuid_nullish,
        "declaration": _record,
        "annotation": {"anyOf": [_record, {"type": "null"}]},
        "status": {"enum": ["Requested", "Accepted", "Rejected"]},
        "originalActionId": _uuid_nullish,
        "type": {"type": "string"},
    },
}

# packages/commons/src/events/EventDocument.ts
EVENT_DOCUMENT = {
    "type": "object",
    "required": ["id", "type", "createdAt", "updatedAt", "actions", "trackingId"],
    "properties": {
        "id": _uuid,
        "type": {"type": "string"},
        "createdAt": _datetime,
        "updatedAt": _datetime,
        "actions": {"type": "array", "items": ACTION},
        "trackingId": {"type": "string"},
    },
}

# packages/commons/src/events/EventMetadata.ts: ActionCreationMetadata / RegistrationCreationMetadata.
_ACTION_CREATION = {
    "type": "object",
    "required": ["createdAt", "createdBy", "acceptedAt"],
    "properties": {
        "createdAt": _datetime,
        "createdBy": {"type": "string"},
        "createdAtLocation": _uuid_nullish,
        "createdByUserType": {"anyOf": [{"enum": ["user", "system"]}, {"type": "null"}]},
        "acceptedAt": _datetime,
        "createdByRole": {"type": "string"},
    },
}
_REGISTRATION_CREATION = {
    **_ACTION_CREATION,
    "required": [*_ACTION_CREATION["required"], "registrationNumber"],
    "properties": {**_ACTION_CREATION["properties"], "registrationNumber": {"type": "string"}},
}

# packages/commons/src/events/EventMetadata.ts EventMetadata + EventIndex.ts (`declaration: EventState`).
EVENT_INDEX = {
    "type": "object",
    "required": ["id", "type", "status", "legalStatuses", "createdAt", "createdBy", "updatedAt", "trackingId",
                 "potentialDuplicates", "flags", "declaration"],
    "properties": {
        "id": _uuid,
        "type": {"type": "string"},
        "status": {"enum": ["CREATED", "NOTIFIED", "DECLARED", "REGISTERED", "ARCHIVED"]},
        "legalStatuses": {
            "type": "object",
            "properties": {
                "DECLARED": {"anyOf": [_ACTION_CREATION, {"type": "null"}]},
                "REGISTERED": {"anyOf": [_REGISTRATION_CREATION, {"type": "null"}]},
            },
        },
        "createdAt": _datetime,
        "dateOfEvent": {"anyOf": [{"type": "string", "pattern": DATE_PATTERN}, {"type": "null"}]},
        "placeOfEvent": _uuid_nullish,
        "createdBy": {"type": "string"},
        "createdByUserType": {"anyOf": [{"enum": ["user", "system"]}, {"type": "null"}]},
        "updatedByUserRole": {"type": ["string", "null"]},
        "createdAtLocation": _uuid_nullish,
        "updatedAtLocation": _uuid_nullish,
        "updatedAt": _datetime,
        "assignedTo": {"type": ["string", "null"]},
        "updatedBy": {"type": ["string", "null"]},
        "trackingId": {"type": "string"},
        "potentialDuplicates": {
            "type": "array",
            "items": {"type": "object", "required": ["id", "trackingId"],
                      "properties": {"id": _uuid, "trackingId": {"type": "string"}}},
        },
        "flags": {"type": "array", "items": {"type": "string"}},
        "declaration": _record,
    },
}

# packages/events/src/router/event/index.ts `search` output: {results: EventIndex[], total: number}.
SEARCH_RESULT = {
    "type": "object",
    "required": ["results", "total"],
    "properties": {"results": {"type": "array", "items": EVENT_INDEX}, "total": {"type": "number"}},
}

# packages/commons/src/events/locations.ts Location (locations.list output, packages/events/src/router/locations).
LOCATION = {
    "type": "object",
    "required": ["id", "name", "administrativeAreaId", "validUntil", "locationType"],
    "properties": {
        "id": _uuid,
        "name": {"type": "string"},
        "externalId": {"type": ["string", "null"]},
        "administrativeAreaId": _uuid_nullish,
        "validUntil": {"anyOf": [_datetime, {"type": "null"}]},
        "locationType": {"type": ["string", "null"]},
    },
}

# packages/commons/src/events/locations.ts AdministrativeArea (administrativeAreas.list output).
ADMINISTRATIVE_AREA = {
    "type": "object",
    "required": ["id", "name", "parentId", "validUntil"],
    "properties": {
        "id": _uuid,
        "name": {"type": "string"},
        "externalId": {"type": ["string", "null"]},
        "parentId": _uuid_nullish,
        "validUntil": {"anyOf": [_datetime, {"type": "null"}]},
    },
}

# tRPC v11 error shape with the superjson transformer (packages/events/src/router/trpc.ts errorFormatter keeps
# tRPC's DefaultErrorShape): {message, code: <JSON-RPC number>, data: {code, httpStatus, path?, stack?}}.
TRPC_ERROR = {
    "type": "object",
    "required": ["message", "code", "data"],
    "properties": {
        "message": {"type": "string"},
        "code": {"type": "integer"},
        "data": {"type": "object", "required": ["code", "httpStatus"],
                 "properties": {"code": {"type": "string"}, "httpStatus": {"type": "integer"}}},
    },
}

# @trpc/server TRPC_ERROR_CODES_BY_KEY: the JSON-RPC number that goes with each tRPC error code.
JSON_RPC_CODES = {"BAD_REQUEST": -32600, "UNAUTHORIZED": -32001, "FORBIDDEN": -32003, "NOT_FOUND": -32004,
                  "CONFLICT": -32009, "TOO_MANY_REQUESTS": -32029, "INTERNAL_SERVER_ERROR": -32603}


def problems(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Every schema violation as `path: message`; an empty list when the instance conforms."""
    validator = jsonschema.Draft202012Validator(schema)
    found = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        found.append(f"{where}: {error.message[:200]}")
    return found


def assert_conforms(instance: Any, schema: dict[str, Any], what: str) -> None:
    """AssertionError listing each violation of the OpenCRVS schema."""
    found = problems(instance, schema)
    assert not found, f"{what} does not match OpenCRVS v2.0.0's schema:\n  " + "\n  ".join(found[:25])


def assert_trpc_error(answer: Any, status: int, code: str) -> dict[str, Any]:
    """The answer is tRPC's error for `code` with HTTP `status`, in tRPC's JSON shape; returns the error object."""
    assert answer.status == status, f"expected HTTP {status} {code}, got {answer.status}: {str(answer.body)[:600]}"
    error = answer.error
    assert_conforms(error, TRPC_ERROR, f"the {code} error")
    assert error["data"]["code"] == code
    assert error["data"]["httpStatus"] == status
    assert error["code"] == JSON_RPC_CODES[code]
    return dict(error)
