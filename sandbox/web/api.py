"""A small in-process client for the sandbox gateway, speaking only its wire format (docs/wire-contract.md)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp

BASE_URL = "http://sandbox"
TIMEOUT_SECONDS = 30.0


@dataclass
class ApiError(Exception):
    """The API answered with an error status, or with something that is not its wire format."""

    status: int
    message: str
    fields: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


def validation_issues(message: str) -> list[dict[str, Any]]:
    """The [{message, id, value}] list OpenCRVS puts, as JSON, in a validation error's message; [] otherwise."""
    if not message.startswith("["):
        return []
    try:
        issues = json.loads(message)
    except ValueError:
        return []
    if not isinstance(issues, list):
        return []
    return [i for i in issues if isinstance(i, dict) and isinstance(i.get("id"), str)]


def _error_from_response(response: httpx.Response) -> ApiError:
    """Turn an error response (tRPC envelope, REST body, hapi Boom or anything else) into an ApiError.

    A validation error's fields come from the JSON list in its message.
    """
    message = response.reason_phrase or "error"
    fields: tuple[str, ...] = ()
    try:
        body = response.json()
    except ValueError:
        return ApiError(response.status_code, message)
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0].get("error", {}).get("json", body[0])
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"].get("json", body["error"])
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
        issues = validation_issues(message)
        if issues:
            fields = tuple(str(i["id"]) for i in issues)
            message = "; ".join(f"{i['id']}: {i.get('message', 'invalid')}" for i in issues)
    return ApiError(response.status_code, message, fields)


def _trpc_output(response: httpx.Response) -> Any:
    """The `json` output of a successful tRPC batch answer."""
    if response.status_code != 200:
        raise _error_from_response(response)
    try:
        return response.json()[0]["result"]["data"]["json"]
    except (ValueError, LookupError, TypeError) as exc:
        raise ApiError(502, "The API answered in an unexpected format.") from exc


def _json_output(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a successful REST answer."""
    if response.status_code != 200:
        raise _error_from_response(response)
    try:
        body = response.json()
    except ValueError as exc:
        raise ApiError(502, "The API answered in an unexpected format.") from exc
    if not isinstance(body, dict):
        raise ApiError(502, "The API answered in an unexpected format.")
    return body


class SandboxApi:
    """Calls the API app in-process through httpx's ASGI transport; one instance per web request."""

    def __init__(self, api_app: ASGIApp, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api_app, raise_app_exceptions=False),
            base_url=BASE_URL, headers=headers, timeout=TIMEOUT_SECONDS,
        )

    async def __aenter__(self) -> SandboxApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(502, "The API could not be reached.") from exc

    async def authenticate(self, username: str, password: str) -> str:
        """Step one of the user login; returns the nonce."""
        body = _json_output(await self._send("POST", "/auth/authenticate",
                                             json={"username": username, "password": password}))
        nonce = body.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise ApiError(502, "The login service answered without a nonce.")
        return nonce

    async def verify_code(self, nonce: str, code: str) -> str:
        """Step two of the user login; returns the JWT."""
        body = _json_output(await self._send("POST", "/auth/verifyCode", json={"nonce": nonce, "code": code}))
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise ApiError(502, "The login service answered without a token.")
        return token

    async def mutation(self, procedure: str, payload: dict[str, Any]) -> Any:
        """A tRPC mutation: POST /events/<procedure>?batch=1."""
        response = await self._send("POST", f"/events/{procedure}", params={"batch": "1"},
                                    json={"0": {"json": payload}})
        return _trpc_output(response)

    async def query(self, procedure: str, payload: dict[str, Any]) -> Any:
        """A tRPC query: GET /events/<procedure>?batch=1&input=..."""
        encoded = json.dumps({"0": {"json": payload}}, separators=(",", ":"))
        response = await self._send("GET", f"/events/{procedure}", params={"batch": "1", "input": encoded})
        return _trpc_output(response)

    async def upload(self, filename: str, content_type: str, data: bytes) -> dict[str, str]:
        """POST /upload (multipart file + transactionId); the file value a FILE or SIGNATURE field takes."""
        response = await self._send("POST", "/upload", data={"transactionId": str(uuid.uuid4())},
                                    files={"file": (filename, data, content_type)})
        if response.status_code != 200:
            raise _error_from_response(response)
        path = response.text.strip()
        if not path:
            raise ApiError(502, "The upload answered without a path.")
        return {"path": path, "originalFilename": filename, "type": content_type}

    async def locations(self, location_type: str) -> list[dict[str, Any]]:
        """locations.list {locationType, isActive: true}."""
        found = await self.query("locations.list", {"locationType": location_type, "isActive": True})
        return [loc for loc in found if isinstance(loc, dict)] if isinstance(found, list) else []

    async def administrative_areas(self) -> list[dict[str, Any]]:
        """administrativeAreas.list {isActive: true}."""
        found = await self.query("administrativeAreas.list", {"isActive": True})
        return [area for area in found if isinstance(area, dict)] if isinstance(found, list) else []

    async def get_event(self, event_id: str) -> dict[str, Any]:
        """The EventDocument of one record."""
        document = await self.query("event.get", {"eventId": event_id})
        if not isinstance(document, dict) or not isinstance(document.get("actions"), list):
            raise ApiError(502, "The API answered in an unexpected format.")
        return document

    async def search(self, search_input: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        """Run event.search; returns (results, total)."""
        body = await self.query("event.search", search_input)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise ApiError(502, "The API answered in an unexpected format.")
        results = [r for r in body["results"] if isinstance(r, dict)]
        total = body.get("total")
        return results, int(total) if isinstance(total, int) else len(results)
