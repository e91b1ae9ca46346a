"""Each injected defect and fault observably changes the sandbox's behaviour."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sandbox_wire import (
    AGENT,
    CLERK,
    OFFICE,
    REGISTRAR,
    Api,
    TrpcError,
    birth_declaration,
    client_token,
)

from sandbox.process import SandboxProcess, SandboxStartError

pytestmark = pytest.mark.integration

SPECS = {
    "no-idempotency": {"defects": ["no-idempotency"]},
    "racy-numbers": {"defects": ["duplicate-registration-number"]},
    "search-and-permissions": {"env": {"SANDBOX_DEFECTS": "search-ignores-new-records,skip-permission-check"}},
    "drop-latency-errors": {"defects": ["drop-field:mother.nid"], "error_rate": {"event.search": 1.0},
                            "env": {"SANDBOX_LATENCY": "event.get=300"}},
    "crash": {"crash_after": 3},
    "async-confirm": {"async_confirm": 0.5},
    "stuck-requested": {"defects": ["stuck-requested"]},
}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, SandboxProcess]]:
    """One sandbox per fault set, started in parallel."""
    procs = {name: SandboxProcess(**spec) for name, spec in SPECS.items()}
    with ThreadPoolExecutor(len(procs)) as pool:
        futures = [pool.submit(p.start) for p in procs.values()]
        try:
            for future in futures:
                future.result()
            yield procs
        finally:
            for proc in procs.values():
                proc.stop()


def _api(proc: SandboxProcess) -> Api:
    return Api(proc.url, client_token(proc.url))


def accepted_number(document: dict) -> str | None:
    numbers = [a.get("registrationNumber") for a in document["actions"]
               if a["type"] == "REGISTER" and a["status"] == "Accepted"]
    return numbers[-1] if numbers else None


def test_no_idempotency_applies_repeats(servers):
    proc = servers["no-idempotency"]
    api = _api(proc)
    first = api.create(transaction_id="same-create")
    second = api.create(transaction_id="same-create")
    assert first["id"] != second["id"]
    registrar = Api.login(proc.url, REGISTRAR)
    event = registrar.create()
    registrar.declare(event["id"], birth_declaration(), keepAssignment=True)
    registrar.action("reject.request", event["id"], transaction_id="same-reject", content={"reason": "x"},
                     keepAssignment=True)
    # A healthy server answers the repeat with the record as it is; this one judges it again (a rejected
    # record allows no second REJECT), so the client sees a conflict instead of its earlier answer.
    with pytest.raises(TrpcError) as caught:
        registrar.action("reject.request", event["id"], transaction_id="same-reject", content={"reason": "x"},
                         keepAssignment=True)
    assert caught.value.status == 409


def test_racy_registration_numbers_collide(servers):
    proc = servers["racy-numbers"]
    registrar = Api.login(proc.url, REGISTRAR)
    events = []
    for i in range(20):
        event = registrar.create()
        registrar.declare(event["id"], birth_declaration(f"Race{i}", "Lungu"), keepAssignment=True)
        events.append(event["id"])

    def register(event_id):
        return accepted_number(Api(proc.url, registrar.token, system=False).register(event_id))

    with ThreadPoolExecutor(max_workers=20) as pool:
        numbers = list(pool.map(register, events))
    assert all(numbers) and len(set(numbers)) < 20


def test_search_ignores_new_records(servers):
    api = _api(servers["search-and-permissions"])
    event = api.create()
    api.action("notify.request", event["id"], createdAtLocation=OFFICE, declaration={"child.gender": "female"})
    assert api.call("event.get", {"eventId": event["id"]})["id"] == event["id"]
    assert api.search([{"trackingId": {"type": "exact", "term": event["trackingId"]}}])["total"] == 0
    assert api.rest_search([])["total"] == 0


def test_skip_permission_check_lets_a_hospital_clerk_register(servers):
    url = servers["search-and-permissions"].url
    clerk = Api.login(url, CLERK)
    event = clerk.create()
    clerk.declare(event["id"], birth_declaration(), keepAssignment=True)
    # The scope check is skipped; the validated flag still is not there, so the conflict is the form's rule.
    with pytest.raises(TrpcError) as caught:
        clerk.register(event["id"])
    assert caught.value.status == 409 and "Conditions for action: REGISTER" in caught.value.message
    agent = Api.login(url, AGENT)
    with pytest.raises(TrpcError) as caught:  # a healthy server would say 403 for the missing scope
        agent.register(event["id"])
    assert caught.value.status == 409 and caught.value.message == "You are not assigned to this event"


def test_drop_field_silently_drops_it(servers):
    registrar = Api.login(servers["drop-latency-errors"].url, REGISTRAR)
    event = registrar.create()
    declared = registrar.declare(event["id"], birth_declaration(**{"mother.idType": "NATIONAL_ID",
                                                                   "mother.nid": "1234567890"}))
    stored = next(a for a in declared["actions"] if a["type"] == "DECLARE")["declaration"]
    assert "mother.nid" not in stored and stored["child.name"]["firstname"] == "Chipo"


def test_async_confirmation_answers_requested_and_accepts_later(servers):
    registrar = Api.login(servers["async-confirm"].url, REGISTRAR)
    event = registrar.create()
    declared = registrar.declare(event["id"], birth_declaration(), keepAssignment=True)
    assert [(a["type"], a["status"]) for a in declared["actions"]][-1] == ("DECLARE", "Requested")
    assert registrar.search([{"trackingId": {"type": "exact", "term": event["trackingId"]}}])["total"] == 0
    deadline = time.monotonic() + 10
    while True:
        fetched = registrar.call("event.get", {"eventId": event["id"]})
        if any(a["type"] == "DECLARE" and a["status"] == "Accepted" for a in fetched["actions"]):
            break
        assert time.monotonic() < deadline, "the DECLARE was never accepted"
        time.sleep(0.2)
    hit = registrar.search([{"trackingId": {"type": "exact", "term": event["trackingId"]}}])["results"][0]
    assert hit["status"] == "DECLARED" and "declare:requested" not in hit["flags"]


def test_stuck_requested_never_accepts(servers):
    registrar = Api.login(servers["stuck-requested"].url, REGISTRAR)
    event = registrar.create()
    registrar.declare(event["id"], birth_declaration(), keepAssignment=True)
    time.sleep(0.3)
    fetched = registrar.call("event.get", {"eventId": event["id"]})
    statuses = [a["status"] for a in fetched["actions"] if a["type"] == "DECLARE"]
    assert statuses == ["Requested"]
    with pytest.raises(TrpcError) as caught:
        registrar.register(event["id"], declaration=birth_declaration())
    assert caught.value.status == 409 and "declare:requested" in caught.value.message


def test_latency_is_added_to_the_named_procedure_only(servers):
    api = _api(servers["drop-latency-errors"])
    event = api.create()
    started = time.perf_counter()
    api.call("event.get", {"eventId": event["id"]})
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    response = httpx.get(f"{api.url}/events/events/{event['id']}", headers=api.headers())
    assert response.status_code == 200 and time.perf_counter() - started >= 0.3


def test_error_rate_fails_the_named_procedure_with_500(servers):
    api = _api(servers["drop-latency-errors"])
    with pytest.raises(TrpcError) as caught:
        api.search([])
    assert caught.value.status == 500 and caught.value.code == "INTERNAL_SERVER_ERROR"
    response = httpx.post(f"{api.url}/events/events/search", json={}, headers=api.headers())
    assert response.status_code == 500
    assert api.create()["id"]


def test_crash_after_n_requests_kills_the_process(servers):
    proc = servers["crash"]
    token = client_token(proc.url)  # request 1
    api = Api(proc.url, token)
    api.create()  # 2
    api.search([])  # 3
    assert proc.wait(timeout=10) not in (None, 0)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{proc.url}/ping", timeout=2)


def test_unknown_defect_refuses_to_start():
    with pytest.raises(SandboxStartError, match="unknown defect"):
        SandboxProcess(defects=["make-it-faster"], startup_timeout=20).start()
