"""The edge's pure parts: client ids, the login rate limiter, token claims and principals."""

from __future__ import annotations

import jwt
import pytest

from sandbox import auth as auth_module
from sandbox.auth import Auth, AuthFailure, RateLimited, RateLimiter, TokenRejected, v2_system_scopes
from sandbox.settings import DEFAULT_CLIENT_ID, ClientSpecError, Settings, parse_client

pytestmark = pytest.mark.unit


def test_extra_clients_need_uuid_ids():
    client = parse_client("0B6C3C52-7D7E-4F6B-9D1E-2A4B5C6D7E8F:s3cret:type=record.read, type=record.search")
    assert client.client_id == "0b6c3c52-7d7e-4f6b-9d1e-2a4b5c6d7e8f"
    assert client.scopes == ("type=record.read", "type=record.search")
    for bad in ("reader:secret:type=record.read", "no-colons", f"{DEFAULT_CLIENT_ID}::x"):
        with pytest.raises(ClientSpecError):
            parse_client(bad)


def test_rate_limiter_counts_every_request_and_each_one_pushes_the_window(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(auth_module.time, "monotonic", lambda: clock[0])
    limiter = RateLimiter(2)
    limiter.hit("k.bwalya:/auth/authenticate")
    limiter.hit("k.bwalya:/auth/authenticate")
    with pytest.raises(RateLimited) as caught:
        limiter.hit("k.bwalya:/auth/authenticate")
    assert caught.value.status == 402
    limiter.hit("k.mweene:/auth/authenticate")  # another key has its own count
    clock[0] += 59  # still refused: the refused request pushed the expiry on, as the gateway's pExpire does
    with pytest.raises(RateLimited):
        limiter.hit("k.bwalya:/auth/authenticate")
    clock[0] += 61
    limiter.hit("k.bwalya:/auth/authenticate")
    RateLimiter(0).hit("anything")  # 0 = off


def test_login_issues_opencrvs_shaped_user_tokens_and_verify_reads_them_back():
    auth = Auth(Settings(jwt_secret="unit-test-key-of-thirty-two-bytes!!"))
    started = auth.authenticate("k.mweene", "test")
    assert set(started) == {"mobile", "status", "nonce"}
    token = auth.verify_code(started["nonce"], "000000")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["role"], claims["userType"], claims["iss"]) == ("LOCAL_REGISTRAR", "user", "opencrvs:auth-service")
    principal = auth.verify(f"Bearer {token}")
    assert principal.user_type == "user" and principal.role == "LOCAL_REGISTRAR" and principal.office_id
    system = auth.verify(f"Bearer {auth.client_token(DEFAULT_CLIENT_ID, 'release-gate-secret')}")
    assert system.user_type == "system" and system.is_system and system.role == "" and system.office_id is None


def test_two_fa_code_and_bad_inputs():
    auth = Auth(Settings(two_fa=True, dev_code="424242", jwt_secret="unit-test-key-of-thirty-two-bytes!!"))
    nonce = str(auth.authenticate("k.bwalya", "test")["nonce"])
    with pytest.raises(AuthFailure):
        auth.verify_code(nonce, "000000")
    assert auth.verify_code(nonce, "424242")
    with pytest.raises(AuthFailure) as caught:
        auth.authenticate(None, "test")
    assert caught.value.status == 400
    with pytest.raises(TokenRejected, match="Missing authentication"):
        auth.verify(None)


def test_legacy_integration_scopes_are_encoded_as_v2_scopes():
    assert v2_system_scopes(("record.read", "type=record.notify&event=birth", "record.import")) == (
        "type=record.read", "type=record.notify&event=birth", "type=record.import")
