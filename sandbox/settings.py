"""Settings of one sandbox server: a frozen dataclass built by the CLI (or tests)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.faults import Faults

DEFAULT_CLIENT_ID = "release-gate"
DEFAULT_CLIENT_SECRET = "release-gate-secret"
DEFAULT_DEV_CODE = "000000"
DEFAULT_VERSION = "2.0.0-sandbox"
DEFAULT_COMMIT = "0" * 40
DEFAULT_TOKEN_TTL = 600


@dataclass(frozen=True)
class ExtraClient:
    """A narrower system client (--client NAME:SECRET:scope1,scope2)."""

    client_id: str
    secret: str
    scopes: tuple[str, ...]


def parse_client(spec: str) -> ExtraClient:
    """Parse NAME:SECRET:scope1,scope2."""
    parts = spec.split(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise ValueError(f"--client: {spec!r} is not NAME:SECRET:scope1,scope2")
    scopes = tuple(s.strip() for s in parts[2].split(",") if s.strip())
    return ExtraClient(parts[0], parts[1], scopes)


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
    app_commit: str = DEFAULT_COMMIT
    dev_code: str = DEFAULT_DEV_CODE
    token_ttl: int = DEFAULT_TOKEN_TTL
    jwt_secret: str = ""
    extra_clients: tuple[ExtraClient, ...] = ()
    auth_rate_limit: int = 0  # authenticate calls per minute per username; 0 = off
    faults: Faults = field(default_factory=Faults)
    read_pool_size: int = 8

    @property
    def signing_key(self) -> str:
        """The HS256 key: --jwt-secret, else derived from the client secret so tokens survive restarts."""
        if self.jwt_secret:
            return self.jwt_secret
        return hashlib.sha256(f"crvs-sandbox-jwt:{self.client_secret}".encode()).hexdigest()
