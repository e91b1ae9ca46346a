"""Raw OpenCRVS v2.0.0 wire calls with httpx, shaped exactly as OpenCRVS's own clients send them.

Sources:
- tRPC batch envelope: opencrvs/performance-test src/client.ts (`POST {events}/{proc}?batch=1` body
  `{"0": {"json": input}}`, queries by `GET …?batch=1&input=`), and `@opencrvs/toolkit/api` createClient used by
  farajaland e2e/testcases/test-data/birth-declaration.ts. The events service runs tRPC with the superjson
  transformer (core packages/events/src/router/trpc.ts), hence the `json` wrapper.
- User login: farajaland e2e/helpers.ts getToken and performance-test src/auth.ts (`/auth/authenticate` then
  `/auth/verifyCode` with code 000000; the user id is the JWT's `sub`).
- System client: farajaland e2e/helpers.ts getClientToken (`POST {gateway}/auth/token?client_id&client_secret&
  grant_type=client_credentials`, answer `access_token`; core packages/auth/src/features/oauthToken/responses.ts).
- Upload: farajaland e2e/testcases/test-data/utils.ts uploadFile (multipart `file` + `transactionId` to
  `{gateway}/upload`, the answer's text is the path).
- REST: farajaland e2e/testcases/events-rest-api/helpers.ts fetchClientAPI (`{register}/api/events/…`, JSON).
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

TIMEOUT = 30.0


def new_id() -> str:
    """A fresh transaction id, as the e2e tests make with uuidv4()."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class TrpcAnswer:
    """One tRPC batch call's HTTP answer, unwrapped."""

    status: int
    body: Any
    headers: httpx.Headers

    @property
    def data(self) -> Any:
        """The procedure's output (`[0].result.data.json`); AssertionError with the body if it is not a success."""
        assert self.status == 200, f"expected 200, got {self.status}: {_short(self.body)}"
        assert isinstance(self.body, list) and self.body, f"not a tRPC batch answer: {_short(self.body)}"
        entry = self.body[0]
        assert "result" in entry, f"not a tRPC result: {_short(entry)}"
        return entry["result"]["data"]["json"]

    @property
    def error(self) -> dict[str, Any]:
        """The tRPC error object (`[0].error.json`); AssertionError if the answer is not an error."""
        body = self.body
        if isinstance(body, list):
            assert body, "empty tRPC batch answer"
            body = body[0]
        assert isinstance(body, dict) and "error" in body, f"not a tRPC error: {_short(self.body)}"
        err = body["error"]
        return err["json"] if isinstance(err, dict) and "json" in err else err


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:800]


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _auth(token: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def mutation(base: str, procedure: str, payload: Any, token: str | None) -> TrpcAnswer:
    """`POST {base}/{procedure}?batch=1` with `{"0": {"json": payload}}` (performance-test src/client.ts call())."""
    response = httpx.post(f"{base}/{procedure}", params={"batch": "1"}, content=json.dumps({"0": {"json": payload}}),
                          headers=_auth(token), timeout=TIMEOUT)
    return TrpcAnswer(response.status_code, _decode(response), response.headers)


def query(base: str, procedure: str, payload: Any, token: str | None) -> TrpcAnswer:
    """`GET {base}/{procedure}?batch=1&input=<urlencoded batch>` (performance-test src/client.ts query())."""
    envelope = {"0": {"json": payload}} if payload is not None else {"0": {}}
    response = httpx.get(f"{base}/{procedure}", params={"batch": "1", "input": json.dumps(envelope)},
                         headers=_auth(token), timeout=TIMEOUT)
    return TrpcAnswer(response.status_code, _decode(response), response.headers)


def authenticate(gateway: str, username: str, password: str) -> httpx.Response:
    """`POST {gateway}/auth/authenticate {username, password}` (farajaland e2e/helpers.ts getToken)."""
    return httpx.post(f"{gateway}/auth/authenticate", json={"username": username, "password": password},
                      timeout=TIMEOUT)


def verify_code(gateway: str, nonce: str, code: str) -> httpx.Response:
    """`POST {gateway}/auth/verifyCode {nonce, code}`."""
    return httpx.post(f"{gateway}/auth/verifyCode", json={"nonce": nonce, "code": code}, timeout=TIMEOUT)


def user_token(gateway: str, username: str, password: str, code: str) -> str:
    """A user's token by the two-step login; AssertionError naming the step that failed."""
    first = authenticate(gateway, username, password)
    assert first.status_code == 200, f"authenticate {username}: {first.status_code} {first.text[:300]}"
    nonce = first.json().get("nonce")
    assert isinstance(nonce, str) and nonce, f"authenticate {username}: no nonce in {first.text[:300]}"
    second = verify_code(gateway, nonce, code)
    assert second.status_code == 200, f"verifyCode {username}: {second.status_code} {second.text[:300]}"
    token = second.json().get("token")
    assert isinstance(token, str) and token, f"verifyCode {username}: no token in {second.text[:300]}"
    return token


def client_token_response(gateway: str, client_id: str, client_secret: str) -> httpx.Response:
    """`POST {gateway}/auth/token?client_id=…&client_secret=…&grant_type=client_credentials` (e2e getClientToken)."""
    return httpx.post(f"{gateway}/auth/token", params={"client_id": client_id, "client_secret": client_secret,
                                                       "grant_type": "client_credentials"},
                      headers={"Content-Type": "application/json"}, timeout=TIMEOUT)


def jwt_claims(token: str) -> dict[str, Any]:
    """The JWT payload, unverified (performance-test src/auth.ts decodeJwtSub; e2e jwt-decode)."""
    parts = token.split(".")
    assert len(parts) == 3, "the token is not a JWT (three dot-separated parts)"
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    claims = json.loads(base64.urlsafe_b64decode(padded))
    assert isinstance(claims, dict), "the JWT payload is not an object"
    return claims


def upload(gateway: str, token: str, content: bytes, filename: str, mime: str,
           transaction_id: str) -> httpx.Response:
    """`POST {gateway}/upload` multipart `file` + `transactionId` (farajaland e2e/testcases/test-data/utils.ts)."""
    return httpx.post(f"{gateway}/upload", headers={"Authorization": f"Bearer {token}"},
                      files={"file": (filename, content, mime)}, data={"transactionId": transaction_id},
                      timeout=TIMEOUT)


def rest(method: str, url: str, token: str | None, body: Any = None) -> httpx.Response:
    """A REST call as fetchClientAPI sends it: JSON content type, bearer token, a body except on GET/DELETE."""
    content = None if method in ("GET", "DELETE") else json.dumps({} if body is None else body)
    return httpx.request(method, url, headers=_auth(token), content=content, timeout=TIMEOUT)


# A 1x1 transparent PNG: the signature image's bytes (farajaland sends test-data/signature.png).
SIGNATURE_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
