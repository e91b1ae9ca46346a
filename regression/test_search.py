"""Search: identifiers, names (exact and fuzzy), dates, status, flags, type, pagination and sort.

Assertions hold on OpenCRVS v2.0.0: a name query is an Elasticsearch `match`, so its terms are ORed ("Ana
Banda" also finds every other Ana). A test that needs exactly one record searches by the surname alone, which
carries this test's unique tag. Fields marked `secured` in farajaland's form are absent from results.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from crvs_client import SECURED_FIELDS, ServerError
from crvs_client.client import REGISTRATION_NUMBER_KEY, date_range, exact, fuzzy
from regression.data import full_name

pytestmark = pytest.mark.search

# A record must be findable by search this soon after it is registered (OpenCRVS indexes asynchronously).
SEARCH_DELAY_S = 5.0
# Identical searches in a row that must all succeed: at a 20% error rate all 50 pass with probability 1e-5.
SEARCH_RELIABILITY_CALLS = 50


def _ids(found: dict) -> list[str]:
    return [r["id"] for r in found["results"]]


def _typo(word: str) -> str:
    """One substituted letter in the middle of a word."""
    i = len(word) // 2
    return word[:i] + ("x" if word[i].lower() != "x" else "y") + word[i + 1:]


def _surname(record, field_id: str = "child.name") -> str:
    """The tagged surname of a name field: unique to this run and test."""
    return str(record.declaration[field_id]["surname"])


def _eventually_found(client, clauses, event_id: str, delay: float = SEARCH_DELAY_S) -> dict:
    deadline = time.monotonic() + delay
    while True:
        found = client.search(clauses, limit=100)
        if event_id in _ids(found) or time.monotonic() >= deadline:
            return found
        time.sleep(0.25)


@pytest.mark.smoke
def test_by_tracking_id(hospital_clerk, new_birth):
    record = new_birth()
    found = _eventually_found(hospital_clerk, [{"trackingId": exact(record.tracking_id)}], record.id)
    assert _ids(found) == [record.id], f"search by tracking ID must find exactly the record {record.tracking_id}"
    assert found["total"] == 1, "search by tracking ID must report a total of 1"


@pytest.mark.smoke
def test_by_registration_number(registrar, registered_birth):
    record = registered_birth()
    number = record.registration_number
    found = _eventually_found(registrar, [{REGISTRATION_NUMBER_KEY: exact(number)}], record.id)
    assert _ids(found) == [record.id], f"search by registration number must find exactly the record registered as {number}"
    index = found["results"][0]
    assert index["status"] == "REGISTERED", "a record found by registration number must show status REGISTERED"
    assert index["legalStatuses"]["REGISTERED"]["registrationNumber"] == number, \
        "search results must carry the registration number under legalStatuses.REGISTERED"


@pytest.mark.smoke
def test_new_registration_is_searchable_within_delay(registrar, registered_birth):
    """A new registration is findable by name within SEARCH_DELAY_S seconds (5 s)."""
    record = registered_birth()
    name = full_name(record.declaration["child.name"])
    found = _eventually_found(registrar, [{"data": {"child.name": exact(name)}}], record.id)
    assert record.id in _ids(found), \
        f"search must find new records: a birth registered just now was not found by name within {SEARCH_DELAY_S:.0f} s"


def test_new_declaration_is_searchable_by_status(hospital_clerk, new_birth):
    record = new_birth()
    name = full_name(record.declaration["child.name"])
    found = _eventually_found(hospital_clerk, [{"status": exact("DECLARED"), "data": {"child.name": exact(name)}}],
                              record.id)
    assert record.id in _ids(found), "search must find new records: a declared birth was not found by status and name"


def test_by_exact_name(hospital_clerk, new_birth):
    record = new_birth()
    name = full_name(record.declaration["child.name"])
    found = _eventually_found(hospital_clerk, [{"data": {"child.name": exact(name)}}], record.id)
    assert record.id in _ids(found), f"exact name search must find the child named {name!r}"
    alone = hospital_clerk.search([{"data": {"child.name": exact(_surname(record))}}], limit=100)
    assert _ids(alone) == [record.id], "exact search by a surname no one else has must find exactly that child"


def test_exact_name_ignores_case(hospital_clerk, new_birth):
    record = new_birth()
    name = full_name(record.declaration["child.name"]).upper()
    found = _eventually_found(hospital_clerk, [{"data": {"child.name": exact(name)}}], record.id)
    assert _ids(found) == [record.id], "exact name search must ignore letter case"


def test_name_terms_are_ored(hospital_clerk, new_birth):
    """OpenCRVS searches a name with an Elasticsearch `match` (packages/events/src/service/indexing/query.ts):
    each term may match, so a query that shares only the surname still finds the child."""
    record = new_birth()
    query = f"Xqzjvw {_surname(record)}"
    found = _eventually_found(hospital_clerk, [{"data": {"child.name": exact(query)}}], record.id)
    assert record.id in _ids(found), f"name search terms must be ORed: {query!r} did not find the child"


def test_exact_name_does_not_match_a_typo(hospital_clerk, new_birth):
    record = new_birth()
    _eventually_found(hospital_clerk, [{"trackingId": exact(record.tracking_id)}], record.id)
    found = hospital_clerk.search([{"data": {"child.name": exact(_typo(_surname(record)))}}], limit=100)
    assert record.id not in _ids(found), "exact name search must not match a misspelt surname"


def test_by_fuzzy_name_with_typo(hospital_clerk, new_birth):
    record = new_birth()
    name = record.declaration["child.name"]
    query = f"{name['firstname']} {_typo(name['surname'])}"
    found = _eventually_found(hospital_clerk, [{"data": {"child.name": fuzzy(query)}}], record.id)
    assert record.id in _ids(found), f"fuzzy name search must tolerate one typo: {query!r} did not find the child"


def test_by_fuzzy_name_with_transposed_letters(hospital_clerk, new_birth):
    record = new_birth()
    name = record.declaration["child.name"]
    surname = name["surname"]
    swapped = surname[:2] + surname[3] + surname[2] + surname[4:]
    found = _eventually_found(hospital_clerk, [{"data": {"child.name": fuzzy(f"{name['firstname']} {swapped}")}}],
                              record.id)
    assert record.id in _ids(found), "fuzzy name search must tolerate two swapped adjacent letters"


def test_by_fuzzy_name_in_reversed_order(hospital_clerk, new_birth):
    record = new_birth()
    name = record.declaration["child.name"]
    found = _eventually_found(hospital_clerk, [{"data": {"child.name": fuzzy(f"{name['surname']} {name['firstname']}")}}],
                              record.id)
    assert record.id in _ids(found), "fuzzy name search must find 'Surname Firstname' (name parts in any order)"


def test_fuzzy_name_does_not_match_a_different_person(hospital_clerk, new_birth):
    record = new_birth()
    _eventually_found(hospital_clerk, [{"trackingId": exact(record.tracking_id)}], record.id)
    far = _surname(record)[::-1] + "qq"
    found = hospital_clerk.search([{"data": {"child.name": fuzzy(far)}}], limit=100)
    assert record.id not in _ids(found), "fuzzy name search must not match a surname several typos away"


def test_by_mother_name(hospital_clerk, new_birth):
    record = new_birth()
    found = _eventually_found(hospital_clerk, [{"data": {"mother.name": exact(_surname(record, "mother.name"))}}],
                              record.id)
    assert _ids(found) == [record.id], "search by mother's name must find the child's record"


def test_by_date_of_birth(hospital_clerk, new_birth):
    record = new_birth()
    dob = record.declaration["child.dob"]
    found = _eventually_found(hospital_clerk, [{"eventType": "birth", "data": {"child.dob": exact(dob)}}], record.id)
    assert record.id in _ids(found), f"search by date of birth {dob} must find the record"
    other_day = (dt.date.fromisoformat(dob) - dt.timedelta(days=3)).isoformat()
    surname = _surname(record)
    none = hospital_clerk.search([{"data": {"child.dob": exact(other_day), "child.name": exact(surname)}}])
    assert record.id not in _ids(none), f"search by another date of birth than {dob} must not find the record"


def test_by_date_of_birth_and_name(hospital_clerk, new_birth):
    record = new_birth()
    dob = record.declaration["child.dob"]
    name = _surname(record)
    found = _eventually_found(hospital_clerk, [{"data": {"child.dob": exact(dob), "child.name": fuzzy(name)}}], record.id)
    assert _ids(found) == [record.id], "search by date of birth and name must find exactly the record"
    other_day = (dt.date.fromisoformat(dob) - dt.timedelta(days=400)).isoformat()
    none = hospital_clerk.search([{"data": {"child.dob": exact(other_day), "child.name": fuzzy(name)}}])
    assert record.id not in _ids(none), "search by name and another date of birth must not find the record"


def test_by_status_registered(registrar, registered_birth, new_birth):
    registered, declared = registered_birth(), new_birth()
    mothers = {r.id: _surname(r, "mother.name") for r in (registered, declared)}
    found = _eventually_found(registrar, [{"status": exact("REGISTERED"),
                                           "data": {"mother.name": exact(mothers[registered.id])}}], registered.id)
    assert _ids(found) == [registered.id], "search by status REGISTERED must find the registered record"
    other = registrar.search([{"status": exact("REGISTERED"), "data": {"mother.name": exact(mothers[declared.id])}}])
    assert declared.id not in _ids(other), "search by status REGISTERED must not return a record that is only declared"


def test_by_flag_rejected(registration_agent, new_birth):
    record = new_birth()
    registration_agent.assign(record.id)
    registration_agent.reject(record.id, "Date of birth unreadable")
    mother = _surname(record, "mother.name")
    found = _eventually_found(registration_agent, [{"flags": {"anyOf": ["rejected"]},
                                                    "data": {"mother.name": exact(mother)}}], record.id)
    assert _ids(found) == [record.id], "search by flag 'rejected' must find the rejected record"
    none = registration_agent.search([{"flags": {"noneOf": ["rejected"]}, "data": {"mother.name": exact(mother)}}])
    assert record.id not in _ids(none), "search excluding flag 'rejected' must not return the rejected record"


def test_index_carries_what_opencrvs_event_index_requires(hospital_clerk, new_birth):
    """EventIndex (packages/commons/src/events/EventIndex.ts): status, flags, legalStatuses.DECLARED with who, where
    and when, and potentialDuplicates."""
    record = new_birth()
    found = _eventually_found(hospital_clerk, [{"trackingId": exact(record.tracking_id)}], record.id)
    index = found["results"][0]
    assert index["status"] == "DECLARED" and isinstance(index.get("flags"), list), \
        "a search result must carry the status and the flags"
    declared = (index.get("legalStatuses") or {}).get("DECLARED") or {}
    missing = [k for k in ("createdAt", "createdBy", "createdAtLocation", "acceptedAt") if not declared.get(k)]
    assert not missing, f"legalStatuses.DECLARED must carry {', '.join(missing)}"
    assert declared["createdBy"] == hospital_clerk.subject, "legalStatuses.DECLARED must name who declared"
    assert isinstance(index.get("potentialDuplicates"), list), "a search result must carry potentialDuplicates"


def test_secured_fields_are_absent_from_results(hospital_clerk, new_birth):
    record = new_birth()
    found = _eventually_found(hospital_clerk, [{"trackingId": exact(record.tracking_id)}], record.id)
    shown = found["results"][0].get("declaration", {})
    leaked = sorted(f for f in SECURED_FIELDS if f in shown)
    assert not leaked, f"secured fields must be absent from search results: {', '.join(leaked)} were returned"
    assert shown.get("child.name") == record.declaration["child.name"], \
        "search results must carry the declaration's fields that are not secured"


def test_by_event_type(hospital_clerk, new_death, new_birth):
    death, birth = new_death(), new_birth()
    deceased = _surname(death, "deceased.name")
    found = _eventually_found(hospital_clerk, [{"eventType": "death", "data": {"deceased.name": exact(deceased)}}],
                              death.id)
    assert _ids(found) == [death.id], "search by event type 'death' must find the death record"
    births = hospital_clerk.search([{"eventType": "birth", "trackingId": exact(death.tracking_id)}])
    assert births["total"] == 0, "search by event type 'birth' must not return a death record"
    assert birth.type == "birth"


def test_by_deceased_name_and_date_of_death(hospital_clerk, new_death):
    record = new_death()
    name = _surname(record, "deceased.name")
    day = record.declaration["eventDetails.date"]
    found = _eventually_found(hospital_clerk, [{"eventType": "death", "data": {"deceased.name": fuzzy(name),
                                                                            "eventDetails.date": exact(day)}}], record.id)
    assert _ids(found) == [record.id], "search by deceased's name and date of death must find the death record"


def test_by_created_date_range(hospital_clerk, new_birth):
    record = new_birth()
    created = record.document["createdAt"][:10]
    mother = _surname(record, "mother.name")
    day = dt.date.fromisoformat(created)
    around = date_range((day - dt.timedelta(days=1)).isoformat(), (day + dt.timedelta(days=1)).isoformat())
    found = _eventually_found(hospital_clerk, [{"createdAt": around, "data": {"mother.name": exact(mother)}}], record.id)
    assert _ids(found) == [record.id], "search by a creation date range that includes the record must find it"
    before = date_range("2000-01-01", (day - dt.timedelta(days=2)).isoformat())
    none = hospital_clerk.search([{"createdAt": before, "data": {"mother.name": exact(mother)}}])
    assert none["total"] == 0, "search by a creation date range that ends before the record must not find it"


def test_by_date_of_birth_range(hospital_clerk, new_birth):
    record = new_birth()
    dob = dt.date.fromisoformat(record.declaration["child.dob"])
    mother = _surname(record, "mother.name")
    inside = date_range((dob - dt.timedelta(days=3)).isoformat(), (dob + dt.timedelta(days=3)).isoformat())
    found = _eventually_found(hospital_clerk, [{"data": {"child.dob": inside, "mother.name": exact(mother)}}], record.id)
    assert _ids(found) == [record.id], "search by a date-of-birth range that includes the birth must find it"
    after = date_range((dob + dt.timedelta(days=1)).isoformat(), (dob + dt.timedelta(days=30)).isoformat())
    none = hospital_clerk.search([{"data": {"child.dob": after, "mother.name": exact(mother)}}])
    assert none["total"] == 0, "search by a date-of-birth range after the birth must not find it"


def _family(new_birth, declarations, size: int) -> tuple[str, list[str]]:
    """`size` births with the same tagged mother, created one after another; returns her (unique) surname."""
    mother = declarations.factory.birth_declaration()["mother.name"]
    mother = {"firstname": mother["firstname"], "surname": mother["surname"] + declarations.tag + "m"}
    ids = [new_birth(mother__name=mother).id for _ in range(size)]
    return mother["surname"], ids


def test_pagination_covers_the_set_without_overlap(hospital_clerk, new_birth, declarations):
    mother, ids = _family(new_birth, declarations, 5)
    clauses = [{"data": {"mother.name": exact(mother)}}]
    _eventually_found(hospital_clerk, clauses, ids[-1])
    pages = [hospital_clerk.search(clauses, limit=2, offset=offset) for offset in (0, 2, 4)]
    seen = [event_id for page in pages for event_id in _ids(page)]
    assert all(page["total"] == 5 for page in pages), "every page must report the total of all matches (5)"
    assert [len(_ids(p)) for p in pages] == [2, 2, 1], "pages of limit 2 over 5 records must hold 2, 2 and 1"
    assert len(seen) == len(set(seen)), "pagination must not return the same record on two pages"
    assert set(seen) == set(ids), "pagination with limit and offset must cover every matching record"
    beyond = hospital_clerk.search(clauses, limit=2, offset=10)
    assert _ids(beyond) == [] and beyond["total"] == 5, "a page past the end must be empty and keep the total"


def test_sort_by_created_at(hospital_clerk, new_birth, declarations):
    mother, ids = _family(new_birth, declarations, 3)
    clauses = [{"data": {"mother.name": exact(mother)}}]
    _eventually_found(hospital_clerk, clauses, ids[-1])
    asc = hospital_clerk.search(clauses, sort=[{"field": "createdAt", "direction": "asc"}])
    desc = hospital_clerk.search(clauses, sort=[{"field": "createdAt", "direction": "desc"}])
    assert _ids(asc) == ids, "sort by createdAt ascending must list records oldest first"
    assert _ids(desc) == ids[::-1], "sort by createdAt descending must list records newest first"
    default = hospital_clerk.search(clauses)
    assert _ids(default) == ids[::-1], "the default sort must be newest first (createdAt descending)"


def test_sort_by_date_of_birth(hospital_clerk, new_birth, declarations):
    mother = declarations.factory.birth_declaration()["mother.name"]
    mother = {"firstname": mother["firstname"], "surname": mother["surname"] + declarations.tag + "s"}
    today = dt.date.today()
    days = [(today - dt.timedelta(days=n)).isoformat() for n in (20, 200, 100)]
    ids = {day: new_birth(mother__name=mother, child__dob=day).id for day in days}
    clauses = [{"data": {"mother.name": exact(mother["surname"])}}]
    _eventually_found(hospital_clerk, clauses, ids[days[-1]])
    asc = hospital_clerk.search(clauses, sort=[{"field": "child.dob", "direction": "asc"}])
    assert _ids(asc) == [ids[d] for d in sorted(days)], "sort by child.dob ascending must list the oldest birth first"
    desc = hospital_clerk.search(clauses, sort=[{"field": "child.dob", "direction": "desc"}])
    assert _ids(desc) == [ids[d] for d in sorted(days, reverse=True)], "sort by child.dob descending must list the newest birth first"


def test_search_transports_agree(hospital_clerk, new_birth):
    record = new_birth()
    clauses = [{"trackingId": exact(record.tracking_id)}]
    _eventually_found(hospital_clerk, clauses, record.id)
    answers = {via: _ids(hospital_clerk.search(clauses, via=via)) for via in ("trpc-post", "trpc-get", "rest")}
    assert answers["trpc-get"] == answers["trpc-post"] == answers["rest"] == [record.id], \
        f"tRPC GET, tRPC POST and REST search must give the same answer: {answers}"


def test_unknown_tracking_id_finds_nothing(hospital_clerk):
    found = hospital_clerk.search([{"trackingId": exact("ZZ00000")}])
    assert found == {**found, "results": [], "total": 0}, "search for a tracking ID that does not exist must find nothing"


def test_search_is_reliable_under_repeated_queries(hospital_clerk, new_birth):
    record = new_birth()
    clauses = [{"trackingId": exact(record.tracking_id)}]
    errors, misses = 0, 0
    deadline = time.monotonic() + SEARCH_DELAY_S
    while time.monotonic() < deadline:  # wait for indexing, counting server errors on the way
        try:
            if record.id in _ids(hospital_clerk.search(clauses)):
                break
        except ServerError:
            errors += 1
        time.sleep(0.1)
    for _ in range(SEARCH_RELIABILITY_CALLS):
        try:
            if _ids(hospital_clerk.search(clauses)) != [record.id]:
                misses += 1
        except ServerError:
            errors += 1
    assert errors == 0 and misses == 0, (f"search must answer reliably: {errors} server errors and {misses} wrong "
                                         f"answers in {SEARCH_RELIABILITY_CALLS} identical searches")
