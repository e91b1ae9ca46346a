"""Each injected defect and fault observably changes the sandbox's behaviour."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sandbox_wire import Api, TrpcError, birth_declaration, client_token, registration_number, user_token

from sandbox.process import SandboxProcess, SandboxStartError

pytestmark = pytest.mark.integration

SPECS = {
    "no-idempotency": {"defects": ["no-idempotency"]},
    "racy-numbers": {"defects": ["duplicate-registration-number"]},
    "search-and-permissions": {"env": {"SANDBOX_DEFECTS": "search-ignores-new-records,skip-permission-check"}},
    "drop-latency-errors": {"defects": ["drop-field:mother.nid"], "error_rate": {"event.search": 1.0},
                            "env": {"SANDBOX_LATENCY": "event.get=300"}},
    "crash": {"crash_after": 3},
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


def test_no_idempotency_applies_repeats(servers):
    api = _api(servers["no-idempotency"])
    first = api.create(transaction_id="same-create")
    second = api.create(transaction_id="same-create")
    assert first["id"] != second["id"]
    api.declare(first["id"], birth_declaration(), transaction_id="same-declare")
    api.action("reject.request", first["id"], transaction_id="same-reject", reason={"message": "x"})
    twice = api.action("reject.request", first["id"], transaction_id="same-reject", reason={"message": "x"})
    assert [a["type"] for a in twice["actions"]].count("REJECT") == 2


def test_racy_registration_numbers_collide(servers):
    proc = servers["racy-numbers"]
    api = _api(proc)
    events = []
    for i in range(20):
        event = api.create()
        api.declare(event["id"], birth_declaration(f"Race{i}", "Lungu"))
        events.append(event["id"])

    def register(event_id):
        return registration_number(Api(proc.url, api.token).register(event_id))

    with ThreadPoolExecutor(max_workers=20) as pool:
        numbers = list(pool.map(register, events))
    assert all(numbers) and len(set(numbers)) < 20


def test_search_ignores_new_records(servers):
    api = _api(servers["search-and-permissions"])
    event = api.create()
    assert api.call("event.get", {"eventId": event["id"]})["id"] == event["id"]
    assert api.search([{"trackingId": {"type": "exact", "term": event["trackingId"]}}])["total"] == 0
    assert api.rest_search([])["total"] == 0


def test_skip_permission_check_lets_field_agent_register(servers):
    url = servers["search-and-permissions"].url
    agent = Api(url, user_token(url, "k.bwalya"))
    event = agent.call("event.create", {"transactionId": str(uuid.uuid4()), "type": "birth"})
    agent.declare(event["id"], birth_declaration())
    assert registration_number(agent.register(event["id"]))


def test_drop_field_silently_drops_it(servers):
    api = _api(servers["drop-latency-errors"])
    event = api.create()
    declared = api.declare(event["id"], birth_declaration(**{"mother.nid": "1234567890"}))
    stored = declared["actions"][-1]["declaration"]
    assert "mother.nid" not in stored and stored["child.name"]["firstname"] == "Chipo"


def test_latency_is_added_to_the_named_procedure_only(servers):
    api = _api(servers["drop-latency-errors"])
    event = api.create()
    started = time.perf_counter()
    api.call("event.get", {"eventId": event["id"]})
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    response = httpx.get(f"{api.url}/api/events/events/{event['id']}", headers=api.headers())
    assert response.status_code == 200 and time.perf_counter() - started >= 0.3


def test_error_rate_fails_the_named_procedure_with_500(servers):
    api = _api(servers["drop-latency-errors"])
    with pytest.raises(TrpcError) as caught:
        api.search([])
    assert caught.value.status == 500 and caught.value.code == "INTERNAL_SERVER_ERROR"
    response = httpx.post(f"{api.url}/api/events/events/search", json={}, headers=api.headers())
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
