"""The token cache: one login per account while the token lives, renewed near `exp`."""

from __future__ import annotations

import base64
import json

import pytest

from crvs_client.tokens import EXPIRY_MARGIN_S, TokenCache, token_expiry

pytestmark = pytest.mark.unit


def jwt(**claims):
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{b64({'alg': 'RS256'})}.{b64(claims)}.sig"


def test_expiry_comes_from_exp_or_a_default():
    assert token_expiry(jwt(sub="u", exp=2000), now=1000) == 2000
    assert token_expiry("not-a-jwt", now=1000) == 1600


def test_one_login_per_key_until_near_expiry():
    now = [1000.0]
    cache = TokenCache(clock=lambda: now[0])
    logins = []

    def login():
        logins.append(1)
        return jwt(sub="u", exp=now[0] + 600)

    key = ("https://gw", "user", "k.mweene")
    first = cache.obtain(key, login)
    assert cache.obtain(key, login) == first and len(logins) == 1
    now[0] += 600 - EXPIRY_MARGIN_S + 1
    cache.obtain(key, login)
    assert len(logins) == 2, "a token about to expire must be renewed"
    cache.obtain(("https://gw", "user", "k.mwale"), login)
    assert len(logins) == 3 and cache.logins == 3


def test_drop_forgets_only_the_given_token():
    cache = TokenCache(clock=lambda: 0.0)
    key = ("g", "system", "c")
    cache.put(key, jwt(exp=10_000))
    cache.drop(key, "another-token")
    assert cache.get(key) is not None
    cache.drop(key)
    assert cache.get(key) is None
