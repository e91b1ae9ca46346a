"""Hosts and identity: what a deployment's three hosts answer, and how the running build is reported."""

from __future__ import annotations

import httpx
import pytest

from tests.conformance.conftest import APP_VERSION
from tests.conformance.records import Hosts
from tests.conformance.wire import TIMEOUT, mutation

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("conformance")]


def test_gateway_ping_answers_success_with_x_version(hosts: Hosts) -> None:
    """core packages/gateway/src/config/routes.ts `/ping` (healthCheckHandler answers `{success: true}`) and
    packages/gateway/src/server.ts onPreResponse: `X-Version` on every non-Boom response."""
    answer = httpx.get(f"{hosts.gateway}/ping", timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.json() == {"success": True}
    assert answer.headers.get("X-Version") == APP_VERSION
    assert "x-version" in answer.headers.get("access-control-expose-headers", "").lower()


def test_x_version_is_on_trpc_answers_too(hosts: Hosts, system_token: str) -> None:
    """The gateway adds X-Version to the proxied events answers as well (server.ts onPreResponse)."""
    answer = mutation(hosts.events, "event.search",
                      {"query": {"type": "and", "clauses": [{"eventType": "birth"}]}, "limit": 1}, system_token)
    assert answer.status == 200, answer.body
    assert answer.headers.get("X-Version") == APP_VERSION


@pytest.mark.parametrize("where", ["gateway:/api/version", "gateway:/version", "register:/api/version"])
def test_there_is_no_version_endpoint(hosts: Hosts, where: str) -> None:
    """No OpenCRVS v2.0.0 host serves a version path: the gateway has no such route (config/routes.ts), and the
    register host's `/api/version` is rewritten to the gateway's `/version` (packages/client/nginx.conf)."""
    host, path = where.split(":", 1)
    base = hosts.gateway if host == "gateway" else hosts.register
    answer = httpx.get(f"{base}{path}", timeout=TIMEOUT)
    assert answer.status_code == 404, f"{where}: {answer.status_code} {answer.text[:200]}"


@pytest.mark.parametrize("path", ["/", "/registration-home/all"])
def test_register_host_serves_the_web_app_outside_api(hosts: Hosts, path: str) -> None:
    """packages/client/nginx.conf: any path that is not `/api/*` falls back to the web app's index.html."""
    answer = httpx.get(f"{hosts.register}{path}", timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.headers.get("content-type", "").startswith("text/html")


def test_trpc_through_the_register_host(hosts: Hosts, system_token: str) -> None:
    """nginx.conf rewrites `/api/(.*)` to the gateway, so `{register}/api/events/<proc>?batch=1` is tRPC too
    (performance-test src/config.ts: EVENTS_URL such as http://localhost:3000/api/events)."""
    answer = mutation(f"{hosts.register}/api/events", "event.search",
                      {"query": {"type": "and", "clauses": [{"eventType": "birth"}]}, "limit": 1}, system_token)
    assert answer.status == 200, answer.body
    assert set(answer.data) >= {"results", "total"}


def test_country_config_ping(hosts: Hosts) -> None:
    """farajaland src/index.ts: `GET /ping` answers `{success: true}`."""
    answer = httpx.get(f"{hosts.config}/ping", timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.json() == {"success": True}
