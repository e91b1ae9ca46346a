"""Every search clause over tRPC GET, tRPC POST and REST, against a small known data set."""

from __future__ import annotations

import pytest
from sandbox_wire import AGENT, OFFICE, REGISTRAR, Api, birth_declaration, days_ago, death_declaration

pytestmark = pytest.mark.integration


D1, D2 = days_ago(30), days_ago(100)  # recent births: no late-registration reason needed
DIED = days_ago(12)


def accepted_number(document: dict) -> str:
    return next(a["registrationNumber"] for a in document["actions"]
                if a["type"] == "REGISTER" and a["status"] == "Accepted")


@pytest.fixture(scope="module")
def records(api: Api, sandbox) -> dict[str, dict]:
    """Five indexed records with known names, dates, statuses and flags, plus one CREATED record search never sees."""
    registrar, agent = Api.login(sandbox.url, REGISTRAR), Api.login(sandbox.url, AGENT)
    out: dict[str, dict] = {}
    event, registered = registrar.registered_birth(birth_declaration("Chipo", "Banda", D1))
    out["chipo_banda"] = {**event, "number": accepted_number(registered)}
    event = agent.create("birth")
    agent.declare(event["id"], birth_declaration("Chipo", "Bwalya", D2), keepAssignment=True)
    agent.action("reject.request", event["id"], content={"reason": "check mother's ID"})
    out["chipo_bwalya"] = event
    event = agent.create("birth")
    agent.declare(event["id"], birth_declaration("Mwansa", "Phiri", D1))
    out["mwansa_phiri"] = event
    event = registrar.create("death")
    registrar.declare(event["id"], death_declaration("Joseph", "Phiri", "1950-01-20", DIED), keepAssignment=True)
    out["joseph_phiri"] = {**event, "number": accepted_number(registrar.register(event["id"]))}
    event = api.create("death")
    api.action("notify.request", event["id"], createdAtLocation=OFFICE,
               declaration={"deceased.name": {"firstname": "Grace", "surname": "Tembo"}})
    out["grace_tembo"] = event
    out["draft"] = registrar.create("birth")
    registrar.close()
    agent.close()
    return out


@pytest.fixture(params=["trpc-get", "trpc-post", "rest"])
def search(request, api: Api):
    """Run a search over one transport; returns {results, total}."""

    def run(clauses: list[dict], **extra):
        if request.param == "rest":
            return api.rest_search(clauses, **extra)
        return api.search(clauses, method="GET" if request.param == "trpc-get" else "POST", **extra)

    return run


def ids(result: dict) -> set[str]:
    return {r["id"] for r in result["results"]}


def test_tracking_id_exact(search, records):
    result = search([{"trackingId": {"type": "exact", "term": records["mwansa_phiri"]["trackingId"]}}])
    assert ids(result) == {records["mwansa_phiri"]["id"]} and result["total"] == 1


def test_registration_number_exact(search, records):
    term = records["joseph_phiri"]["number"]
    result = search([{"legalStatuses.REGISTERED.registrationNumber": {"type": "exact", "term": term}}])
    assert ids(result) == {records["joseph_phiri"]["id"]}
    assert result["results"][0]["legalStatuses"]["REGISTERED"]["registrationNumber"] == term


def test_status_exact_and_any_of(search, records):
    registered = search([{"status": {"type": "exact", "term": "REGISTERED"}}])
    assert ids(registered) == {records["chipo_banda"]["id"], records["joseph_phiri"]["id"]}
    pending = search([{"status": {"type": "anyOf", "terms": ["DECLARED", "NOTIFIED"]}}])
    assert ids(pending) == {records[k]["id"] for k in ("chipo_bwalya", "mwansa_phiri", "grace_tembo")}


def test_event_type(search, records):
    assert ids(search([{"eventType": "death"}])) == {records["joseph_phiri"]["id"], records["grace_tembo"]["id"]}


def test_created_records_are_not_indexed(search, records):
    assert search([{"trackingId": {"type": "exact", "term": records["draft"]["trackingId"]}}])["total"] == 0
    assert search([])["total"] == 5


def test_secured_fields_are_stripped_from_results_but_searchable(search, records):
    result = search([{"trackingId": {"type": "exact", "term": records["chipo_banda"]["trackingId"]}}])
    declaration = result["results"][0]["declaration"]
    assert declaration["child.name"] == {"firstname": "Chipo", "surname": "Banda"}
    for secured in ("child.dob", "child.placeOfBirth", "child.birthLocation", "mother.address", "informant.email"):
        assert secured not in declaration
    assert records["chipo_banda"]["id"] in ids(search([{"data": {"child.dob": {"type": "exact", "term": D1}}}]))


def test_there_is_no_test_data_flag(search, records):
    assert all("test-data" not in r["flags"] for r in search([])["results"])


@pytest.mark.parametrize("term", ["Chpo Bnda", "Cihpo Bamda", "Banda Chipo", "bnada chipo"])
def test_fuzzy_name_terms_are_ored_and_tolerate_one_typo(search, records, term):
    result = search([{"data": {"child.name": {"type": "fuzzy", "term": term}}}])
    assert ids(result) == {records["chipo_banda"]["id"], records["chipo_bwalya"]["id"]}


def test_fuzzy_name_with_two_typos_in_every_short_part_does_not_match(search, records):
    # fuzziness AUTO allows one edit for 3-5 characters (the sandbox allows one edit at any length).
    assert search([{"data": {"child.name": {"type": "fuzzy", "term": "Cpoh Bnmda"}}}])["total"] == 0


def test_fuzzy_single_part(search, records):
    assert ids(search([{"data": {"child.name": {"type": "fuzzy", "term": "Bamda"}}}])) == {records["chipo_banda"]["id"]}


def test_exact_name_ors_its_terms_case_insensitively(search, records):
    # An Elasticsearch `match`: any term matches, so "exact" is not exact.
    assert ids(search([{"data": {"child.name": {"type": "exact", "term": "CHIPO banda"}}}])) == \
        {records["chipo_banda"]["id"], records["chipo_bwalya"]["id"]}
    assert ids(search([{"data": {"child.name": {"type": "exact", "term": "Chpo Banda"}}}])) == \
        {records["chipo_banda"]["id"]}
    assert search([{"data": {"child.name": {"type": "exact", "term": "Chpo Bnda"}}}])["total"] == 0


def test_other_name_fields(search, records):
    result = search([{"data": {"deceased.name": {"type": "fuzzy", "term": "Jospeh Phirri"}}}])
    assert ids(result) == {records["joseph_phiri"]["id"]}
    result = search([{"data": {"mother.name": {"type": "exact", "term": "Bwalya"}}}])
    assert ids(result) == {records["chipo_bwalya"]["id"]}


def test_dob_exact_and_range(search, records):
    exact = search([{"data": {"child.dob": {"type": "exact", "term": D1}}}])
    assert ids(exact) == {records["chipo_banda"]["id"], records["mwansa_phiri"]["id"]}
    in_range = search([{"data": {"child.dob": {"type": "range", "gte": days_ago(120), "lte": days_ago(90)}}}])
    assert ids(in_range) == {records["chipo_bwalya"]["id"]}
    died = search([{"data": {"eventDetails.date": {"type": "range", "gte": DIED, "lte": DIED}}}])
    assert ids(died) == {records["joseph_phiri"]["id"]}
    assert ids(search([{"data": {"deceased.dob": {"type": "exact", "term": "1950-01-20"}}}])) == \
        {records["joseph_phiri"]["id"]}


def test_dob_and_name_together(search, records):
    result = search([{"data": {"child.dob": {"type": "exact", "term": D1},
                               "child.name": {"type": "fuzzy", "term": "Mwanza"}}}])
    assert ids(result) == {records["mwansa_phiri"]["id"]}


def test_flags_any_of_and_none_of(search, records):
    assert ids(search([{"flags": {"anyOf": ["rejected"]}}])) == {records["chipo_bwalya"]["id"]}
    clean = search([{"flags": {"noneOf": ["rejected", "incomplete"]}}])
    assert ids(clean) == {records[k]["id"] for k in ("chipo_banda", "mwansa_phiri", "joseph_phiri")}


def test_created_at_range_covers_today(search, records):
    result = search([{"createdAt": {"type": "range", "gte": "2000-01-01", "lte": "2999-12-31"}}])
    assert result["total"] == 5
    assert search([{"updatedAt": {"type": "range", "lte": "2000-01-01"}}])["total"] == 0


def test_limit_offset_and_total(search, records):
    pages = [search([], limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [len(p["results"]) for p in pages] == [2, 2, 1]
    seen = [r["id"] for p in pages for r in p["results"]]
    assert len(set(seen)) == 5


def test_sort_ascending_and_descending(search, records):
    ascending = [r["createdAt"] for r in search([], sort=[{"field": "createdAt", "direction": "asc"}])["results"]]
    descending = [r["createdAt"] for r in search([], sort=[{"field": "createdAt", "direction": "desc"}])["results"]]
    assert ascending == sorted(ascending) and descending == sorted(descending, reverse=True)
    assert ascending == list(reversed(descending))


def test_or_query_unions_clauses(api, records):
    result = api.call("event.search", {"query": {"type": "or", "clauses": [
        {"trackingId": {"type": "exact", "term": records["chipo_banda"]["trackingId"]}},
        {"trackingId": {"type": "exact", "term": records["grace_tembo"]["trackingId"]}}]}})
    assert ids(result) == {records["chipo_banda"]["id"], records["grace_tembo"]["id"]}
