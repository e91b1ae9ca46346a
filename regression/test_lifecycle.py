"""Record lifecycles: create, notify, declare, validate, register, print, reject, archive, assignment and history."""

from __future__ import annotations

import datetime as dt

import pytest

from crvs_client import Conflict, current_state
from regression.data import Record, declare_new, register_record, signed_annotation, validated
from regression.expect import refused

pytestmark = pytest.mark.registration


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.smoke
def test_birth_create_declare_validate_register_print(hospital_clerk, registration_agent, registrar, declarations):
    declaration = declarations.birth()
    created = hospital_clerk.create_event("birth")
    assert current_state(created).status == "CREATED", "a new birth record must start in status CREATED"
    assert created.get("trackingId"), "a new record must get a tracking ID"
    declared = hospital_clerk.declare(created["id"], declaration, annotation=signed_annotation(hospital_clerk))
    state = current_state(declared)
    assert state.status == "DECLARED", "declaring a birth must move it to DECLARED"
    assert "validated" not in state.flags, "a hospital clerk's declaration must not be validated"
    record = Record(created["id"], "birth", created["trackingId"], declaration, declared)
    assert "validated" in current_state(validated(registration_agent, record).document).flags, \
        "the VALIDATE_DECLARATION action must add the validated flag"
    registrar.assign(created["id"])
    registered = current_state(registrar.register(created["id"]))
    assert registered.status == "REGISTERED", "registering a validated birth must move it to REGISTERED"
    assert registered.registration_number, "a registered birth must carry a registration number"
    registrar.assign(created["id"])  # register released the assignment; printing needs a new one
    printed_state = current_state(registrar.print_certificate(created["id"]))
    assert "PRINT_CERTIFICATE" in printed_state.action_types(), "printing a certificate must add a PRINT_CERTIFICATE action"
    assert printed_state.status == "REGISTERED", "printing a certificate must not change the status"


@pytest.mark.smoke
def test_death_create_declare_register_print(registered_death, registrar):
    record = registered_death()
    assert record.status == "REGISTERED", "registering a declared death must move it to REGISTERED"
    assert record.registration_number, "a registered death must carry a registration number"
    registrar.assign(record.id)
    printed = current_state(registrar.print_certificate(record.id))
    assert "PRINT_CERTIFICATE" in printed.action_types(), "printing a death certificate must add a PRINT_CERTIFICATE action"


def test_registrar_declaration_is_validated_and_registrable_without_validate(registrar, declarations):
    """farajaland's DECLARE adds `validated` for LOCAL_REGISTRAR; with keepAssignment the registrar registers next."""
    record = declare_new(registrar, declarations, "birth", keep_assignment=True)
    state = current_state(record.document)
    assert "validated" in state.flags, "a local registrar's declaration must carry the validated flag"
    assert state.assigned_to == registrar.subject, "keepAssignment must keep the record assigned to the declarer"
    registered = current_state(registrar.register(record.id))
    assert registered.status == "REGISTERED", "a registrar's own validated declaration must be registrable"


def test_clerk_declaration_cannot_be_registered_without_validation(hospital_clerk, registrar, new_birth):
    record = new_birth()
    registrar.assign(record.id)
    refused(lambda: registrar.register(record.id), Conflict,
            "a declaration without the validated flag must not be registrable")
    assert current_state(registrar.get_event(record.id)).status == "DECLARED", \
        "a declaration without the validated flag must stay DECLARED"


def test_new_record_names_its_creator_and_is_assigned_to_it(hospital_clerk):
    created = hospital_clerk.create_event("birth")
    create = [a for a in created["actions"] if a["type"] == "CREATE"]
    assert len(create) == 1 and create[0].get("createdBy") == hospital_clerk.subject, \
        "a new record's CREATE action must name the user who created it"
    assert current_state(created).assigned_to == hospital_clerk.subject, \
        "a record a user creates must be assigned to that user"


def test_declare_releases_the_assignment(new_birth):
    record = new_birth()
    assert current_state(record.document).assigned_to is None, \
        "a write action without keepAssignment must release the record's assignment"


def test_get_event_writes_a_read_action(hospital_clerk, new_birth):
    record = new_birth()
    first = hospital_clerk.get_event(record.id)
    second = hospital_clerk.get_event(record.id)
    reads = [a for a in second["actions"] if a["type"] == "READ"]
    assert len(reads) >= 2 and len(reads) > len([a for a in first["actions"] if a["type"] == "READ"]), \
        "event.get must write a READ action each time the record is read"
    assert current_state(second).declaration == current_state(record.document).declaration, \
        "event.get must return the same declaration that declare returned"


def test_rest_create_and_notify_an_incomplete_declaration(system_client, hospital_clerk, declarations):
    declaration = declarations.birth()
    created = system_client.rest_create_event("birth")
    assert current_state(created).status == "CREATED", "REST create must make a record in status CREATED"
    partial = {k: v for k, v in declaration.items() if k != "child.dob"}
    notified = current_state(system_client.rest_notify(created["id"], partial))
    assert notified.status == "NOTIFIED", "REST notify must move a record to NOTIFIED"
    assert "incomplete" in _index_flags(system_client, created["trackingId"]), \
        "notifying an incomplete declaration must set the incomplete flag"
    # OpenCRVS v2.0.0 offers no DECLARE on a NOTIFIED record (packages/commons/src/events/state/
    # availableActions.ts): it is completed with EDIT in the web client.
    hospital_clerk.assign(created["id"])
    refused(lambda: hospital_clerk.declare(created["id"], declaration, annotation=signed_annotation(hospital_clerk)),
            Conflict, "a notified record must not be declared again (its actions are EDIT, REJECT, ARCHIVE)")


def _index_flags(client, tracking_id: str) -> set[str]:
    found = client.search([{"trackingId": {"type": "exact", "term": tracking_id}}])
    return set(found["results"][0].get("flags", [])) if found["results"] else set()


def test_rest_get_matches_trpc_get(hospital_clerk, new_birth):
    record = new_birth()
    rest = hospital_clerk.rest_get_event(record.id)
    trpc = hospital_clerk.get_event(record.id)
    assert rest["id"] == trpc["id"] and rest["trackingId"] == trpc["trackingId"], \
        "REST GET /events/events/{id} must return the same record as event.get"
    assert current_state(rest).write_action_types() == current_state(trpc).write_action_types(), \
        "REST and tRPC must return the same action history"


def test_reject_sets_rejected_flag_and_keeps_status(registration_agent, new_birth):
    record = new_birth()
    registration_agent.assign(record.id)
    rejected = current_state(registration_agent.reject(record.id, "Mother's name is misspelt"))
    assert "rejected" in rejected.flags, "rejecting a declaration must set the rejected flag"
    assert rejected.status == "DECLARED", "rejecting must keep the status (rejection is a flag, not a status)"
    reject = [a for a in rejected.actions if a["type"] == "REJECT"]
    assert reject and (reject[-1].get("content") or {}).get("reason") == "Mother's name is misspelt", \
        "a REJECT action must keep its content.reason"
    found = registration_agent.search([{"trackingId": {"type": "exact", "term": record.tracking_id}}])
    assert found["total"] == 1 and "rejected" in found["results"][0]["flags"], \
        "search must show the rejected flag on a rejected record"


def test_archive_sets_archived(registration_agent, new_birth):
    record = new_birth()
    registration_agent.assign(record.id)
    archived = current_state(registration_agent.archive(record.id, "Duplicate of another declaration"))
    assert archived.status == "ARCHIVED", "archiving a declaration must move it to ARCHIVED"


def test_archived_record_cannot_be_registered(registration_agent, registrar, new_birth):
    record = validated(registration_agent, new_birth())
    registration_agent.assign(record.id)
    registration_agent.archive(record.id, "Declared twice")
    registrar.assign(record.id)
    refused(lambda: registrar.register(record.id), Conflict, "an archived record must not be registrable")
    assert current_state(registrar.get_event(record.id)).status == "ARCHIVED", \
        "an archived record must not be registrable"


def test_registered_record_cannot_be_registered_again(registered_birth, registrar):
    record = registered_birth()
    registrar.assign(record.id)
    refused(lambda: registrar.register(record.id), Conflict, "a registered record must not be registered twice")
    numbers = [a.get("registrationNumber") for a in current_state(registrar.get_event(record.id)).actions
               if a["type"] == "REGISTER"]
    assert len(numbers) == 1, "a registered record must not be registered twice"


def test_certificate_needs_a_registered_record(registration_agent, registrar, new_birth):
    record = validated(registration_agent, new_birth())
    registrar.assign(record.id)
    refused(lambda: registrar.print_certificate(record.id), Conflict,
            "a certificate must not be printed for a record that is not registered")
    assert "PRINT_CERTIFICATE" not in current_state(registrar.get_event(record.id)).action_types(), \
        "a certificate must not be printed for a record that is not registered"


def test_print_after_register_needs_a_new_assignment(registered_birth, registrar):
    record = registered_birth()
    refused(lambda: registrar.print_certificate(record.id), Conflict,
            "printing after register without a new assign must be refused (register released the assignment)")
    registrar.assign(record.id)
    printed = current_state(registrar.print_certificate(record.id))
    assert "PRINT_CERTIFICATE" in printed.action_types(), "printing after a new assign must work"


def test_record_assigned_to_another_user_cannot_be_registered(registration_agent, registrar, new_birth):
    record = validated(registration_agent, new_birth())
    registration_agent.assign(record.id)
    refused(lambda: registrar.register(record.id), Conflict,
            "a record assigned to somebody else must not be registered")
    assert current_state(registrar.get_event(record.id)).status == "DECLARED", \
        "a record assigned to somebody else must not be registered"


def test_unassign_releases_the_record(registration_agent, registrar, new_birth):
    record = validated(registration_agent, new_birth())
    registration_agent.assign(record.id)
    released = current_state(registration_agent.unassign(record.id))
    assert released.assigned_to is None, "unassign must release the record"
    register_record(registrar, record)
    assert record.status == "REGISTERED", "a released record must be registrable by the registrar"


def test_action_history_records_actor_time_and_transaction(hospital_clerk, registrar, declarations):
    record = declare_new(registrar, declarations, "birth", keep_assignment=True)
    tx = "regr-register-" + declarations.tag
    registrar.register(record.id, transaction_id=tx)
    actions = current_state(registrar.get_event(record.id)).actions
    by_type = {a["type"]: a for a in actions}
    for kind in ("CREATE", "DECLARE", "REGISTER"):
        assert kind in by_type, f"the action history must list the {kind} action"
        action = by_type[kind]
        assert action.get("createdBy") == registrar.subject, f"the {kind} action must name who did it"
        assert action.get("createdByUserType") == "user", f"the {kind} action must say a user did it"
        assert action.get("createdAtLocation"), f"the {kind} action must record where it happened"
        assert action.get("createdAt"), f"the {kind} action must record when it happened"
    assert by_type["REGISTER"].get("transactionId") == tx, "the REGISTER action must keep its transactionId"
    times = [_parse_time(a["createdAt"]) for a in actions]
    assert times == sorted(times), "the action history must be in time order"
    assert by_type["REGISTER"].get("createdByRole") == "LOCAL_REGISTRAR", "the REGISTER action must record the actor's role"


def test_declared_record_is_not_registered_until_register(hospital_clerk, new_birth):
    record = new_birth()
    state = current_state(hospital_clerk.get_event(record.id))
    assert state.status == "DECLARED" and state.registration_number is None, \
        "a declared record must not have a registration number before it is registered"
