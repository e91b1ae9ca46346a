"""Auth as OpenCRVS v2.0.0: tokens and their claims, client credentials, user login, 2FA, scopes, the 402 limit."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
from sandbox_wire import CLIENT_ID, CLIENT_SECRET, Api, TrpcError, birth_declaration, client_token, user_token

from sandbox.process import SandboxProcess

pytestmark = pytest.mark.integration

READER = ("0b6c3c52-7d7e-4f6b-9d1e-2a4b5c6d7e8f", "reader-secret")
SEARCH = '{"0": {"json": {"query": {"type": "and", "clauses": []}}}}'


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxProcess]:
    """A sandbox with an extra read-only client and the login rate limit off (this module logs in a lot)."""
    with SandboxProcess(auth_rate_limit=0,
                        extra_args=["--client", f"{READER[0]}:{READER[1]}:type=record.read,type=record.search"]
                        ) as proc:
        yield proc


def _search(url: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}/events/event.search?batch=1", content=SEARCH, headers=headers)


def test_no_or_bad_tokens_get_the_gateways_401_without_x_version(sandbox):
    forged = jwt.encode({"sub": CLIENT_ID, "scope": ["type=record.search"], "userType": "system",
                         "exp": int(time.time()) + 600, "iat": int(time.time()), "iss": "opencrvs:auth-service",
                         "aud": ["opencrvs:gateway-user"]}, "another-signing-key-of-thirty-two-bytes!",
                        algorithm="HS256")
    cases = {"": "Missing authentication", "Basic abc": "Missing authentication",
             "Bearer not-a-jwt": "Invalid token format", f"Bearer {forged}": "Invalid token"}
    for header, message in cases.items():
        response = _search(sandbox.url, {"Authorization": header} if header else {})
        assert response.status_code == 401
        assert response.json() == {"statusCode": 401, "error": "Unauthorized", "message": message}
        assert "x-version" not in response.headers
    rest = httpx.post(f"{sandbox.register_url}/api/events/events/search", json={"query": {"type": "and"}})
    assert rest.status_code == 401 and rest.json()["message"] == "Missing authentication"


def test_expired_token_is_401():
    with SandboxProcess(token_ttl=1) as short_lived:
        token = client_token(short_lived.url)
        time.sleep(2.2)
        response = _search(short_lived.url, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["message"] == "Expired token"


def test_client_credentials_answer_and_claims_follow_opencrvs(sandbox):
    for send in ({"data": {"grant_type": "client_credentials", "client_id": CLIENT_ID,
                           "client_secret": CLIENT_SECRET}},
                 {"params": {"grant_type": "client_credentials", "client_id": CLIENT_ID,
                             "client_secret": CLIENT_SECRET}}):
        response = httpx.post(f"{sandbox.url}/auth/token", **send)  # type: ignore[arg-type]
        assert response.status_code == 200 and set(response.json()) == {"access_token", "token_type"}
        assert response.headers["cache-control"] == "no-store"
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == CLIENT_ID and claims["userType"] == "system" and "role" not in claims
    assert claims["scope"] == ["type=record.create", "type=record.read", "type=record.search", "type=record.notify"]
    assert claims["iss"] == "opencrvs:auth-service" and "opencrvs:gateway-user" in claims["aud"]
    assert claims["exp"] - claims["iat"] == 600  # CONFIG_SYSTEM_TOKEN_EXPIRY_SECONDS


def test_user_token_claims_carry_role_user_type_and_a_week_of_life(sandbox):
    claims = jwt.decode(user_token(sandbox.url, "k.bwalya"), options={"verify_signature": False})
    assert claims["role"] == "HOSPITAL_CLERK" and claims["userType"] == "user"
    assert "type=record.declare&placeOfEvent=location" in claims["scope"]
    assert not any(s.startswith("type=record.register") for s in claims["scope"])
    assert claims["exp"] - claims["iat"] == 604800  # CONFIG_TOKEN_EXPIRY_SECONDS
    roles = {u: jwt.decode(user_token(sandbox.url, u), options={"verify_signature": False})["role"]
             for u in ("f.katongo", "k.mweene", "k.mwale", "d.sakala", "c.lungu")}
    assert roles == {"f.katongo": "REGISTRATION_AGENT", "k.mweene": "LOCAL_REGISTRAR", "k.mwale": "LOCAL_REGISTRAR",
                     "d.sakala": "LOCAL_REGISTRAR", "c.lungu": "NATIONAL_REGISTRAR"}


@pytest.mark.parametrize(("params", "status", "error"), [
    ({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "nope"}, 401, "invalid_client"),
    ({"grant_type": "client_credentials", "client_id": "release-gate", "client_secret": CLIENT_SECRET}, 401,
     "invalid_client"),
    ({"grant_type": "client_credentials", "client_id": CLIENT_ID}, 400, "invalid_request"),
    ({"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, 400,
     "unsupported_grant_type"),
])
def test_bad_client_credentials_get_oauth_errors(sandbox, params, status, error):
    response = httpx.post(f"{sandbox.url}/auth/token", params=params)
    assert response.status_code == status and response.json()["error"] == error


def test_wrong_password_wrong_code_and_reused_nonce_are_401(sandbox):
    url = sandbox.url
    for body in ({"username": "k.mweene", "password": "bad"}, {"username": "nobody", "password": "test"}):
        response = httpx.post(f"{url}/auth/authenticate", json=body)
        assert response.status_code == 401 and response.json()["error"] == "Unauthorized"
    started = httpx.post(f"{url}/auth/authenticate", json={"username": "k.mweene", "password": "test"}).json()
    assert set(started) == {"mobile", "status", "nonce"} and started["status"] == "active"
    assert httpx.post(f"{url}/auth/verifyCode", json={"nonce": started["nonce"], "code": "123456"}).status_code == 401
    assert httpx.post(f"{url}/auth/verifyCode", json={"nonce": started["nonce"], "code": "000000"}).status_code == 200
    assert httpx.post(f"{url}/auth/verifyCode", json={"nonce": started["nonce"], "code": "000000"}).status_code == 401
    assert httpx.post(f"{url}/auth/verifyCode", json={"nonce": "unknown", "code": "000000"}).status_code == 401


@pytest.mark.parametrize("body", ['{"username": "k.mweene"', '["k.mweene"]', '{"username": 7, "password": "x"}',
                                  '{"password": "test"}'])
def test_malformed_logins_are_400_not_500(sandbox, body):
    response = httpx.post(f"{sandbox.url}/auth/authenticate", content=body,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["statusCode"] == 400


def test_hospital_clerk_cannot_register_and_registrar_needs_validated(sandbox):
    clerk = Api.login(sandbox.url, "k.bwalya")
    event = clerk.create("birth")
    clerk.declare(event["id"], birth_declaration())
    with pytest.raises(TrpcError) as caught:
        clerk.register(event["id"])
    assert caught.value.status in (403, 409)
    registrar = Api.login(sandbox.url, "k.mweene")
    registrar_id = jwt.decode(registrar.token or "", options={"verify_signature": False})["sub"]
    registrar.assign(event["id"], registrar_id)
    with pytest.raises(TrpcError) as caught:
        registrar.register(event["id"])
    assert caught.value.status == 409, "a hospital clerk's declaration is not validated"


def test_system_client_may_not_declare_and_user_may_not_name_a_location(sandbox):
    system = Api(sandbox.url, client_token(sandbox.url))
    event = system.create("birth")
    with pytest.raises(TrpcError) as caught:
        system.declare(event["id"], birth_declaration(), annotation={})
    assert caught.value.status == 403
    clerk = Api.login(sandbox.url, "k.bwalya")
    with pytest.raises(TrpcError) as caught:
        clerk.call("event.create", {"transactionId": str(uuid.uuid4()), "type": "birth",
                                    "createdAtLocation": "3f6f9a2c-0000-4000-8000-0000000000a1"})
    assert caught.value.status == 400


def test_narrower_extra_client_can_search_but_not_create(sandbox):
    reader = Api(sandbox.url, client_token(sandbox.url, *READER))
    assert reader.search([])["total"] >= 0
    with pytest.raises(TrpcError) as caught:
        reader.create()
    assert caught.value.status == 403


def test_login_rate_limit_is_402_after_ten_a_minute_per_username_and_per_nonce():
    with SandboxProcess() as limited:  # the default: OpenCRVS's 10 a minute
        url = limited.url
        codes = [httpx.post(f"{url}/auth/authenticate", json={"username": "k.bwalya", "password": "bad"}
                            ).status_code for _ in range(11)]
        refused = httpx.post(f"{url}/auth/authenticate", json={"username": "k.bwalya", "password": "test"})
        other_user = httpx.post(f"{url}/auth/authenticate", json={"username": "k.mweene", "password": "test"})
        nonce = other_user.json()["nonce"]
        guesses = [httpx.post(f"{url}/auth/verifyCode", json={"nonce": nonce, "code": f"{n:06d}"}).status_code
                   for n in range(1, 11)]
        right_code_too_late = httpx.post(f"{url}/auth/verifyCode", json={"nonce": nonce, "code": "000000"})
        unlimited_path = httpx.post(f"{limited.register_url}/api/auth/authenticate",
                                    json={"username": "k.bwalya", "password": "test"})
    assert codes == [401] * 10 + [402]
    assert refused.status_code == 402 and refused.json() == {
        "statusCode": 402, "error": "Rate limit exceeded",
        "message": "Too many requests within a minute. Please throttle your requests."}
    assert other_user.status_code == 200
    assert guesses == [401] * 10 and right_code_too_late.status_code == 402
    assert unlimited_path.status_code == 200, "/api/auth/ goes to the auth service, past the gateway's limit"


def test_two_fa_wants_the_configured_code_and_refuses_000000():
    with SandboxProcess(login_code="424242", auth_rate_limit=0) as two_fa:
        started = httpx.post(f"{two_fa.url}/auth/authenticate", json={"username": "k.mweene", "password": "test"})
        nonce = started.json()["nonce"]
        dev_code = httpx.post(f"{two_fa.url}/auth/verifyCode", json={"nonce": nonce, "code": "000000"})
        right = httpx.post(f"{two_fa.url}/auth/verifyCode", json={"nonce": nonce, "code": "424242"})
        profile = two_fa.profile()
        env = two_fa.profile_env()
    assert started.status_code == 200 and set(started.json()) == {"mobile", "status", "nonce"}
    assert dev_code.status_code == 401 and right.status_code == 200 and right.json()["token"]
    assert profile["two_fa"] is True and env[profile["login_code_env"]] == "424242"


@pytest.mark.parametrize(("args", "needle"), [
    (["--client", "release-gate:secret:type=record.read"], "is not a UUID"),
    (["--client-id", "release-gate"], "is not a UUID"),
    (["--dev-code", "123456"], "needs --two-fa"),
    (["--two-fa"], "--two-fa needs --dev-code"),
])
def test_bad_client_ids_and_login_codes_are_usage_errors(tmp_path, args, needle):
    done = subprocess.run([sys.executable, "-m", "sandbox", "serve", "--port", "0", "--db", str(tmp_path / "s.db"),
                           *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and needle in done.stderr
