"""Data integrity: declared fields kept intact, idempotent actions, unique registration and tracking numbers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from crvs_client import SECURED_FIELDS, current_state
from crvs_client.client import exact, new_transaction_id
from regression.data import declare_new, full_name, signed_annotation

pytestmark = pytest.mark.integrity

CONCURRENT_REGISTRATIONS = 20


def _field_differences(declared: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """One line per declared field that did not come back exactly as declared."""
    out = []
    for field_id, value in declared.items():
        if field_id not in stored:
            out.append(f"{field_id} dropped")
        elif stored[field_id] != value:
            out.append(f"{field_id} changed from {value!r} to {stored[field_id]!r}")
    return out


@pytest.mark.smoke
def test_birth_fields_intact_after_register(registered_birth, registrar):
    record = registered_birth()
    stored = current_state(registrar.get_event(record.id)).declaration
    diff = _field_differences(record.declaration, stored)
    assert not diff, f"every declared field must come back intact after register: {'; '.join(diff)}"


def test_death_fields_intact_after_register(registered_death, registrar):
    record = registered_death()
    stored = current_state(registrar.get_event(record.id)).declaration
    diff = _field_differences(record.declaration, stored)
    assert not diff, f"every declared death field must come back intact after register: {'; '.join(diff)}"


def test_fields_intact_in_search_index(registered_birth, registrar):
    record = registered_birth()
    found = registrar.search([{"trackingId": exact(record.tracking_id)}])
    assert found["results"], "a registered record must be in the search index"
    shown = {k: v for k, v in record.declaration.items() if k not in SECURED_FIELDS}
    diff = _field_differences(shown, found["results"][0].get("declaration", {}))
    assert not diff, f"every declared field that is not secured must come back intact in search results: " \
                     f"{'; '.join(diff)}"


def test_fields_intact_over_rest(registered_birth, system_client):
    record = registered_birth()
    stored = current_state(system_client.rest_get_event(record.id)).declaration
    diff = _field_differences(record.declaration, stored)
    assert not diff, f"every declared field must come back intact over REST: {'; '.join(diff)}"


def test_accented_names_intact(new_birth, hospital_clerk):
    record = new_birth(child__name={"firstname": "Zoë-Noëlle", "surname": "Ñúñez d'Ávila"})
    stored = current_state(hospital_clerk.get_event(record.id)).declaration
    assert stored.get("child.name") == {"firstname": "Zoë-Noëlle", "surname": "Ñúñez d'Ávila"}, \
        "names with accents, hyphens and apostrophes must be stored exactly as declared"


def test_notified_fields_intact(system_client, hospital_clerk, declarations):
    declaration = declarations.birth()
    partial = {k: v for k, v in declaration.items() if k.startswith(("child.", "mother."))}
    created = system_client.rest_create_event("birth")
    system_client.rest_notify(created["id"], partial)
    for how, document in (("REST", system_client.rest_get_event(created["id"])),
                          ("event.get", hospital_clerk.get_event(created["id"]))):
        diff = _field_differences(partial, current_state(document).declaration)
        assert not diff, f"every notified field must come back intact over {how}: {'; '.join(diff)}"


@pytest.mark.smoke
def test_create_is_idempotent(hospital_clerk):
    transaction_id = new_transaction_id()
    first = hospital_clerk.create_event("birth", transaction_id=transaction_id)
    second = hospital_clerk.create_event("birth", transaction_id=transaction_id)
    assert second["id"] == first["id"], \
        "idempotency: creating twice with the same transactionId must return the same record, not a second one"
    assert second["trackingId"] == first["trackingId"], "idempotency: a repeated create must keep the tracking ID"


def test_declare_is_idempotent(hospital_clerk, declarations):
    declaration = declarations.birth()
    created = hospital_clerk.create_event("birth")
    transaction_id = new_transaction_id()
    annotation = signed_annotation(hospital_clerk)
    hospital_clerk.declare(created["id"], declaration, transaction_id=transaction_id, annotation=annotation,
                           keep_assignment=True)
    again = hospital_clerk.declare(created["id"], declaration, transaction_id=transaction_id, annotation=annotation,
                                   keep_assignment=True)
    declares = [a for a in current_state(hospital_clerk.get_event(created["id"])).actions if a["type"] == "DECLARE"]
    assert len(declares) == 1, \
        f"idempotency: declaring twice with the same transactionId must apply one DECLARE action, found {len(declares)}"
    assert current_state(again).status == "DECLARED", "idempotency: the repeated declare must return the stored result"


@pytest.mark.smoke
def test_register_is_idempotent(registrar, declarations):
    record = declare_new(registrar, declarations, "birth", keep_assignment=True)
    transaction_id = new_transaction_id()
    first = current_state(registrar.register(record.id, transaction_id=transaction_id, keep_assignment=True))
    second = current_state(registrar.register(record.id, transaction_id=transaction_id, keep_assignment=True))
    assert second.registration_number == first.registration_number, \
        "idempotency: registering twice with the same transactionId must return the same registration number"
    registers = [a for a in current_state(registrar.get_event(record.id)).actions if a["type"] == "REGISTER"]
    assert len(registers) == 1, \
        f"idempotency: registering twice with the same transactionId must apply one REGISTER action, found {len(registers)}"


def test_reject_is_idempotent(new_birth, registration_agent):
    record = new_birth()
    registration_agent.assign(record.id)
    transaction_id = new_transaction_id()
    registration_agent.reject(record.id, "Incomplete", transaction_id=transaction_id, keep_assignment=True)
    registration_agent.reject(record.id, "Incomplete", transaction_id=transaction_id, keep_assignment=True)
    rejects = [a for a in current_state(registration_agent.get_event(record.id)).actions if a["type"] == "REJECT"]
    assert len(rejects) == 1, f"idempotency: a repeated reject transactionId must apply one REJECT action, found {len(rejects)}"


@pytest.mark.smoke
def test_registration_numbers_unique_under_concurrency(registrar, declarations):
    records = [declare_new(registrar, declarations, "birth", keep_assignment=True)
               for _ in range(CONCURRENT_REGISTRATIONS)]
    with ThreadPoolExecutor(max_workers=CONCURRENT_REGISTRATIONS) as pool:
        numbers = list(pool.map(lambda r: current_state(registrar.register(r.id)).registration_number, records))
    assert all(numbers), "every concurrent registration must get a registration number"
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    assert not repeated, (f"registration numbers must be unique: {', '.join(repeated)} issued twice "
                          f"across {CONCURRENT_REGISTRATIONS} concurrent registrations")


def test_registration_numbers_unique_in_sequence(registered_birth):
    numbers = [registered_birth().registration_number for _ in range(5)]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    assert not repeated, f"registration numbers must be unique: {', '.join(repeated)} issued twice in a row"


def test_tracking_ids_unique(hospital_clerk):
    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(lambda _: hospital_clerk.create_event("birth")["trackingId"], range(20)))
    assert len(set(ids)) == len(ids), "tracking IDs must be unique across 20 concurrent creates"


def test_registered_record_keeps_number_after_certificate(registered_birth, registrar):
    record = registered_birth()
    number = record.registration_number
    registrar.assign(record.id)
    registrar.print_certificate(record.id)
    found = registrar.search([{"trackingId": exact(record.tracking_id)}])
    assert found["results"][0]["legalStatuses"]["REGISTERED"]["registrationNumber"] == number, \
        "printing a certificate must not change the registration number"
    assert full_name(record.declaration["child.name"]) == full_name(
        current_state(registrar.get_event(record.id)).declaration["child.name"]), \
        "printing a certificate must not change the child's name"
