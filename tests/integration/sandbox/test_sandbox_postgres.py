"""The sandbox on PostgreSQL (--db URL): lifecycle, idempotency, unique numbers under concurrency, fuzzy search, seed."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sandbox_wire import REGISTRAR, Api, birth_declaration, client_token

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
def pg_proc(pg_database: str) -> Iterator[SandboxProcess]:
    seed_database(pg_database, records=300, seed=5, batch=100)
    with SandboxProcess(pg_database) as proc:
        yield proc


@pytest.fixture(scope="module")
def pg_api(pg_proc: SandboxProcess) -> Api:
    return Api(pg_proc.url, client_token(pg_proc.url))


@pytest.fixture(scope="module")
def pg_registrar(pg_proc: SandboxProcess) -> Api:
    return Api.login(pg_proc.url, REGISTRAR)


def accepted_number(document: dict) -> str | None:
    return next((a.get("registrationNumber") for a in document["actions"]
                 if a["type"] == "REGISTER" and a["status"] == "Accepted"), None)


def test_seeded_records_are_searchable(pg_api):
    assert 250 <= pg_api.search([], limit=1)["total"] < 300  # CREATED records are not indexed
    registered = pg_api.search([{"status": {"type": "exact", "term": "REGISTERED"}}], limit=1)["results"][0]
    number = registered["legalStatuses"]["REGISTERED"]["registrationNumber"]
    found = pg_api.search([{"legalStatuses.REGISTERED.registrationNumber": {"type": "exact", "term": number}}])
    assert [r["id"] for r in found["results"]] == [registered["id"]]


def test_lifecycle_idempotency_and_fuzzy_search(pg_registrar):
    event = pg_registrar.create()
    pg_registrar.declare(event["id"], birth_declaration("Naledi", "Kaunda"), keepAssignment=True)
    first = pg_registrar.register(event["id"], transaction_id="pg-once", keepAssignment=True)
    assert pg_registrar.register(event["id"], transaction_id="pg-once", keepAssignment=True) == first
    hits = pg_registrar.search([{"data": {"child.name": {"type": "fuzzy", "term": "Kuanda Nalede"}}}])
    assert [r["id"] for r in hits["results"]] == [event["id"]]


def test_concurrent_registrations_get_distinct_numbers(pg_registrar):
    events = []
    for i in range(20):
        event = pg_registrar.create()
        pg_registrar.declare(event["id"], birth_declaration(f"Pg{i}", "Mumba"), keepAssignment=True)
        events.append(event["id"])

    def register(event_id: str) -> str | None:
        return accepted_number(Api(pg_registrar.url, pg_registrar.token, system=False).register(event_id))

    with ThreadPoolExecutor(max_workers=20) as pool:
        numbers = list(pool.map(register, events))
    assert all(numbers) and len(set(numbers)) == 20


def test_a_repeated_upload_replaces_the_file_under_the_same_path(pg_registrar):
    """fileUploadHandler stores `<transactionId>.<ext>`; the same name again overwrites it (MinIO putObject)."""
    key = "pg-upload-once"
    answers = [pg_registrar.http.post("/upload", headers=pg_registrar.headers(), data={"transactionId": key},
                                      files={"file": ("signature.png", body, "image/png")})
               for body in (b"\x89PNG first", b"\x89PNG second")]
    assert [(a.status_code, a.text) for a in answers] == [(200, f"{key}.png")] * 2
