"""Record lifecycles: create, notify, declare, register, print, reject, archive, assignment and history."""

from __future__ import annotations

import datetime as dt

import pytest

from crvs_client import Conflict, current_state
from regression.data import Record, register_record
from regression.expect import refused

pytestmark = pytest.mark.registration


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.smoke
def test_birth_create_declare_register_print(field_agent, registrar, declarations):
    declaration = declarations.birth()
    created = field_agent.create_event("birth")
    assert current_state(created).status == "CREATED", "a new birth record must start in status CREATED"
    assert created.get("trackingId"), "a new record must get a tracking ID"
    declared = field_agent.declare(created["id"], declaration)
    assert current_state(declared).status == "DECLARED", "declaring a birth must move it to DECLARED"
    registrar.assign(created["id"])
    registered = registrar.register(created["id"])
    state = current_state(registered)
    assert state.status == "REGISTERED", "registering a declared birth must move it to REGISTERED"
    assert state.registration_number, "a registered birth must carry a registration number"
    printed = registrar.print_certificate(created["id"])
    printed_state = current_state(printed)
    assert "PRINT_CERTIFICATE" in printed_state.action_types(), "printing a certificate must add a PRINT_CERTIFICATE action"
    assert printed_state.status == "REGISTERED", "printing a certificate must not change the status"


@pytest.mark.smoke
def test_death_create_declare_register_print(registered_death, registrar):
    record = registered_death()
    assert record.status == "REGISTERED", "registering a declared death must move it to REGISTERED"
    assert record.registration_number, "a registered death must carry a registration number"
    printed = current_state(registrar.print_certificate(record.id))
    assert "PRINT_CERTIFICATE" in printed.action_types(), "printing a death certificate must add a PRINT_CERTIFICATE action"


def test_new_record_names_its_creator(field_agent):
    created = field_agent.create_event("birth")
    create = [a for a in created["actions"] if a["type"] == "CREATE"]
    assert len(create) == 1 and create[0].get("createdBy") == field_agent.subject, \
        "a new record's CREATE action must name the user who created it"


def test_get_event_returns_what_declare_returned(field_agent, new_birth):
    record = new_birth()
    fetched = field_agent.get_event(record.id)
    assert fetched["id"] == record.id and fetched["trackingId"] == record.tracking_id, \
        "event.get must return the record that was declared"
    assert current_state(fetched).declaration == current_state(record.document).declaration, \
        "event.get must return the same declaration that declare returned"


def test_rest_create_notify_then_declare_and_register(system_client, registrar, declarations):
    declaration = declarations.birth()
    created = system_client.rest_create_event("birth")
    assert current_state(created).status == "CREATED", "REST create must make a record in status CREATED"
    partial = {k: v for k, v in declaration.items() if k != "child.dob"}
    notified = current_state(system_client.rest_notify(created["id"], partial))
    assert notified.status == "NOTIFIED", "REST notify must move a record to NOTIFIED"
    assert "incomplete" in notified.flags or "incomplete" in _index_flags(system_client, created["trackingId"]), \
        "notifying an incomplete declaration must set the incomplete flag"
    declared = system_client.declare(created["id"], declaration)
    assert current_state(declared).status == "DECLARED", "declaring a notified record must move it to DECLARED"
    record = register_record(registrar, Record(created["id"], "birth", created["trackingId"], declaration, declared))
    assert record.status == "REGISTERED", "a record created and notified over REST must be registrable"


def _index_flags(client, tracking_id: str) -> set[str]:
    found = client.search([{"trackingId": {"type": "exact", "term": tracking_id}}])
    return set(found["results"][0].get("flags", [])) if found["results"] else set()


def test_rest_get_matches_trpc_get(field_agent, new_birth):
    record = new_birth()
    rest = field_agent.rest_get_event(record.id)
    trpc = field_agent.get_event(record.id)
    assert rest["id"] == trpc["id"] and rest["trackingId"] == trpc["trackingId"], \
        "REST GET /api/events/events/{id} must return the same record as event.get"
    assert [a["type"] for a in rest["actions"]] == [a["type"] for a in trpc["actions"]], \
        "REST and tRPC must return the same action history"


def test_system_client_can_run_whole_lifecycle(system_client, declarations):
    declaration = declarations.birth()
    created = system_client.create_event("birth")
    system_client.declare(created["id"], declaration)
    registered = current_state(system_client.register(created["id"]))
    assert registered.status == "REGISTERED" and registered.registration_number, \
        "a system client with every scope must be able to register a birth"


def test_reject_sets_rejected_flag_and_keeps_status(registration_agent, new_birth):
    record = new_birth()
    registration_agent.assign(record.id)
    rejected = current_state(registration_agent.reject(record.id, "Mother's name is misspelt"))
    assert "rejected" in rejected.flags, "rejecting a declaration must set the rejected flag"
    assert rejected.status == "DECLARED", "rejecting must keep the status (rejection is a flag, not a status)"
    found = registration_agent.search([{"trackingId": {"type": "exact", "term": record.tracking_id}}])
    assert found["total"] == 1 and "rejected" in found["results"][0]["flags"], \
        "search must show the rejected flag on a rejected record"


def test_rejected_record_can_be_declared_again(field_agent, registration_agent, new_birth):
    record = new_birth()
    registration_agent.assign(record.id)
    registration_agent.reject(record.id, "Informant phone number missing")
    again = current_state(field_agent.declare(record.id, record.declaration))
    assert again.status == "DECLARED" and "rejected" not in again.flags, \
        "declaring a rejected record again must clear the rejected flag"


def test_archive_sets_archived(registration_agent, new_birth):
    record = new_birth()
    registration_agent.assign(record.id)
    archived = current_state(registration_agent.archive(record.id))
    assert archived.status == "ARCHIVED", "archiving a declaration must move it to ARCHIVED"


def test_archived_record_cannot_be_registered(registration_agent, registrar, new_birth):
    record = new_birth()
    registration_agent.assign(record.id)
    registration_agent.archive(record.id)
    refused(lambda: registrar.register(record.id), Conflict, "an archived record must not be registrable")
    assert current_state(registrar.get_event(record.id)).status == "ARCHIVED", \
        "an archived record must not be registrable"


def test_registered_record_cannot_be_registered_again(registered_birth, registrar):
    record = registered_birth()
    refused(lambda: registrar.register(record.id), Conflict, "a registered record must not be registered twice")
    numbers = [a.get("registrationNumber") for a in registrar.get_event(record.id)["actions"] if a["type"] == "REGISTER"]
    assert len(numbers) == 1, "a registered record must not be registered twice"


def test_certificate_needs_a_registered_record(registrar, new_birth):
    record = new_birth()
    registrar.assign(record.id)
    refused(lambda: registrar.print_certificate(record.id), Conflict,
            "a certificate must not be printed for a record that is not registered")
    assert "PRINT_CERTIFICATE" not in current_state(registrar.get_event(record.id)).action_types(), \
        "a certificate must not be printed for a record that is not registered"


def test_record_assigned_to_another_user_cannot_be_registered(registration_agent, registrar, new_birth):
    record = new_birth()
    registration_agent.assign(record.id)
    refused(lambda: registrar.register(record.id), Conflict,
            "a record assigned to somebody else must not be registered")
    assert current_state(registrar.get_event(record.id)).status == "DECLARED", \
        "a record assigned to somebody else must not be registered"


def test_unassign_releases_the_record(registration_agent, registrar, new_birth):
    record = new_birth()
    registration_agent.assign(record.id)
    released = current_state(registration_agent.unassign(record.id))
    assert released.assigned_to is None, "unassign must release the record"
    register_record(registrar, record)
    assert record.status == "REGISTERED", "a released record must be registrable by the registrar"


def test_action_history_records_actor_time_and_transaction(field_agent, registrar, declarations):
    declaration = declarations.birth()
    created = field_agent.create_event("birth", transaction_id="regr-create-" + declarations.tag)
    field_agent.declare(created["id"], declaration, transaction_id="regr-declare-" + declarations.tag)
    registrar.assign(created["id"])
    registrar.register(created["id"], transaction_id="regr-register-" + declarations.tag)
    actions = registrar.get_event(created["id"])["actions"]
    by_type = {a["type"]: a for a in actions}
    for kind, actor, tx in (("CREATE", field_agent.subject, "regr-create-"), ("DECLARE", field_agent.subject, "regr-declare-"),
                            ("REGISTER", registrar.subject, "regr-register-")):
        assert kind in by_type, f"the action history must list the {kind} action"
        action = by_type[kind]
        assert action.get("createdBy") == actor, f"the {kind} action must name who did it ({actor})"
        assert action.get("transactionId") == tx + declarations.tag, f"the {kind} action must keep its transactionId"
        assert action.get("createdAt"), f"the {kind} action must record when it happened"
    times = [_parse_time(a["createdAt"]) for a in actions]
    assert times == sorted(times), "the action history must be in time order"
    assert by_type["REGISTER"].get("createdByRole") == "LOCAL_REGISTRAR", "the REGISTER action must record the actor's role"


def test_declared_record_is_not_registered_until_register(field_agent, new_birth):
    record = new_birth()
    state = current_state(field_agent.get_event(record.id))
    assert state.status == "DECLARED" and state.registration_number is None, \
        "a declared record must not have a registration number before it is registered"
