"""What each persona does, as in OpenCRVS's performance test; plain functions over a CRVSClient.

OpenCRVS v2.0.0's rules shape the flows: the registrar persona is a LOCAL_REGISTRAR user (system clients may
not declare or register), whose DECLARE adds `validated` in farajaland and keeps the assignment
(`keepAssignment`), so register follows without a new assign. The searcher and the reader use the system client,
which may search and read; `event.get` writes a READ action in v2.0.0, so the reader is a write workload too.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crvs_client import CRVSClient, SyntheticFactory, current_state, review_annotation, signature_png
from crvs_client.client import REGISTRATION_NUMBER_KEY, exact, fuzzy, new_transaction_id

DEFAULT_WEIGHTS: dict[str, int] = {"registrar": 50, "searcher": 30, "reader": 20}
PERSONAS = ("registrar", "searcher", "reader", "ping")
# Which procedures each persona calls; a procedure with an SLO that no active persona calls is not expected.
PROCEDURES: dict[str, tuple[str, ...]] = {
    "registrar": ("event.create", "upload", "event.actions.declare.request", "event.search",
                  "event.actions.register.request"),
    "searcher": ("event.search",),
    "reader": ("event.get",),
    "ping": ("ping",),
}


def parse_weights(text: str | Mapping[str, Any] | None) -> dict[str, int]:
    """Read `registrar=50,searcher=30,reader=20` (or a mapping); unnamed personas keep weight 0 when any is given."""
    if text is None or text == "":
        return dict(DEFAULT_WEIGHTS)
    items = text.items() if isinstance(text, Mapping) else (
        part.split("=", 1) if "=" in part else (part, "") for part in str(text).split(",") if part.strip())
    weights = dict.fromkeys(DEFAULT_WEIGHTS, 0)
    for name, value in items:
        name = str(name).strip()
        if name not in PERSONAS:
            raise ValueError(f"unknown persona {name!r} (expected {', '.join(PERSONAS)})")
        try:
            weight = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"weight of {name!r} must be a whole number, got {value!r}") from None
        if weight < 0:
            raise ValueError(f"weight of {name!r} must be zero or more")
        weights[name] = weight
    if not any(weights.values()):
        raise ValueError("at least one persona needs a weight above zero")
    return weights


def expected_procedures(weights: Mapping[str, int]) -> set[str]:
    """Procedures the scenario calls with these weights."""
    return {p for name, w in weights.items() if w > 0 for p in PROCEDURES.get(name, ())}


@dataclass(frozen=True)
class Registered:
    """What a searcher or reader may look up: a record this run made (or found at start)."""

    event_id: str
    tracking_id: str
    name: str
    dob: str
    registration_number: str | None


class SearchPool:
    """A bounded, thread-safe pool of records to search for and read."""

    def __init__(self, size: int = 500) -> None:
        self._items: deque[Registered] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, item: Registered) -> None:
        """Remember a record."""
        with self._lock:
            self._items.append(item)

    def pick(self, rng: random.Random) -> Registered | None:
        """A record chosen by `rng`, or None when the pool is empty."""
        with self._lock:
            return self._items[rng.randrange(len(self._items))] if self._items else None

    def __len__(self) -> int:
        return len(self._items)


def _full_name(name: Mapping[str, str]) -> str:
    return f"{name.get('firstname', '')} {name.get('surname', '')}".strip()


def remember(pool: SearchPool, document: Mapping[str, Any]) -> None:
    """Add an EventDocument to the pool when it carries a child's name and date of birth."""
    state = current_state(dict(document))
    name = state.declaration.get("child.name")
    dob = state.declaration.get("child.dob")
    if isinstance(name, Mapping) and isinstance(dob, str):
        pool.add(Registered(state.id, state.tracking_id, _full_name(name), dob, state.registration_number))


def remember_index(pool: SearchPool, index: Mapping[str, Any]) -> None:
    """Add a search result (EventIndex) to the pool."""
    decl = index.get("declaration") or {}
    name, dob = decl.get("child.name"), decl.get("child.dob")
    reg = (index.get("legalStatuses") or {}).get("REGISTERED") or {}
    if isinstance(name, Mapping) and isinstance(dob, str) and index.get("id"):
        pool.add(Registered(str(index["id"]), str(index.get("trackingId", "")), _full_name(name), dob,
                            reg.get("registrationNumber")))


SIGNATURE = signature_png()


def registrar_flow(client: CRVSClient, factory: SyntheticFactory, pool: SearchPool) -> None:
    """create -> upload the signature -> declare (keepAssignment) -> search by tracking ID -> assign only if the
    record was released -> register; the record joins the pool."""
    event = client.create_event("birth")
    signature = client.upload(SIGNATURE, f"signature-{new_transaction_id()[:8]}.png", "image/png")
    declared = client.declare(event["id"], factory.birth_declaration(), annotation=review_annotation(signature),
                              keep_assignment=True)
    client.search([{"trackingId": exact(event["trackingId"])}], limit=1)
    client.ensure_assigned(event["id"], declared)
    remember(pool, client.register(event["id"]))


def _typo(term: str, rng: random.Random) -> str:
    """One adjacent transposition in the longest name part, which fuzzy search must tolerate."""
    parts = term.split()
    if not parts:
        return term
    i = max(range(len(parts)), key=lambda k: len(parts[k]))
    word = parts[i]
    if len(word) >= 4:
        j = rng.randrange(1, len(word) - 2)
        parts[i] = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    return " ".join(parts)


def searcher_flow(client: CRVSClient, factory: SyntheticFactory, pool: SearchPool, rng: random.Random) -> str:
    """One search: fuzzy name, DOB and name, or registration number; returns which kind ran."""
    record = pool.pick(rng)
    kind = rng.choice(("name", "dob-name", "registration-number"))
    if record is None:
        name = _full_name(factory.birth_declaration()["child.name"])
        client.search([{"data": {"child.name": fuzzy(name)}}], limit=10)
        return "name"
    if kind == "registration-number" and record.registration_number:
        client.search([{REGISTRATION_NUMBER_KEY: exact(record.registration_number)}], limit=10)
    elif kind == "dob-name":
        client.search([{"data": {"child.name": fuzzy(record.name), "child.dob": exact(record.dob)}}], limit=10)
    else:
        kind = "name"
        client.search([{"data": {"child.name": fuzzy(_typo(record.name, rng))}}], limit=10)
    return kind


def reader_flow(client: CRVSClient, pool: SearchPool, rng: random.Random) -> bool:
    """event.get of a pooled record (OpenCRVS writes a READ action each time); False when the pool is empty."""
    record = pool.pick(rng)
    if record is None:
        return False
    client.get_event(record.event_id)
    return True
