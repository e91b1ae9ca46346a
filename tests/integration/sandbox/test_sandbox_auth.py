"""401 and 403 paths: tokens, client credentials, user login, scopes, narrower clients, token expiry."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
from sandbox_wire import Api, TrpcError, birth_declaration, client_token, user_token

from sandbox.process import SandboxProcess

pytestmark = pytest.mark.integration

READER = ("reader", "reader-secret")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxProcess]:
    """A sandbox with an extra read-only client."""
    with SandboxProcess(extra_args=["--client", f"{READER[0]}:{READER[1]}:record.read,record.search"]) as proc:
        yield proc


def _search_status(url: str, headers: dict[str, str]) -> int:
    envelope = '{"0": {"json": {"query": {"type": "and", "clauses": []}}}}'
    return httpx.post(f"{url}/events/event.search?batch=1", content=envelope, headers=headers).status_code


def test_no_token_is_401_on_trpc_and_rest(sandbox):
    assert _search_status(sandbox.url, {}) == 401
    response = httpx.post(f"{sandbox.url}/api/events/events/search", json={"query": {"type": "and", "clauses": []}})
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHORIZED"


def test_garbage_and_foreign_tokens_are_401(sandbox):
    assert _search_status(sandbox.url, {"Authorization": "Bearer not-a-jwt"}) == 401
    assert _search_status(sandbox.url, {"Authorization": "Basic abc"}) == 401
    forged = jwt.encode({"sub": "release-gate", "scope": ["record.search"], "exp": int(time.time()) + 600,
                         "iat": int(time.time()), "iss": "opencrvs:auth-service",
                         "aud": ["opencrvs:gateway-user", "opencrvs:events-user"]}, "another-signing-key-of-thirty-two-bytes!", algorithm="HS256")
    response = httpx.post(f"{sandbox.url}/events/event.search?batch=1", headers={"Authorization": f"Bearer {forged}"},
                          json={"0": {"json": {}}})
    assert response.status_code == 401
    assert response.json()[0]["error"]["json"]["data"]["code"] == "UNAUTHORIZED"


def test_expired_token_is_401():
    with SandboxProcess(token_ttl=1) as short_lived:
        token = client_token(short_lived.url)
        time.sleep(2.2)
        response = httpx.post(f"{short_lived.url}/events/event.search?batch=1", json={"0": {"json": {}}},
                              headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()[0]["error"]["json"]["message"] == "token expired"  # well signed, only too old


def test_wrong_client_secret_is_401(sandbox):
    response = httpx.post(f"{sandbox.url}/auth/token", params={"grant_type": "client_credentials",
                                                               "client_id": "release-gate", "client_secret": "nope"})
    assert response.status_code == 401


def test_client_credentials_as_form_body_and_claims(sandbox):
    response = httpx.post(f"{sandbox.url}/auth/token", data={"grant_type": "client_credentials",
                                                             "client_id": "release-gate",
                                                             "client_secret": "release-gate-secret"})
    body = response.json()
    assert response.status_code == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "release-gate" and "record.register" in claims["scope"]
    assert {"exp", "iat", "iss", "role"} <= set(claims)


def test_wrong_password_wrong_code_and_reused_nonce_are_401(sandbox):
    url = sandbox.url
    assert httpx.post(f"{url}/auth/authenticate", json={"username": "k.mweene", "password": "bad"}).status_code == 401
    assert httpx.post(f"{url}/auth/authenticate", json={"username": "nobody", "password": "test"}).status_code == 401
    started = httpx.post(f"{url}/auth/authenticate", json={"username": "k.mweene", "password": "test"}).json()
    assert started["status"] == "active" and started["mobile"]
    assert httpx.post(f"{url}/auth/verifyCode", json={"nonce": started["nonce"], "code": "123456"}).status_code == 401
    assert httpx.post(f"{url}/auth/verifyCode", json={"nonce": started["nonce"], "code": "000000"}).status_code == 200
    assert httpx.post(f"{url}/auth/verifyCode", json={"nonce": started["nonce"], "code": "000000"}).status_code == 401
    assert httpx.post(f"{url}/auth/verifyCode", json={"nonce": "unknown", "code": "000000"}).status_code == 401


def test_field_agent_cannot_register_or_assign(sandbox):
    agent = Api(sandbox.url, user_token(sandbox.url, "k.bwalya"))
    event = agent.call("event.create", {"transactionId": str(uuid.uuid4()), "type": "birth"})
    agent.declare(event["id"], birth_declaration())
    for call in (lambda: agent.register(event["id"]),
                 lambda: agent.action("assignment.assign", event["id"], type="ASSIGN", assignedTo="x")):
        with pytest.raises(TrpcError) as caught:
            call()
        assert caught.value.status == 403 and caught.value.code == "FORBIDDEN"
    registration_agent = Api(sandbox.url, user_token(sandbox.url, "f.katongo"))
    with pytest.raises(TrpcError) as caught:
        registration_agent.register(event["id"])
    assert caught.value.status == 403
    fetched = agent.call("event.get", {"eventId": event["id"]})
    assert [a["type"] for a in fetched["actions"]] == ["CREATE", "DECLARE"]


def test_narrower_extra_client_can_search_but_not_create(sandbox):
    reader = Api(sandbox.url, client_token(sandbox.url, *READER))
    assert reader.search([])["total"] >= 0
    with pytest.raises(TrpcError) as caught:
        reader.create()
    assert caught.value.status == 403


def test_auth_rate_limit_when_enabled():
    with SandboxProcess(extra_args=["--auth-rate-limit", "2"]) as limited:
        codes = [httpx.post(f"{limited.url}/auth/authenticate", json={"username": "k.bwalya", "password": "bad"}
                            ).status_code for _ in range(3)]
        other_user = httpx.post(f"{limited.url}/auth/authenticate", json={"username": "k.mweene", "password": "test"})
    assert codes == [401, 401, 429] and other_user.status_code == 200
