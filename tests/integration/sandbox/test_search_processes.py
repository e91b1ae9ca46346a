"""--search-processes: searches run in worker processes and answer exactly as the server's own threads do."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sandbox_wire import REGISTRAR, Api, birth_declaration, client_token

from sandbox.process import SandboxProcess
from sandbox.seed import seed_database
from sandbox.settings import database_url

pytestmark = pytest.mark.integration


def _queries(db: Path) -> list[list[dict]]:
    with sqlite3.connect(db) as conn:
        field, token = conn.execute("SELECT field_id, token FROM name_part GROUP BY field_id, token "
                                    "ORDER BY count(*) DESC, token LIMIT 1").fetchone()
        number = conn.execute("SELECT registration_number FROM event WHERE registration_number IS NOT NULL "
                              "ORDER BY id LIMIT 1").fetchone()[0]
    typo = token[0] + token[2] + token[1] + token[3:]
    return [
        [{"data": {field: {"type": "fuzzy", "term": typo}}}],
        [{"data": {field: {"type": "exact", "term": token}}}],
        [{"legalStatuses.REGISTERED.registrationNumber": {"type": "exact", "term": number}}],
        [{"status": {"type": "exact", "term": "DECLARED"}}],
    ]


def _answers(url: str, queries: list[list[dict]]) -> list[tuple[int, list[str]]]:
    api = Api(url, client_token(url))
    out = []
    for clauses in queries:
        found = api.search(clauses, limit=25)
        out.append((found["total"], [r["id"] for r in found["results"]]))
    return out


def test_worker_processes_answer_as_the_server_threads_do(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    seed_database(database_url(db), records=1500, seed=3, batch=500)
    shutil.copy(db, tmp_path / "b.db")
    queries = _queries(db)
    with SandboxProcess(db, extra_args=["--search-processes", "2"]) as pooled:
        in_workers = _answers(pooled.url, queries)
        bad = Api(pooled.url, client_token(pooled.url)).raw("event.search", {"query": {"type": "xor"}})
    with SandboxProcess(tmp_path / "b.db") as threaded:
        in_threads = _answers(threaded.url, queries)
    assert in_workers == in_threads
    assert all(total > 0 for total, _ in in_workers)
    assert bad.status_code == 400  # input errors still come from the server, in the wire format


def test_a_new_name_reaches_every_workers_fuzzy_cache(tmp_path: Path) -> None:
    with SandboxProcess(tmp_path / "s.db", extra_args=["--search-processes", "2"]) as proc:
        system = Api(proc.url, client_token(proc.url))
        clause = [{"data": {"child.name": {"type": "fuzzy", "term": "Zyxwvust"}}}]
        for _ in range(6):  # both workers expand the term (and cache "no such name") before it exists
            assert system.search(clause)["total"] == 0
        registrar = Api.login(proc.url, REGISTRAR)
        event = registrar.create()
        registrar.declare(event["id"], birth_declaration("Mapalo", "Zyxwvuts"))
        found = [system.search(clause) for _ in range(6)]
    assert all([r["id"] for r in f["results"]] == [event["id"]] for f in found), found
