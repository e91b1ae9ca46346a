"""Settings of one sandbox server: a frozen dataclass built by the CLI (or tests)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.faults import Faults

# System clients are integrations whose id is a UUID (opencrvs-core v2.0.0 packages/events/src/router/integrations).
DEFAULT_CLIENT_ID = "4b3e5c7a-8d2f-4a1b-9c6e-0f5d7a2b8c91"
DEFAULT_CLIENT_SECRET = "release-gate-secret"
# With TWO_FA_ENABLED=false the auth service stores the code 000000 for every login
# (packages/auth/src/features/authenticate/service.ts `generateAndSendVerificationCode`).
DEFAULT_DEV_CODE = "000000"
DEFAULT_VERSION = "2.0.0-sandbox"
DEFAULT_COMMIT = "0" * 40
# packages/auth/src/environment.ts: CONFIG_TOKEN_EXPIRY_SECONDS (1 week) for users,
# CONFIG_SYSTEM_TOKEN_EXPIRY_SECONDS (10 minutes) for system clients.
DEFAULT_USER_TOKEN_TTL = 604800
DEFAULT_SYSTEM_TOKEN_TTL = 600
# packages/gateway/src/config/proxies.ts: authenticate and verifyCode allow 10 requests a minute per key.
DEFAULT_AUTH_RATE_LIMIT = 10


class ClientSpecError(ValueError):
    """A --client or --client-id value is not usable."""


@dataclass(frozen=True)
class ExtraClient:
    """A narrower system client (--client ID:SECRET:scope1,scope2)."""

    client_id: str
    secret: str
    scopes: tuple[str, ...]


def check_client_id(client_id: str, option: str = "--client-id") -> str:
    """The client id in canonical form; ClientSpecError unless it is a UUID (as OpenCRVS integration ids are)."""
    try:
        return str(uuid.UUID(client_id))
    except (ValueError, AttributeError, TypeError):
        raise ClientSpecError(f"{option}: {client_id!r} is not a UUID; OpenCRVS system client ids are UUIDs "
                              f"(e.g. {DEFAULT_CLIENT_ID})") from None


def parse_client(spec: str) -> ExtraClient:
    """Parse ID:SECRET:scope1,scope2 where ID is a UUID."""
    parts = spec.split(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise ClientSpecError(f"--client: {spec!r} is not ID:SECRET:scope1,scope2")
    scopes = tuple(s.strip() for s in parts[2].split(",") if s.strip())
    return ExtraClient(check_client_id(parts[0], "--client"), parts[1], scopes)


def database_url(db: str | Path | None) -> str:
    """A SQLAlchemy URL from --db (a path or a URL); default sandbox.db in the working directory."""
    if db is None or str(db) == "":
        db = "sandbox.db"
    text = str(db)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).resolve()}"


@dataclass(frozen=True)
class Settings:
    """Everything a sandbox app needs to start."""

    db_url: str = "sqlite:///sandbox.db"
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    app_version: str = DEFAULT_VERSION
    app_commit: str = DEFAULT_COMMIT  # kept for the log only: OpenCRVS exposes no commit
    dev_code: str = DEFAULT_DEV_CODE
    two_fa: bool = False
    token_ttl: int = DEFAULT_USER_TOKEN_TTL
    system_token_ttl: int = DEFAULT_SYSTEM_TOKEN_TTL
    jwt_secret: str = ""
    extra_clients: tuple[ExtraClient, ...] = ()
    auth_rate_limit: int = DEFAULT_AUTH_RATE_LIMIT  # per minute per username / nonce; 0 = off
    async_confirm_s: float = 0.0
    faults: Faults = field(default_factory=Faults)
    #: Read connections kept open: enough for every request a busy gateway has in flight, so none opens a fresh
    #: connection (schema parse, cold page cache) per request; overflow connections close when returned.
    read_pool_size: int = 24
    #: Checkpoint the SQLite WAL from a background thread rather than inside a writer's COMMIT.
    background_checkpoint: bool = True
    #: How many searches run at once (threads); the rest wait their turn. 0: as many as the thread pool allows.
    search_threads: int = 4
    #: Run searches in this many worker processes instead (0: in the server's own threads).
    search_processes: int = 0

    @property
    def login_code(self) -> str:
        """The code verifyCode wants: 000000 without 2FA (as OpenCRVS), else --dev-code (the sandbox's SMS)."""
        return self.dev_code if self.two_fa else DEFAULT_DEV_CODE

    @property
    def signing_key(self) -> str:
        """The HS256 key: --jwt-secret, else derived from the client secret so tokens survive restarts."""
        if self.jwt_secret:
            return self.jwt_secret
        return hashlib.sha256(f"crvs-sandbox-jwt:{self.client_secret}".encode()).hexdigest()
