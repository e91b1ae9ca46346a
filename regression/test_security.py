"""Authentication and permissions: 401 for bad or missing credentials, 403 for missing scopes."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest

from crvs_client import CRVSClient, CRVSError, Forbidden, Unauthorized, current_state
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
    return CRVSClient(crvs.url, token)


def _assert_refused(client: CRVSClient, what: str) -> None:
    """Both a read (search) and a write (create) must answer 401."""
    calls = {"event.search": lambda: client.search([{"eventType": "birth"}], limit=1),
             "event.create": lambda: client.create_event("birth", location_id="regression-none")}
    for name, call in calls.items():
        try:
            call()
        except Unauthorized:
            continue
        except CRVSError as exc:
            pytest.fail(f"{what}; {name} answered HTTP {exc.status} instead", pytrace=False)
        pytest.fail(f"{what}; {name} was accepted", pytrace=False)


@pytest.mark.smoke
def test_field_agent_cannot_register(field_agent, registrar, new_birth):
    record = new_birth()
    refused(lambda: field_agent.register(record.id), Forbidden, "permission check: a field agent must not register")
    assert current_state(registrar.get_event(record.id)).status == "DECLARED", \
        "permission check: a field agent must not be able to register a birth"


def test_registration_agent_cannot_register(registration_agent, registrar, new_birth):
    record = new_birth()
    try:
        registration_agent.register(record.id)
        registered = True
    except Forbidden:
        registered = False
    assert not registered, "permission check: a registration agent must not be able to register (403 expected)"
    assert current_state(registrar.get_event(record.id)).status == "DECLARED", \
        "permission check: the record must stay DECLARED after a refused registration"


def test_field_agent_cannot_print_certificate(field_agent, registered_birth, registrar):
    record = registered_birth()
    refused(lambda: field_agent.print_certificate(record.id), Forbidden,
            "permission check: a field agent must not print a certificate")
    assert "PRINT_CERTIFICATE" not in current_state(registrar.get_event(record.id)).action_types(), \
        "permission check: a field agent must not be able to print a certificate"


def test_field_agent_cannot_archive(field_agent, registrar, new_birth):
    record = new_birth()
    refused(lambda: field_agent.archive(record.id), Forbidden, "permission check: a field agent must not archive")
    assert current_state(registrar.get_event(record.id)).status == "DECLARED", \
        "permission check: a field agent must not be able to archive a record"


def test_field_agent_cannot_reject(field_agent, registrar, new_birth):
    record = new_birth()
    refused(lambda: field_agent.reject(record.id, "not allowed"), Forbidden,
            "permission check: a field agent must not reject")
    assert "rejected" not in current_state(registrar.get_event(record.id)).flags, \
        "permission check: a field agent must not be able to reject a declaration"


@pytest.mark.smoke
def test_no_token_is_401(crvs):
    _assert_refused(_as(crvs, None), "a call without a token must get 401")


def test_no_token_on_rest_is_401(crvs):
    refused(lambda: _as(crvs, None).rest_create_event("birth", location_id="nowhere"), Unauthorized,
            "authentication: REST create without a token must be refused")
    refused(lambda: _as(crvs, None).search([{"eventType": "birth"}], limit=1, via="rest"), Unauthorized,
            "authentication: REST search without a token must be refused")


def test_no_token_on_get_is_401(crvs, new_birth):
    record = new_birth()
    refused(lambda: _as(crvs, None).get_event(record.id), Unauthorized,
            "authentication: event.get without a token must be refused")


def test_garbage_token_is_401(crvs):
    _assert_refused(_as(crvs, "not-a-jwt"), "a garbage token must get 401")


def test_expired_token_is_401(crvs, field_agent):
    expired = _with_payload(field_agent.token, exp=int(time.time()) - 3600)
    _assert_refused(_as(crvs, expired), "an expired token (exp altered, not re-signed) must get 401")


def test_token_past_its_exp_is_401(crvs, field_agent):
    claims = _claims(field_agent.token)
    forged = jwt.encode({**claims, "exp": int(time.time()) - 60}, "a-signing-key-the-target-does-not-know-at-all", algorithm="HS256")
    _assert_refused(_as(crvs, forged), "an expired token signed with another key must get 401")


def test_token_signed_with_another_key_is_401(crvs, field_agent):
    claims = _claims(field_agent.token)
    forged = jwt.encode({**claims, "exp": int(time.time()) + 600}, "a-signing-key-the-target-does-not-know-at-all", algorithm="HS256")
    _assert_refused(_as(crvs, forged), "a token signed with another key must get 401")


def test_unsigned_alg_none_token_is_401(crvs, field_agent):
    claims = {**_claims(field_agent.token), "exp": int(time.time()) + 600}
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    _assert_refused(_as(crvs, forged), "an unsigned (alg none) token must get 401")


def test_token_with_added_scope_is_401(crvs, field_agent, new_birth):
    record = new_birth()
    scopes = [*list(_claims(field_agent.token).get("scope", [])), "record.register"]
    forged = _with_payload(field_agent.token, scope=scopes)
    refused(lambda: _as(crvs, forged).register(record.id), Unauthorized,
            "authentication: a token with scopes added but not re-signed must be refused")
    assert current_state(field_agent.get_event(record.id)).status == "DECLARED", \
        "a token whose scopes were altered without re-signing must not register anything"


def test_wrong_client_secret_is_401(crvs):
    refused(lambda: _as(crvs, None).authenticate_client(crvs.credentials.client_id, "not-the-secret"), Unauthorized,
            "authentication: a wrong client secret must be refused")


def test_unknown_client_is_401(crvs):
    refused(lambda: _as(crvs, None).authenticate_client("no-such-client-regression", "whatever"), Unauthorized,
            "authentication: an unknown client must be refused")


def test_wrong_password_is_401(crvs):
    user = crvs.credentials.users["field_agent"]
    refused(lambda: _as(crvs, None).login(user.username, user.password + "-wrong", crvs.credentials.login_code),
            Unauthorized, "authentication: a wrong password must be refused")


def test_wrong_login_code_is_401(crvs):
    user = crvs.credentials.users["field_agent"]
    code = crvs.credentials.login_code
    wrong = "".join(str((int(c) + 1) % 10) if c.isdigit() else "x" for c in code) or "999999"
    refused(lambda: _as(crvs, None).login(user.username, user.password, wrong), Unauthorized,
            "authentication: a wrong login code must be refused")


def test_unknown_nonce_is_401(crvs):
    resp = httpx.post(f"{crvs.url}/auth/verifyCode", json={"nonce": "no-such-nonce", "code": crvs.credentials.login_code},
                      timeout=15)
    assert resp.status_code == 401, f"verifyCode with an unknown nonce must get 401, got {resp.status_code}"
