"""One HTTP client for OpenCRVS v2.0.0, shared by `regression/` and `load/`, addressed by a deployment profile."""

from crvs_client.client import CRVSClient
from crvs_client.deployment import (
    ROLES,
    SUITE_ROLES,
    TARGET_FILE_ENV,
    Account,
    Deployment,
    DeploymentError,
    LocationSpec,
    SystemClient,
)
from crvs_client.errors import (
    ActionNotAccepted,
    BadRequest,
    Conflict,
    CRVSError,
    Forbidden,
    LocationNotFound,
    NotFound,
    ProtocolError,
    RateLimited,
    ServerError,
    TargetUnreachable,
    Unauthorized,
)
from crvs_client.locations import Locations, Place
from crvs_client.state import EventState, current_state
from crvs_client.synthetic import SECURED_FIELDS, SyntheticFactory, review_annotation, signature_png
from crvs_client.target import Target
from crvs_client.tokens import TOKENS, TokenCache
from crvs_client.transport import HttpxTransport, Response, Transport

__all__ = [
    "ROLES",
    "SECURED_FIELDS",
    "SUITE_ROLES",
    "TARGET_FILE_ENV",
    "TOKENS",
    "Account",
    "ActionNotAccepted",
    "BadRequest",
    "CRVSClient",
    "CRVSError",
    "Conflict",
    "Deployment",
    "DeploymentError",
    "EventState",
    "Forbidden",
    "HttpxTransport",
    "LocationNotFound",
    "LocationSpec",
    "Locations",
    "NotFound",
    "Place",
    "ProtocolError",
    "RateLimited",
    "Response",
    "ServerError",
    "SyntheticFactory",
    "SystemClient",
    "Target",
    "TargetUnreachable",
    "TokenCache",
    "Transport",
    "Unauthorized",
    "current_state",
    "review_annotation",
    "signature_png",
]
