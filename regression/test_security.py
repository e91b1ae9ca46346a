"""Authentication and permissions: 401 for bad or missing credentials, 403 for missing scopes."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest

from crvs_client import BadRequest, CRVSClient, CRVSError, Forbidden, Unauthorized, current_state
from regression.data import validated
from regression.expect import refused

pytestmark = pytest.mark.security


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _with_payload(token: str, **changes) -> str:
    """The same token with its payload altered and the original signature kept (not re-signed)."""
    header, _, signature = token.split(".")
    return f"{header}.{_b64({**_claims(token), **changes})}.{signature}"


def _as(crvs, token: str | None) -> CRVSClient:
    return crvs.anonymous(token)


def _assert_refused(client: CRVSClient, what: str) -> None:
    """Both a read (search) and a write (create) must answer 401."""
    calls = {"event.search": lambda: client.search([{"eventType": "birth"}], limit=1),
             "event.create": lambda: client.create_event("birth")}
    for name, call in calls.items():
        try:
            call()
        except Unauthorized:
            continue
        except CRVSError as exc:
            pytest.fail(f"{what}; {name} answered HTTP {exc.status} instead", pytrace=False)
        pytest.fail(f"{what}; {name} was accepted", pytrace=False)


@pytest.mark.smoke
def test_hospital_clerk_cannot_register(hospital_clerk, registration_agent, registrar, new_birth):
    record = validated(registration_agent, new_birth())
    hospital_clerk.assign(record.id)
    refused(lambda: hospital_clerk.register(record.id), Forbidden,
            "permission check: a hospital clerk must not register")
    assert current_state(registrar.get_event(record.id)).status == "DECLARED", \
        "permission check: a hospital clerk must not be able to register a birth"


def test_registration_agent_cannot_register(registration_agent, registrar, new_birth):
    record = validated(registration_agent, new_birth())
    registration_agent.assign(record.id)
    refused(lambda: registration_agent.register(record.id), Forbidden,
            "permission check: a registration agent must not register")
    assert current_state(registrar.get_event(record.id)).status == "DECLARED", \
        "permission check: the record must stay DECLARED after a refused registration"


def test_hospital_clerk_cannot_validate(hospital_clerk, registrar, new_birth):
    record = new_birth()
    hospital_clerk.assign(record.id)
    refused(lambda: hospital_clerk.validate(record.id), Forbidden,
            "permission check: a hospital clerk must not validate (farajaland grants VALIDATE_DECLARATION to agents)")
    assert "validated" not in current_state(registrar.get_event(record.id)).flags, \
        "permission check: a hospital clerk must not be able to validate a declaration"


def test_hospital_clerk_cannot_archive(hospital_clerk, registrar, new_birth):
    record = new_birth()
    refused(lambda: hospital_clerk.archive(record.id, "not allowed"), Forbidden,
            "permission check: a hospital clerk must not archive")
    assert current_state(registrar.get_event(record.id)).status == "DECLARED", \
        "permission check: a hospital clerk must not be able to archive a record"


def test_hospital_clerk_cannot_reject(hospital_clerk, registrar, new_birth):
    record = new_birth()
    refused(lambda: hospital_clerk.reject(record.id, "not allowed"), Forbidden,
            "permission check: a hospital clerk must not reject")
    assert "rejected" not in current_state(registrar.get_event(record.id)).flags, \
        "permission check: a hospital clerk must not be able to reject a declaration"


def test_system_client_cannot_declare(system_client, declarations, registrar):
    created = system_client.create_event("birth")
    refused(lambda: system_client.declare(created["id"], declarations.birth()), Forbidden,
            "permission check: a system client must not declare (OpenCRVS allows it create, read, search, notify)")
    assert current_state(registrar.get_event(created["id"])).status == "CREATED", \
        "permission check: a system client's refused declare must leave the record CREATED"


def test_system_client_cannot_register(system_client, registration_agent, new_birth, registrar):
    record = validated(registration_agent, new_birth())
    refused(lambda: system_client.register(record.id), Forbidden,
            "permission check: a system client must not register")
    assert current_state(registrar.get_event(record.id)).status == "DECLARED", \
        "permission check: a system client must not be able to register a birth"


def test_user_may_not_send_created_at_location(hospital_clerk, crvs):
    refused(lambda: hospital_clerk.create_event("birth", location_id=crvs.locations.office.id), BadRequest,
            "validation: createdAtLocation must be refused for users (their office is used)")


@pytest.mark.smoke
def test_no_token_is_401(crvs):
    _assert_refused(_as(crvs, None), "a call without a token must get 401")


def test_no_token_on_rest_is_401(crvs):
    refused(lambda: _as(crvs, None).rest_create_event("birth"), Unauthorized,
            "authentication: REST create without a token must be refused")
    refused(lambda: _as(crvs, None).search([{"eventType": "birth"}], limit=1, via="rest"), Unauthorized,
            "authentication: REST search without a token must be refused")


def test_no_token_on_get_is_401(crvs, new_birth):
    record = new_birth()
    refused(lambda: _as(crvs, None).get_event(record.id), Unauthorized,
            "authentication: event.get without a token must be refused")


def test_garbage_token_is_401(crvs):
    _assert_refused(_as(crvs, "not-a-jwt"), "a garbage token must get 401")


def test_expired_token_is_401(crvs, hospital_clerk):
    expired = _with_payload(hospital_clerk.token, exp=int(time.time()) - 3600)
    _assert_refused(_as(crvs, expired), "an expired token (exp altered, not re-signed) must get 401")


def test_token_past_its_exp_is_401(crvs, hospital_clerk):
    claims = _claims(hospital_clerk.token)
    forged = jwt.encode({**claims, "exp": int(time.time()) - 60}, "a-signing-key-the-target-does-not-know-at-all", algorithm="HS256")
    _assert_refused(_as(crvs, forged), "an expired token signed with another key must get 401")


def test_token_signed_with_another_key_is_401(crvs, hospital_clerk):
    claims = _claims(hospital_clerk.token)
    forged = jwt.encode({**claims, "exp": int(time.time()) + 600}, "a-signing-key-the-target-does-not-know-at-all", algorithm="HS256")
    _assert_refused(_as(crvs, forged), "a token signed with another key must get 401")


def test_unsigned_alg_none_token_is_401(crvs, hospital_clerk):
    claims = {**_claims(hospital_clerk.token), "exp": int(time.time()) + 600}
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    _assert_refused(_as(crvs, forged), "an unsigned (alg none) token must get 401")


def test_token_with_added_scope_is_401(crvs, hospital_clerk, new_birth):
    record = new_birth()
    scopes = [*list(_claims(hospital_clerk.token).get("scope", [])), "record.register"]
    forged = _with_payload(hospital_clerk.token, scope=scopes)
    refused(lambda: _as(crvs, forged).register(record.id), Unauthorized,
            "authentication: a token with scopes added but not re-signed must be refused")
    assert current_state(hospital_clerk.get_event(record.id)).status == "DECLARED", \
        "a token whose scopes were altered without re-signing must not register anything"


def test_wrong_client_secret_is_401(crvs):
    refused(lambda: _as(crvs, None).authenticate_client(crvs.deployment.client.id, "not-the-secret"), Unauthorized,
            "authentication: a wrong client secret must be refused")


def test_unknown_client_is_401(crvs):
    refused(lambda: _as(crvs, None).authenticate_client("00000000-0000-4000-8000-00000000c0de", "whatever"),
            Unauthorized,
            "authentication: an unknown client must be refused")


def test_wrong_password_is_401(crvs):
    user = crvs.deployment.account("hospital_clerk")
    refused(lambda: _as(crvs, None).login(user.username, user.password + "-wrong", crvs.deployment.login_code,
                                          backoff=()),
            Unauthorized, "authentication: a wrong password must be refused")


def test_wrong_login_code_is_401(crvs):
    user = crvs.deployment.account("hospital_clerk")
    code = crvs.deployment.login_code
    wrong = "".join(str((int(c) + 1) % 10) if c.isdigit() else "x" for c in code) or "999999"
    refused(lambda: _as(crvs, None).login(user.username, user.password, wrong, backoff=()), Unauthorized,
            "authentication: a wrong login code must be refused")


def test_unknown_nonce_is_401(crvs):
    resp = httpx.post(f"{crvs.url}/auth/verifyCode", json={"nonce": "no-such-nonce", "code": crvs.deployment.login_code},
                      timeout=15)
    assert resp.status_code == 401, f"verifyCode with an unknown nonce must get 401, got {resp.status_code}"
