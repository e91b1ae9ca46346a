"""The sandbox on PostgreSQL (--db URL): lifecycle, idempotency, unique numbers under concurrency, fuzzy search, seed."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sandbox_wire import Api, birth_declaration, client_token, registration_number

from sandbox.process import SandboxProcess
from sandbox.seed import seed_database

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.xdist_group("pg")]


@pytest.fixture(scope="module")
def pg_database(pg_server) -> Iterator[str]:
    """A fresh PostgreSQL database on the session's server, for this module."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(scope="module")
def pg_api(pg_database: str) -> Iterator[Api]:
    seed_database(pg_database, records=300, seed=5, batch=100)
    with SandboxProcess(pg_database) as proc:
        yield Api(proc.url, client_token(proc.url))


def test_seeded_records_are_searchable(pg_api):
    assert pg_api.search([], limit=1)["total"] == 300
    registered = pg_api.search([{"status": {"type": "exact", "term": "REGISTERED"}}], limit=1)["results"][0]
    number = registered["legalStatuses"]["REGISTERED"]["registrationNumber"]
    found = pg_api.search([{"legalStatuses.REGISTERED.registrationNumber": {"type": "exact", "term": number}}])
    assert [r["id"] for r in found["results"]] == [registered["id"]]


def test_lifecycle_idempotency_and_fuzzy_search(pg_api):
    event = pg_api.create()
    pg_api.declare(event["id"], birth_declaration("Naledi", "Kaunda"))
    first = pg_api.register(event["id"], transaction_id="pg-once")
    assert pg_api.register(event["id"], transaction_id="pg-once") == first
    hits = pg_api.search([{"data": {"child.name": {"type": "fuzzy", "term": "Kuanda Naledi"}}}])
    assert [r["id"] for r in hits["results"]] == [event["id"]]


def test_concurrent_registrations_get_distinct_numbers(pg_api):
    events = []
    for i in range(20):
        event = pg_api.create()
        pg_api.declare(event["id"], birth_declaration(f"Pg{i}", "Mumba"))
        events.append(event["id"])
    with ThreadPoolExecutor(max_workers=20) as pool:
        numbers = list(pool.map(lambda e: registration_number(Api(pg_api.url, pg_api.token).register(e)), events))
    assert all(numbers) and len(set(numbers)) == 20
