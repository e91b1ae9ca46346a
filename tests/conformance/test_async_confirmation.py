"""Asynchronous confirmation: when the country config answers 202, OpenCRVS v2.0.0 stores only the Requested
action and answers with it (core packages/events/src/router/event/actions/index.ts defaultRequestHandler,
ActionConfirmationResponse.RequiresProcessing); the Accepted action comes later through the action's `accept`
route, pointing back with originalActionId. The sandbox imitates that with `--async-confirm SECONDS`."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from sandbox.process import SandboxProcess
from tests.conformance.records import (
    CLIENT_ID,
    CLIENT_SECRET,
    LOGIN_CODE,
    PASSWORD,
    Hosts,
    Places,
    actions_of,
    declared_record,
    get,
    register,
    search_tracking_id,
)
from tests.conformance.wire import query, user_token

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("conformance")]

CONFIRM_AFTER = 0.5


@pytest.fixture(scope="module")
def async_hosts() -> Iterator[Hosts]:
    """A second sandbox whose confirmations arrive CONFIRM_AFTER seconds late."""
    with SandboxProcess(version="2.0.0", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                        async_confirm=CONFIRM_AFTER) as proc:
        yield Hosts(proc.gateway_url.rstrip("/"), proc.register_url.rstrip("/"), proc.config_url.rstrip("/"))


def test_register_answers_requested_then_accepted_arrives(async_hosts: Hosts) -> None:
    """The register answer holds REGISTER Requested only; while it is pending the index carries the
    `register:requested` action flag (commons/src/events/Flag.ts ActionFlag, the performance test's
    'in-external-validation' workqueue); later event.get shows the Accepted action with originalActionId and the
    registration number reaches legalStatuses.REGISTERED."""
    token = user_token(async_hosts.gateway, "k.mweene", PASSWORD, LOGIN_CODE)
    facilities = query(async_hosts.events, "locations.list", {"locationType": "HEALTH_FACILITY"}, token).data
    areas = query(async_hosts.events, "administrativeAreas.list", {}, token).data
    places = Places(next(f["id"] for f in facilities if f["name"] == "Klow Village Hospital"),
                    next(a["id"] for a in areas if a["name"] == "Klow"))
    record = declared_record(async_hosts, token, places, keep_assignment=True)
    deadline = time.monotonic() + 10 * CONFIRM_AFTER + 5
    while actions_of(get(async_hosts, token, record.event_id).data, "DECLARE")[-1]["status"] != "Accepted":
        assert time.monotonic() < deadline, "DECLARE was never accepted"
        time.sleep(0.1)
    answer = register(async_hosts, token, record)
    assert answer.status == 200, answer.body
    assert [a["status"] for a in actions_of(answer.data, "REGISTER")] == ["Requested"]
    pending = search_tracking_id(async_hosts, token, "birth", record.tracking_id).data["results"][0]
    assert "register:requested" in pending["flags"]
    while True:
        registers = actions_of(get(async_hosts, token, record.event_id).data, "REGISTER")
        if [a["status"] for a in registers] == ["Requested", "Accepted"]:
            break
        assert time.monotonic() < deadline, f"REGISTER stayed {[a['status'] for a in registers]}"
        time.sleep(0.1)
    assert registers[1]["originalActionId"] == registers[0]["id"]
    index = search_tracking_id(async_hosts, token, "birth", record.tracking_id).data["results"][0]
    assert index["status"] == "REGISTERED"
    assert index["legalStatuses"]["REGISTERED"]["registrationNumber"] == registers[1]["registrationNumber"]
    assert "register:requested" not in index["flags"]
