"""Synthetic declarations with a per-test tag in every surname, so searches are unambiguous on a shared staging."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from crvs_client import CRVSClient, SyntheticFactory, current_state, review_annotation, signature_png
from crvs_client.client import new_transaction_id

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
NAME_FIELDS = ("child.name", "mother.name", "father.name", "deceased.name", "informant.name", "spouse.name")


def node_seed(nodeid: str) -> int:
    """A stable seed for one test node."""
    return int.from_bytes(hashlib.sha256(nodeid.encode()).digest()[:8], "big")


def unique_tag(run_id: str, nodeid: str, length: int = 8) -> str:
    """Lower-case letters derived from the run and the test: far apart from any other test's tag."""
    digest = hashlib.sha256(f"{run_id}:{nodeid}".encode()).digest()
    return "".join(_LETTERS[b % 26] for b in digest[:length])


@dataclass
class Declarations:
    """Makes declarations whose surnames carry this test's tag (`Banda` -> `Bandaqzkvmrta`)."""

    factory: SyntheticFactory
    tag: str
    _count: int = 0

    def _tag_names(self, declaration: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        self._count += 1
        suffix = self.tag + (_LETTERS[(self._count - 1) % 26] if self._count > 1 else "")
        for key in NAME_FIELDS:
            value = declaration.get(key)
            if key not in overrides and isinstance(value, dict) and isinstance(value.get("surname"), str):
                declaration[key] = {**value, "surname": value["surname"].replace(" ", "") + suffix}
        return declaration

    def birth(self, **overrides: Any) -> dict[str, Any]:
        """A complete birth declaration with tagged surnames (`overrides` use field ids with '.' -> '__')."""
        fields = {k.replace("__", "."): v for k, v in overrides.items()}
        return self._tag_names(self.factory.birth_declaration(**fields), fields)

    def death(self, **overrides: Any) -> dict[str, Any]:
        """A complete death declaration with tagged surnames."""
        fields = {k.replace("__", "."): v for k, v in overrides.items()}
        return self._tag_names(self.factory.death_declaration(**fields), fields)

    def of(self, event_type: str, **overrides: Any) -> dict[str, Any]:
        """A declaration for `event_type`."""
        return self.birth(**overrides) if event_type == "birth" else self.death(**overrides)


def full_name(name: dict[str, str]) -> str:
    """'Firstname Surname'."""
    return f"{name['firstname']} {name['surname']}"


@dataclass
class Record:
    """A record a test made, with what it declared and what the server last answered."""

    id: str
    type: str
    tracking_id: str
    declaration: dict[str, Any]
    document: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def registration_number(self) -> str | None:
        """The number assigned at REGISTER, from the last document."""
        return current_state(self.document).registration_number

    @property
    def status(self) -> str:
        """The current status, from the last document."""
        return current_state(self.document).status


def signed_annotation(client: CRVSClient) -> dict[str, Any]:
    """Upload a synthetic signature as `client` and return the review annotation that names it."""
    png = signature_png()
    signature = client.upload(png, f"signature-{new_transaction_id()[:8]}.png", "image/png")
    return review_annotation(signature)


def declare_new(client: CRVSClient, declarations: Declarations, event_type: str = "birth", *,
                keep_assignment: bool | None = None, **overrides: Any) -> Record:
    """Create a record and declare it with a fresh tagged declaration and an uploaded signature, as
    farajaland's e2e does (e2e/testcases/test-data/birth-declaration.ts)."""
    declaration = declarations.of(event_type, **overrides)
    created = client.create_event(event_type)
    document = client.declare(created["id"], declaration, annotation=signed_annotation(client),
                              keep_assignment=keep_assignment)
    return Record(created["id"], event_type, created["trackingId"], declaration, document)


def validated(validator: CRVSClient, record: Record) -> Record:
    """Give a declared record the `validated` flag the farajaland way: a registration agent assigns it and runs
    the VALIDATE_DECLARATION custom action (farajaland src/events/birth/index.ts; roles.ts grants it to
    REGISTRATION_AGENT, not LOCAL_REGISTRAR)."""
    if "validated" not in current_state(record.document).flags:
        validator.ensure_assigned(record.id, record.document)
        record.document = validator.validate(record.id)
    return record


def register_record(registrar: CRVSClient, record: Record, validator: CRVSClient | None = None) -> Record:
    """Register a declared record as a registrar does in the UI: validate it first when a clerk declared it,
    assign it, register."""
    if validator is not None:
        validated(validator, record)
    registrar.ensure_assigned(record.id, record.document)
    record.document = registrar.register(record.id)
    return record
