"""Plain-httpx helpers for the sandbox wire format (deliberately not crvs_client)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

CLIENT_ID, CLIENT_SECRET = "release-gate", "release-gate-secret"


def birth_declaration(first: str = "Chipo", last: str = "Banda", dob: str = "2024-03-14", **extra: Any) -> dict:
    """A complete birth declaration."""
    return {"child.name": {"firstname": first, "surname": last}, "child.gender": "female", "child.dob": dob,
            "mother.name": {"firstname": "Mwila", "surname": last}, "informant.relation": "MOTHER", **extra}


def death_declaration(first: str = "Joseph", last: str = "Phiri", dob: str = "1950-01-20",
                      died: str = "2024-05-01", **extra: Any) -> dict:
    """A complete death declaration."""
    return {"deceased.name": {"firstname": first, "surname": last}, "deceased.gender": "male", "deceased.dob": dob,
            "eventDetails.date": died, "informant.relation": "SPOUSE", **extra}


class TrpcError(Exception):
    """A tRPC call answered with an error envelope."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        err = body[0]["error"]["json"] if isinstance(body, list) else body.get("error", {}).get("json", {})
        self.code = err.get("data", {}).get("code")
        self.fields = err.get("data", {}).get("fields", [])
        self.message = err.get("message", "")


class Api:
    """A thin plain-httpx caller of the sandbox wire format (deliberately not crvs_client)."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30.0)
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def raw(self, procedure: str, data: Any, method: str = "POST") -> httpx.Response:
        envelope = json.dumps({"0": {"json": data}})
        if method == "GET":
            return self.http.get(f"/events/{procedure}", params={"batch": "1", "input": envelope},
                                 headers=self.headers())
        return self.http.post(f"/events/{procedure}?batch=1", content=envelope,
                              headers={**self.headers(), "Content-Type": "application/json"})

    def call(self, procedure: str, data: Any, method: str = "POST") -> Any:
        response = self.raw(procedure, data, method)
        body = response.json()
        if response.status_code != 200:
            raise TrpcError(response.status_code, body)
        return body[0]["result"]["data"]["json"]

    def create(self, event_type: str = "birth", transaction_id: str | None = None, **extra: Any) -> dict:
        return self.call("event.create", {"transactionId": transaction_id or str(uuid.uuid4()), "type": event_type,
                                          "createdAtLocation": "office-1", **extra})

    def action(self, name: str, event_id: str, transaction_id: str | None = None, **extra: Any) -> dict:
        return self.call(f"event.actions.{name}", {"eventId": event_id,
                                                   "transactionId": transaction_id or str(uuid.uuid4()), **extra})

    def declare(self, event_id: str, declaration: dict, **extra: Any) -> dict:
        return self.action("declare.request", event_id, declaration=declaration, **extra)

    def register(self, event_id: str, **extra: Any) -> dict:
        return self.action("register.request", event_id, type="REGISTER", **extra)

    def search(self, clauses: list[dict] | None = None, method: str = "POST", **extra: Any) -> dict:
        return self.call("event.search", {"query": {"type": "and", "clauses": clauses or []}, **extra}, method)

    def rest_search(self, clauses: list[dict] | None = None, **extra: Any) -> dict:
        response = self.http.post("/api/events/events/search", headers=self.headers(),
                                  json={"query": {"type": "and", "clauses": clauses or []}, **extra})
        assert response.status_code == 200, response.text
        return response.json()

    def registered_birth(self, declaration: dict | None = None, **create_extra: Any) -> tuple[dict, dict]:
        event = self.create("birth", **create_extra)
        self.declare(event["id"], declaration or birth_declaration())
        return event, self.register(event["id"])

    def close(self) -> None:
        self.http.close()


def client_token(url: str, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> str:
    """A system client token."""
    response = httpx.post(f"{url}/auth/token", params={"grant_type": "client_credentials", "client_id": client_id,
                                                       "client_secret": secret}, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def user_token(url: str, username: str, password: str = "test", code: str = "000000") -> str:
    """A user token via authenticate + verifyCode."""
    nonce = httpx.post(f"{url}/auth/authenticate", json={"username": username, "password": password},
                       timeout=10).json()["nonce"]
    response = httpx.post(f"{url}/auth/verifyCode", json={"nonce": nonce, "code": code}, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def registration_number(document: dict) -> str | None:
    """The registration number on an EventDocument's REGISTER action."""
    numbers = [a.get("registrationNumber") for a in document["actions"] if a["type"] == "REGISTER"]
    return numbers[-1] if numbers else None
