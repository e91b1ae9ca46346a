"""Fixtures for the conformance module: one sandbox for the package, each user logged in once (OpenCRVS limits
`/auth/authenticate` to 10 a minute per username, core packages/gateway/src/config/proxies.ts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.process import SandboxProcess
from tests.conformance.records import CLIENT_ID, CLIENT_SECRET, LOGIN_CODE, PASSWORD, Hosts, Places
from tests.conformance.wire import client_token_response, jwt_claims, query, user_token

# The version the sandbox is started with; the gateway must report it in X-Version.
APP_VERSION = "2.0.0"


@pytest.fixture(scope="package")
def sandbox() -> Iterator[SandboxProcess]:
    """One sandbox on free loopback ports (gateway, register, config) with the dev client and users."""
    with SandboxProcess(version=APP_VERSION, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as proc:
        yield proc


@pytest.fixture(scope="package")
def hosts(sandbox: SandboxProcess) -> Hosts:
    """The sandbox's three hosts."""
    return Hosts(gateway=sandbox.gateway_url.rstrip("/"), register=sandbox.register_url.rstrip("/"),
                 config=sandbox.config_url.rstrip("/"))


class Logins:
    """User tokens, each user logged in at most once for the package."""

    def __init__(self, hosts: Hosts) -> None:
        self._hosts = hosts
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        """The user's token (two-step login on first use)."""
        if username not in self._tokens:
            self._tokens[username] = user_token(self._hosts.gateway, username, PASSWORD, LOGIN_CODE)
        return self._tokens[username]

    def user_id(self, username: str) -> str:
        """The user's id: the token's `sub` (performance-test src/auth.ts decodeJwtSub)."""
        sub = jwt_claims(self.token(username)).get("sub")
        assert isinstance(sub, str) and sub, f"{username}'s token has no sub claim"
        return sub


@pytest.fixture(scope="package")
def logins(hosts: Hosts) -> Logins:
    """Cached user logins."""
    return Logins(hosts)


@pytest.fixture(scope="package")
def clerk(logins: Logins) -> str:
    """k.bwalya, HOSPITAL_CLERK (farajaland default-employees.csv)."""
    return logins.token("k.bwalya")


@pytest.fixture(scope="package")
def agent(logins: Logins) -> str:
    """f.katongo, REGISTRATION_AGENT."""
    return logins.token("f.katongo")


@pytest.fixture(scope="package")
def registrar(logins: Logins) -> str:
    """k.mweene, LOCAL_REGISTRAR (the user farajaland's e2e registers with)."""
    return logins.token("k.mweene")


@pytest.fixture(scope="package")
def system_token(hosts: Hosts) -> str:
    """The system client's token from `/auth/token` (client_credentials)."""
    answer = client_token_response(hosts.gateway, CLIENT_ID, CLIENT_SECRET)
    assert answer.status_code == 200, f"/auth/token: {answer.status_code} {answer.text[:300]}"
    token = answer.json().get("access_token")
    assert isinstance(token, str) and token, f"/auth/token answered no access_token: {answer.text[:300]}"
    return token


def _id_by_name(items: object, name: str, what: str) -> str:
    """getIdByName (farajaland e2e/testcases/birth/helpers.ts): the id of the item with that exact name."""
    assert isinstance(items, list), f"{what} did not answer a list: {str(items)[:300]}"
    for item in items:
        if isinstance(item, dict) and item.get("name") == name:
            return str(item["id"])
    raise AssertionError(f"{what}: no item named {name!r}")


@pytest.fixture(scope="package")
def places(hosts: Hosts, registrar: str) -> Places:
    """'Klow Village Hospital' and the area 'Klow', found the way farajaland's e2e finds them."""
    facilities = query(hosts.events, "locations.list", {"locationType": "HEALTH_FACILITY"}, registrar).data
    areas = query(hosts.events, "administrativeAreas.list", {}, registrar).data
    return Places(hospital=_id_by_name(facilities, "Klow Village Hospital", "locations.list"),
                  village=_id_by_name(areas, "Klow", "administrativeAreas.list"))
