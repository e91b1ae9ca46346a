"""Authentication as farajaland's e2e (e2e/helpers.ts getToken, getClientToken) and the performance test
(src/auth.ts) do it, against core packages/auth and the gateway's rate limits."""

from __future__ import annotations

import httpx
import pytest

from tests.conformance.conftest import Logins
from tests.conformance.records import CLIENT_ID, CLIENT_SECRET, PASSWORD, Hosts
from tests.conformance.wire import (
    TIMEOUT,
    authenticate,
    client_token_response,
    jwt_claims,
    mutation,
    rest,
    verify_code,
)

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("conformance")]


def test_user_token_is_a_jwt_with_sub_scope_role_and_user_type(logins: Logins) -> None:
    """core packages/auth/src/features/authenticate/service.ts createToken: claims `{scope, userType, role}`,
    subject = the user id; verifyCode answers `{token}` (verifyCode/handler.ts)."""
    claims = jwt_claims(logins.token("k.mweene"))
    assert isinstance(claims.get("sub"), str) and claims["sub"]
    assert isinstance(claims.get("scope"), list) and claims["scope"]
    assert claims.get("userType") == "user"
    assert claims.get("role") == "LOCAL_REGISTRAR"


def test_wrong_password_is_401(hosts: Hosts) -> None:
    """authenticate/handler.ts: a failed authenticate() is Boom unauthorized (401)."""
    answer = authenticate(hosts.gateway, "k.bwalya", PASSWORD + "-wrong")
    assert answer.status_code == 401


def test_client_credentials_answer_an_access_token(hosts: Hosts) -> None:
    """oauthToken/responses.ts success: `{access_token, token_type: 'Bearer'}`; the token's userType is system
    (client-credentials.ts createToken(..., TokenUserType.enum.system))."""
    answer = client_token_response(hosts.gateway, CLIENT_ID, CLIENT_SECRET)
    assert answer.status_code == 200
    body = answer.json()
    assert body.get("token_type") == "Bearer"
    claims = jwt_claims(body["access_token"])
    assert claims.get("userType") == "system"
    assert "role" not in claims or claims["role"] is None


def test_client_credentials_with_a_wrong_secret_is_401_invalid_client(hosts: Hosts) -> None:
    """oauthToken/responses.ts invalidClient: 401 `{error: 'invalid_client', …}`."""
    answer = client_token_response(hosts.gateway, CLIENT_ID, "not-the-secret")
    assert answer.status_code == 401
    assert answer.json().get("error") == "invalid_client"


def test_unsupported_grant_type_is_400(hosts: Hosts) -> None:
    """oauthToken/handler.ts: any grant_type but client_credentials or token-exchange is 400
    `unsupported_grant_type`."""
    answer = httpx.post(f"{hosts.gateway}/auth/token",
                        params={"client_id": CLIENT_ID, "client_secret": "x", "grant_type": "password"}, timeout=TIMEOUT)
    assert answer.status_code == 400
    assert answer.json().get("error") == "unsupported_grant_type"


def test_trpc_without_a_token_is_401(hosts: Hosts) -> None:
    """core packages/gateway/src/server.ts `app.auth.default('jwt')` (hapi-auth-jwt2): the gateway itself refuses a
    request without a token, with a Boom 401 `{statusCode, error: 'Unauthorized', message}`, and Boom answers
    carry no X-Version (onPreResponse sets it only when !isBoom)."""
    answer = mutation(hosts.events, "event.search",
                      {"query": {"type": "and", "clauses": [{"eventType": "birth"}]}}, None)
    assert answer.status == 401
    assert isinstance(answer.body, dict), answer.body
    assert answer.body.get("statusCode") == 401 and answer.body.get("error") == "Unauthorized"
    assert "X-Version" not in answer.headers


def test_rest_with_an_invalid_token_is_401(hosts: Hosts) -> None:
    """farajaland e2e/testcases/events-rest-api/events-create.spec.ts 'HTTP 401 when invalid token is used'."""
    answer = rest("POST", f"{hosts.rest}/events", "foobar")
    assert answer.status_code == 401


def test_login_rate_limit_is_402_after_ten_a_minute(hosts: Hosts) -> None:
    """core packages/gateway/src/config/proxies.ts: `/auth/authenticate` is limited to 10 requests a minute per
    username (rate-limit.ts counts every request); server.ts answers a RateLimitError with 402
    `{statusCode: 402, error: 'Rate limit exceeded', message}`. c.lungu is used by no other test."""
    answers = [authenticate(hosts.gateway, "c.lungu", PASSWORD) for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [200] * 10
    assert answers[10].status_code == 402
    body = answers[10].json()
    assert body.get("statusCode") == 402
    assert body.get("error") == "Rate limit exceeded"


def test_verify_code_rate_limit_is_402_per_nonce(hosts: Hosts) -> None:
    """proxies.ts verifyCode: 10 a minute keyed on the nonce ('OTP brute-force is capped per login attempt');
    a wrong code is 401 (verifyCode/handler.ts). d.sakala is used by no other test."""
    first = authenticate(hosts.gateway, "d.sakala", PASSWORD)
    assert first.status_code == 200
    nonce = first.json()["nonce"]
    answers = [verify_code(hosts.gateway, nonce, "999999") for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert answers[10].status_code == 402
