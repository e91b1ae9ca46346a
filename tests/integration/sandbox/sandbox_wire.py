"""Plain-httpx helpers for the sandbox's OpenCRVS v2.0.0 wire format (deliberately not crvs_client)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx

from sandbox.locations import KLOW, KLOW_VILLAGE_HOSPITAL
from sandbox.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

CLIENT_ID, CLIENT_SECRET = DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
OFFICE = "3f6f9a2c-0000-4000-8000-0000000000a1"  # Ibombo District Office, the dev users' office
CLERK, AGENT, REGISTRAR = "k.bwalya", "f.katongo", "k.mweene"
# A 1x1 PNG for review.signature.
SIGNATURE_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                              "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e2a1d4a40000000049454e44ae426082")


def _address() -> dict[str, str]:
    return {"country": "FAR", "addressType": "DOMESTIC", "administrativeArea": KLOW}


def days_ago(days: int) -> str:
    """An ISO date `days` before today (recent events need no late-registration reason)."""
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


def birth_declaration(first: str = "Chipo", last: str = "Banda", dob: str | None = None, **extra: Any) -> dict:
    """A complete farajaland v2.0.0 birth declaration (the shape of farajaland's e2e birth-declaration.ts)."""
    dob = dob or days_ago(30)
    return {"child.name": {"firstname": first, "surname": last}, "child.gender": "female", "child.dob": dob,
            "child.placeOfBirth": "HEALTH_FACILITY", "child.birthLocation": KLOW_VILLAGE_HOSPITAL,
            "mother.name": {"firstname": "Mwila", "surname": last}, "mother.dob": "1990-05-01",
            "mother.nationality": "FAR", "mother.idType": "NONE", "mother.address": _address(),
            "informant.relation": "MOTHER", "informant.email": "informant@example.org",
            "father.detailsNotAvailable": True, "father.reason": "Father is missing.", **extra}


def death_declaration(first: str = "Joseph", last: str = "Phiri", dob: str = "1950-01-20",
                      died: str | None = None, **extra: Any) -> dict:
    """A complete farajaland v2.0.0 death declaration, informed by the spouse."""
    died = died or days_ago(10)
    return {"deceased.name": {"firstname": first, "surname": last}, "deceased.gender": "male", "deceased.dob": dob,
            "deceased.nationality": "FAR", "deceased.idType": "NONE", "deceased.address": _address(),
            "eventDetails.date": died, "eventDetails.placeOfDeath": "HEALTH_FACILITY",
            "eventDetails.deathLocation": KLOW_VILLAGE_HOSPITAL,
            "informant.relation": "SPOUSE", "informant.email": "informant@example.org",
            "spouse.name": {"firstname": "Grace", "surname": last}, "spouse.dob": "1952-02-02",
            "spouse.nationality": "FAR", "spouse.idType": "NONE", "spouse.addressSameAs": "YES", **extra}


class TrpcError(Exception):
    """A tRPC call answered with an error envelope (or the gateway answered with a hapi Boom error)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        err = body[0]["error"]["json"] if isinstance(body, list) else body.get("error", {})
        if not isinstance(err, dict):  # a Boom body: {statusCode, error, message}
            err = {"message": body.get("message", ""), "data": {}}
        self.code = err.get("data", {}).get("code")
        self.message = err.get("message", "")
        self.issues = issues(self.message)
        self.fields = [i["id"] for i in self.issues]


def issues(message: str) -> list[dict]:
    """The [{message, id, value}] list of a validation error's message; [] for other messages."""
    try:
        found = json.loads(message)
    except ValueError:
        return []
    return [i for i in found if isinstance(i, dict) and "id" in i] if isinstance(found, list) else []


class Api:
    """A thin plain-httpx caller of the gateway (deliberately not crvs_client); `system` callers name a location."""

    def __init__(self, url: str, token: str | None = None, *, system: bool = True) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30.0)
        self.token = token
        self.system = system

    @classmethod
    def login(cls, url: str, username: str) -> Api:
        """A user caller (authenticate + verifyCode)."""
        return cls(url, user_token(url, username), system=False)

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
        location = {"createdAtLocation": OFFICE} if self.system else {}
        return self.call("event.create", {"transactionId": transaction_id or str(uuid.uuid4()), "type": event_type,
                                          **location, **extra})

    def action(self, name: str, event_id: str, transaction_id: str | None = None, **extra: Any) -> dict:
        return self.call(f"event.actions.{name}", {"eventId": event_id,
                                                   "transactionId": transaction_id or str(uuid.uuid4()), **extra})

    def upload(self, data: bytes = SIGNATURE_PNG, filename: str = "signature.png",
               content_type: str = "image/png") -> dict[str, str]:
        """POST /upload; the file value ({path, originalFilename, type}) a SIGNATURE or FILE field takes."""
        response = self.http.post("/upload", headers=self.headers(), data={"transactionId": str(uuid.uuid4())},
                                  files={"file": (filename, data, content_type)})
        assert response.status_code == 200, response.text
        return {"path": response.text, "originalFilename": filename, "type": content_type}

    def review(self) -> dict[str, Any]:
        """The DECLARE annotation farajaland's form requires: a comment and an uploaded signature."""
        return {"review.comment": "Checked against the hospital notification", "review.signature": self.upload()}

    def declare(self, event_id: str, declaration: dict, **extra: Any) -> dict:
        extra.setdefault("annotation", self.review())
        return self.action("declare.request", event_id, declaration=declaration, **extra)

    def assign(self, event_id: str, user_id: str) -> dict:
        return self.action("assignment.assign", event_id, type="ASSIGN", assignedTo=user_id)

    def register(self, event_id: str, **extra: Any) -> dict:
        return self.action("register.request", event_id, type="REGISTER", **extra)

    def search(self, clauses: list[dict] | None = None, method: str = "POST", **extra: Any) -> dict:
        return self.call("event.search", {"query": {"type": "and", "clauses": clauses or []}, **extra}, method)

    def rest_search(self, clauses: list[dict] | None = None, **extra: Any) -> dict:
        response = self.http.post("/events/events/search", headers=self.headers(),
                                  json={"query": {"type": "and", "clauses": clauses or []}, **extra})
        assert response.status_code == 200, response.text
        return response.json()

    def registered_birth(self, declaration: dict | None = None) -> tuple[dict, dict]:
        """A user caller (a registrar) creates, declares (validated by role), and registers a birth."""
        event = self.create("birth")
        self.declare(event["id"], declaration or birth_declaration(), keepAssignment=True)
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
    """The registration number on an EventDocument's accepted REGISTER action."""
    numbers = [a.get("registrationNumber") for a in document["actions"]
               if a["type"] == "REGISTER" and a.get("status", "Accepted") == "Accepted" and a.get("registrationNumber")]
    return numbers[-1] if numbers else None
