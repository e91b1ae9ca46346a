"""One HTTP client for the OpenCRVS 2.x wire format, shared by `regression/` and `load/`."""

from crvs_client.client import CRVSClient
from crvs_client.credentials import DEV_USERS, Credentials, UserCredentials
from crvs_client.errors import (
    BadRequest,
    Conflict,
    CRVSError,
    Forbidden,
    NotFound,
    ProtocolError,
    ServerError,
    TargetUnreachable,
    Unauthorized,
)
from crvs_client.state import EventState, current_state
from crvs_client.synthetic import TEST_DATA_ANNOTATION, SyntheticFactory
from crvs_client.transport import HttpxTransport, Response, Transport

__all__ = [
    "DEV_USERS",
    "TEST_DATA_ANNOTATION",
    "BadRequest",
    "CRVSClient",
    "CRVSError",
    "Conflict",
    "Credentials",
    "EventState",
    "Forbidden",
    "HttpxTransport",
    "NotFound",
    "ProtocolError",
    "Response",
    "ServerError",
    "SyntheticFactory",
    "TargetUnreachable",
    "Transport",
    "Unauthorized",
    "UserCredentials",
    "current_state",
]
