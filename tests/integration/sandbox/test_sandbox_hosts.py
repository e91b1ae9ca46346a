"""The sandbox is an OpenCRVS v2.0.0 deployment's three hosts: gateway, register (client) and country config."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sandbox_wire import SIGNATURE_PNG, Api, TrpcError, birth_declaration, client_token

from sandbox.locations import HEALTH_FACILITY, KLOW, KLOW_VILLAGE_HOSPITAL
from sandbox.process import SandboxProcess

pytestmark = pytest.mark.integration

VERSION = "1.2.0-rc.1"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxProcess]:
    with SandboxProcess(version=VERSION, auth_rate_limit=0) as proc:
        yield proc


@pytest.fixture(scope="module")
def clerk(sandbox: SandboxProcess) -> Iterator[Api]:
    caller = Api.login(sandbox.url, "k.bwalya")
    yield caller
    caller.close()


def test_three_hosts_on_three_ports(sandbox):
    urls = {sandbox.gateway_url, sandbox.register_url, sandbox.config_url}
    assert len(urls) == 3 and sandbox.url == sandbox.gateway_url


def test_gateway_ping_answers_success_with_x_version_and_there_is_no_api_version(sandbox):
    ping = httpx.get(f"{sandbox.gateway_url}/ping")
    assert ping.status_code == 200 and ping.json() == {"success": True}
    assert ping.headers["x-version"] == VERSION and "X-Version" in ping.headers["access-control-expose-headers"]
    for url in (sandbox.gateway_url, sandbox.register_url, sandbox.config_url):
        answer = httpx.get(f"{url}/api/version")
        assert "version" not in answer.text or answer.headers["content-type"].startswith("text/html")
    missing = httpx.get(f"{sandbox.gateway_url}/api/version")
    assert missing.status_code == 404 and "x-version" not in missing.headers, "a gateway error has no X-Version"


def test_country_config_ping_and_nothing_else(sandbox):
    assert httpx.get(f"{sandbox.config_url}/ping").json() == {"success": True}
    assert httpx.get(f"{sandbox.config_url}/events/event.search").status_code == 404
    assert httpx.get(f"{sandbox.register_url}/api/countryconfig/ping").json() == {"success": True}


def test_register_host_rewrites_api_to_the_gateway_and_serves_the_web_app_elsewhere(sandbox, clerk):
    proxied = httpx.get(f"{sandbox.register_url}/api/ping")
    assert proxied.json() == {"success": True} and proxied.headers["x-version"] == VERSION
    rest = httpx.get(f"{sandbox.register_url}/api/events/locations", headers=clerk.headers())
    assert rest.status_code == 200 and any(loc["id"] == KLOW_VILLAGE_HOSPITAL for loc in rest.json())
    for path in ("/some/deep/link", "/records-that-do-not-exist", "/ping"):
        page = httpx.get(f"{sandbox.register_url}{path}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), path
    assert httpx.get(f"{sandbox.register_url}/login").status_code == 200
    assert httpx.get(f"{sandbox.gateway_url}/login").status_code == 404, "the web client lives on the register host"


def test_trpc_answers_and_errors_carry_x_version_and_the_trpc_error_shape(sandbox, clerk):
    ok = clerk.raw("locations.list", {"locationType": HEALTH_FACILITY}, "GET")
    assert ok.status_code == 200 and ok.headers["x-version"] == VERSION
    assert {loc["locationType"] for loc in ok.json()[0]["result"]["data"]["json"]} == {HEALTH_FACILITY}
    bad = clerk.raw("event.get", {"eventId": "not-a-uuid"}, "GET")
    error = bad.json()[0]["error"]["json"]
    assert bad.status_code == 400 and bad.headers["x-version"] == VERSION
    assert error["data"] == {"code": "BAD_REQUEST", "httpStatus": 400, "path": "event.get"}
    assert set(error) == {"message", "code", "data"} and error["code"] == -32600


def test_a_validation_error_message_is_a_json_list_of_field_issues(sandbox, clerk):
    event = clerk.create("birth")
    declaration = birth_declaration()
    del declaration["child.gender"]
    with pytest.raises(TrpcError) as caught:
        clerk.declare(event["id"], declaration)
    assert caught.value.status == 400
    assert {"message": "Required", "id": "child.gender"} in caught.value.issues  # JSON.stringify drops undefined


def test_mutation_by_get_is_405_and_unknown_procedure_404(sandbox, clerk):
    assert clerk.raw("event.create", {"transactionId": "t", "type": "birth"}, "GET").status_code == 405
    unknown = clerk.raw("event.actions.validate.request", {}, "POST")
    assert unknown.status_code == 404 and unknown.json()[0]["error"]["json"]["data"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(("path", "content"), [
    ("/events/event.create?batch=1", b"{not json"),
    ("/events/event.create?batch=1", b"[1, 2]"),
    ("/events/event.create?batch=1", b'{"0": "json"}'),
    ("/events/event.search?batch=1", b'{"0": {"json": {"query": 7}}}'),
    ("/events/event.get,event.search?batch=1", b"{}"),
    ("/events/event.get", b'{"eventId": 5}'),
    ("/events/events", b"{broken"),
    ("/events/events/search", b'{"query": "x"}'),
])
def test_malformed_requests_are_400_never_500(sandbox, clerk, path, content):
    response = httpx.post(f"{sandbox.gateway_url}{path}", content=content,
                          headers={**clerk.headers(), "Content-Type": "application/json"})
    assert response.status_code in (400, 207), response.text
    assert "INTERNAL_SERVER_ERROR" not in response.text


def test_rest_paths_are_the_events_services_openapi_ones(sandbox, clerk):
    system = Api(sandbox.url, client_token(sandbox.url))
    created = httpx.post(f"{sandbox.register_url}/api/events/events", headers=system.headers(),
                         json={"type": "birth", "transactionId": str(uuid.uuid4()),
                               "createdAtLocation": "3f6f9a2c-0000-4000-8000-0000000000a1"})
    assert created.status_code == 200, created.text
    fetched = httpx.get(f"{sandbox.gateway_url}/events/events/{created.json()['id']}", headers=system.headers())
    assert fetched.status_code == 200 and fetched.json()["id"] == created.json()["id"]
    missing = httpx.get(f"{sandbox.gateway_url}/events/no/such/route", headers=system.headers())
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    wrong_type = httpx.post(f"{sandbox.gateway_url}/events/events/search", headers={
        **system.headers(), "Content-Type": "text/plain"}, content=b"{}")
    assert wrong_type.status_code == 415 and wrong_type.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_a_rest_input_error_is_input_validation_failed_with_the_zod_issues(sandbox):
    """trpc-to-openapi 3.2.0 (src/adapters/node-http/core.ts): a ZodError cause answers 'Input validation failed',
    the tRPC error shape and `issues`; the record is untouched."""
    system = Api(sandbox.url, client_token(sandbox.url))
    created = httpx.post(f"{sandbox.gateway_url}/events/events", headers=system.headers(),
                         json={"type": "birth", "transactionId": str(uuid.uuid4()),
                               "createdAtLocation": "3f6f9a2c-0000-4000-8000-0000000000a1"}).json()
    refused = httpx.post(f"{sandbox.gateway_url}/events/events/{created['id']}/notify", headers=system.headers(),
                         json={"type": "foobar"})
    assert refused.status_code == 400
    body = refused.json()
    assert body["message"] == "Input validation failed" and body["code"] == "BAD_REQUEST"
    assert body["data"] == {"code": "BAD_REQUEST", "httpStatus": 400, "path": "event.actions.notify.request"}
    assert body["issues"] and all({"code", "path", "message"} <= set(issue) for issue in body["issues"])
    fetched = httpx.get(f"{sandbox.gateway_url}/events/events/{created['id']}", headers=system.headers()).json()
    assert [a["type"] for a in fetched["actions"]] == ["CREATE", "READ"]


def test_rest_direct_notify_creates_a_notified_record(sandbox):
    """createAndNotify.ts: `POST /events/notify` for system clients; a replay answers the same record."""
    system = Api(sandbox.url, client_token(sandbox.url))
    body = {"transactionId": str(uuid.uuid4()), "eventType": "birth",
            "createdAtLocation": "3f6f9a2c-0000-4000-8000-0000000000c1",
            "declaration": {"child.name": {"firstname": "Chipo", "surname": "Banda"}}, "annotation": {}}
    first = httpx.post(f"{sandbox.register_url}/api/events/events/notify", headers=system.headers(), json=body)
    assert first.status_code == 200, first.text
    assert [(a["type"], a["status"]) for a in first.json()["actions"]] == [
        ("CREATE", "Accepted"), ("NOTIFY", "Requested"), ("NOTIFY", "Accepted")]
    again = httpx.post(f"{sandbox.gateway_url}/events/events/notify", headers=system.headers(), json=body)
    assert again.json() == first.json()


def test_locations_over_trpc_and_rest_filter_alike(sandbox, clerk):
    trpc = clerk.call("locations.list", {"locationType": HEALTH_FACILITY, "isActive": True}, "GET")
    rest = httpx.get(f"{sandbox.gateway_url}/events/locations", headers=clerk.headers(),
                     params={"locationType": HEALTH_FACILITY, "isActive": "true"}).json()
    assert trpc == rest and {loc["name"] for loc in rest} >= {"Klow Village Hospital"}
    assert set(rest[0]) == {"id", "name", "externalId", "administrativeAreaId", "validUntil", "locationType"}
    some = httpx.get(f"{sandbox.gateway_url}/events/locations", headers=clerk.headers(),
                     params=[("locationIds", KLOW_VILLAGE_HOSPITAL)]).json()
    assert [loc["id"] for loc in some] == [KLOW_VILLAGE_HOSPITAL]
    areas = clerk.call("administrativeAreas.list", None, "GET")
    assert any(area["id"] == KLOW and area["name"] == "Klow" for area in areas)
    assert clerk.raw("locations.list", {"isActive": "yes"}, "GET").status_code == 400
    assert httpx.get(f"{sandbox.gateway_url}/events/locations").status_code == 401


def test_upload_answers_the_stored_path_as_text(sandbox, clerk):
    response = httpx.post(f"{sandbox.gateway_url}/upload", headers=clerk.headers(),
                          data={"transactionId": str(uuid.uuid4())},
                          files={"file": ("signature.png", SIGNATURE_PNG, "image/png")})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert response.text.endswith(".png") and response.headers["x-version"] == VERSION
    event = clerk.create("birth")
    annotation = {"review.comment": "ok", "review.signature": {"path": response.text,
                                                               "originalFilename": "signature.png",
                                                               "type": "image/png"}}
    declared = clerk.declare(event["id"], birth_declaration(), annotation=annotation)
    assert declared["id"] == event["id"]


@pytest.mark.parametrize(("kwargs", "status"), [
    ({"data": {"transactionId": "t"}, "files": {"other": ("a.txt", b"x", "text/plain")}}, 400),
    ({"data": {"transactionId": "t"}}, 415),
    ({"files": {"file": ("s.png", b"x", "image/png")}}, 400),
    ({"content": b"plain", "headers": {"Content-Type": "text/plain"}}, 415),
    ({"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}}, 400),
])
def test_bad_uploads_are_refused_with_4xx(sandbox, clerk, kwargs, status):
    headers = {**clerk.headers(), **kwargs.pop("headers", {})}
    response = httpx.post(f"{sandbox.gateway_url}/upload", headers=headers, **kwargs)
    assert response.status_code == status, response.text


def test_upload_needs_a_token(sandbox):
    response = httpx.post(f"{sandbox.gateway_url}/upload", data={"transactionId": "t"},
                          files={"file": ("s.png", b"x", "image/png")})
    assert response.status_code == 401


def test_profile_describes_this_sandbox(sandbox):
    profile = sandbox.profile("local")
    assert profile["name"] == "local" and profile["gateway"] == sandbox.gateway_url
    assert (profile["register"], profile["config"]) == (sandbox.register_url, sandbox.config_url)
    assert profile["identity"] == {"header": "X-Version", "path": "/ping"}
    assert profile["client"]["id"] == sandbox.client_id and profile["client"]["secret_env"] in sandbox.profile_env()
    assert [u["username"] for u in profile["users"]["local_registrar"]] == ["k.mweene", "k.mwale", "d.sakala"]
    assert profile["users"]["hospital_clerk"][0] == {"username": "k.bwalya", "password_env": "CRVS_SANDBOX_PASSWORD"}
    assert profile["two_fa"] is False and profile["login_code_env"] is None
    assert sandbox.profile_env()["CRVS_SANDBOX_PASSWORD"] == "test"
    assert sandbox.client_id == "4b3e5c7a-8d2f-4a1b-9c6e-0f5d7a2b8c91"


def test_serve_json_announces_the_three_hosts(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--port", "0", "--db", str(tmp_path / "s.db"),
                             "--app-version", "9.9.9", "--json"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert {"gateway", "register", "config", "client_id", "client_secret"} <= set(info)
        assert info["client_id"] == "4b3e5c7a-8d2f-4a1b-9c6e-0f5d7a2b8c91" and info["url"] == info["gateway"]
        assert httpx.get(f"{info['gateway']}/ping", timeout=10).headers["x-version"] == "9.9.9"
        assert httpx.get(f"{info['config']}/ping", timeout=10).json() == {"success": True}
        assert httpx.get(f"{info['register']}/api/ping", timeout=10).json() == {"success": True}
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0, "SIGTERM stops the sandbox cleanly"
