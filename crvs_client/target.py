"""A Target is a Deployment with logged-in clients: the system client for what OpenCRVS lets it do
(create, read, search, notify: `SYSTEM_USER_ALLOWED_ACTIONS`, packages/events/src/router/event/actions/
index.ts) and user logins, one token per account per process, for everything else.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import TypeVar

from crvs_client import wire
from crvs_client.client import DEFAULT_ACCEPT_TIMEOUT_S, CRVSClient
from crvs_client.deployment import Account, Deployment
from crvs_client.errors import ProtocolError
from crvs_client.locations import Locations, discover
from crvs_client.tokens import TOKENS, TokenCache
from crvs_client.transport import HttpxTransport, Transport

TransportFactory = Callable[[str], Transport]
C = TypeVar("C", bound=CRVSClient)


class Target:
    """Clients for one deployment; tokens come from a shared per-process cache."""

    def __init__(self, deployment: Deployment, *, transport: TransportFactory | None = None,
                 tokens: TokenCache = TOKENS, timeout: float = 30.0,
                 accept_timeout: float = DEFAULT_ACCEPT_TIMEOUT_S, locations: Locations | None = None) -> None:
        self.deployment = deployment
        self._transport = transport or (lambda base: HttpxTransport(base, timeout=timeout))
        self._timeout = timeout
        self.tokens = tokens
        self.accept_timeout = accept_timeout
        self._locations = locations
        self._lock = threading.Lock()
        self._round_robin: dict[str, itertools.count[int]] = {}

    def __repr__(self) -> str:
        return f"Target({self.deployment.name!r}, gateway={self.deployment.gateway!r})"

    # -- tokens -----------------------------------------------------------------------------------
    def _auth_client(self) -> CRVSClient:
        # Logins go over a plain httpx transport so load statistics count only the scenario's calls.
        return CRVSClient(HttpxTransport(self.deployment.gateway, timeout=self._timeout))

    def _key(self, kind: str, name: str) -> tuple[str, str, str]:
        return (self.deployment.gateway, kind, name)

    def system_token(self, *, fresh: bool = False) -> str:
        """The system client's token (client_credentials), cached."""
        key = self._key("system", self.deployment.client.id)
        if fresh:
            self.tokens.drop(key)

        def login() -> str:
            c = self.deployment.client
            return self._auth_client().authenticate_client(c.id, c.secret)
        return self.tokens.obtain(key, login)

    def user_token(self, account: Account, *, fresh: bool = False) -> str:
        """A user's token (authenticate + verifyCode), cached per account."""
        key = self._key("user", account.username)
        if fresh:
            self.tokens.drop(key)

        def login() -> str:
            return self._auth_client().login(account.username, account.password, self.deployment.login_code)
        return self.tokens.obtain(key, login)

    # -- clients ----------------------------------------------------------------------------------
    def anonymous(self, token: str | None = None) -> CRVSClient:
        """A client with no (or the given) token; for tests of authentication."""
        return CRVSClient(self._transport(self.deployment.gateway), token, rest_base=self.deployment.rest_base,
                          accept_timeout=self.accept_timeout)

    def system(self, cls: type[C] = CRVSClient) -> C:  # type: ignore[assignment]
        """The system client, with the office as `createdAtLocation` once locations are known."""
        office = self._locations.office.id if self._locations is not None else None
        client = cls(self._transport(self.deployment.gateway), self.system_token(),
                            rest_base=self.deployment.rest_base, location_id=office, user_type="system",
                            accept_timeout=self.accept_timeout,
                            relogin=lambda _c: self.system_token(fresh=True))
        return client

    def next_account(self, role: str) -> Account:
        """The next account of `role`, round-robin over the pool (per process)."""
        with self._lock:
            counter = self._round_robin.setdefault(role, itertools.count())
            index = next(counter)
        return self.deployment.account(role, index)

    def user(self, role: str, index: int | None = None, cls: type[C] = CRVSClient) -> C:  # type: ignore[assignment]
        """A client logged in as an account of `role` (the `index`-th, or the next one round-robin)."""
        account = self.next_account(role) if index is None else self.deployment.account(role, index)
        return self.user_client(account, cls)

    def user_client(self, account: Account, cls: type[C] = CRVSClient) -> C:  # type: ignore[assignment]
        """A client logged in as `account`."""
        return cls(self._transport(self.deployment.gateway), self.user_token(account),
                          rest_base=self.deployment.rest_base, user_type="user",
                          accept_timeout=self.accept_timeout,
                          relogin=lambda _c: self.user_token(account, fresh=True))

    # -- facts about the deployment ---------------------------------------------------------------
    def identity(self) -> str:
        """The version the deployment reports: the profile's header on its gateway path (default `X-Version` on
        `/ping`), or the key of its JSON endpoint. A `command` identity is run by `release` only; the suite then
        records the gateway's X-Version."""
        ident = self.deployment.identity
        if ident.json_url and ident.json_key:
            resp = HttpxTransport(ident.json_url, timeout=self._timeout).request("GET", ident.json_url, name="identity")
            body = wire.unwrap_rest("identity", resp.status, resp.text)
            value = body.get(ident.json_key) if isinstance(body, dict) else None
            if not value:
                raise ProtocolError("identity", resp.status, f"{ident.json_url} has no {ident.json_key!r}")
            return str(value)
        return self.anonymous().identity(ident.header or "X-Version", ident.path)

    def locations(self) -> Locations:
        """The office, health facility and area this run uses (discovered once)."""
        with self._lock:
            known = self._locations
        if known is None:
            known = discover(self.system(), self.deployment.locations)
            with self._lock:
                self._locations = known
        return known
