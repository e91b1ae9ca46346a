"""The seeder is deterministic, keeps registration numbers unique, and the main searches use indexes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sandbox_wire import REGISTRAR, Api, birth_declaration, client_token

from sandbox.process import SandboxProcess
from sandbox.search import build_statements, parse_search
from sandbox.seed import checksum, seed_database
from sandbox.settings import database_url
from sandbox.storage import Store

pytestmark = pytest.mark.integration

RECORDS = 2000


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("seed") / "a.db"
    seed_database(database_url(path), records=RECORDS, seed=7, batch=500)
    return path


def test_same_seed_gives_identical_rows(seeded, tmp_path):
    again = tmp_path / "b.db"
    report = seed_database(database_url(again), records=RECORDS, seed=7, batch=700)
    assert report["records"] == RECORDS
    assert checksum(database_url(again)) == checksum(database_url(seeded))


def test_other_seed_gives_other_rows(seeded, tmp_path):
    other = tmp_path / "c.db"
    seed_database(database_url(other), records=RECORDS, seed=8, batch=500)
    assert checksum(database_url(other)) != checksum(database_url(seeded))


def test_seed_cli_and_proportions(run_cli, tmp_path):
    result = run_cli("sandbox", "seed", "--db", str(tmp_path / "cli.db"), "--records", "1000", "--seed", "3")
    assert result.exit_code == 0, result.stderr
    assert "seeded 1000 records" in result.stdout
    store = Store(database_url(tmp_path / "cli.db"))
    with store.read() as conn:
        counts = dict(conn.exec_driver_sql("SELECT status, count(*) FROM event GROUP BY status").all())
        types = dict(conn.exec_driver_sql("SELECT type, count(*) FROM event GROUP BY type").all())
        actions = conn.exec_driver_sql("SELECT count(*) FROM action").scalar()
    store.dispose()
    assert set(counts) == {"CREATED", "NOTIFIED", "DECLARED", "REGISTERED", "ARCHIVED"}
    assert 600 <= counts["REGISTERED"] <= 800 and 500 <= types["birth"] <= 700
    assert actions > 6000  # complete histories (Requested + Accepted, assignments), not bare rows


def test_seeded_records_have_opencrvs_histories(seeded):
    store = Store(database_url(seeded))
    with store.read() as conn:
        registered = conn.exec_driver_sql(
            "SELECT id, meta, flags FROM event WHERE status = 'REGISTERED' LIMIT 1").first()
        kinds = [tuple(r) for r in conn.exec_driver_sql(
            "SELECT type, status FROM action WHERE event_id = ? ORDER BY position", (registered[0],)).all()]
    store.dispose()
    assert kinds[:2] == [("CREATE", "Accepted"), ("ASSIGN", "Accepted")]
    assert ("REGISTER", "Requested") in kinds and ("REGISTER", "Accepted") in kinds
    legal = json.loads(registered[1])["legalStatuses"]
    assert set(legal["DECLARED"]) >= {"createdAt", "createdBy", "createdAtLocation", "acceptedAt"}
    assert legal["REGISTERED"]["registrationNumber"].startswith("RN")
    assert "test-data" not in json.loads(registered[2])


def test_seeded_declarations_pass_the_forms(seeded):
    import datetime as dt

    from sandbox import forms

    store = Store(database_url(seeded))
    with store.read() as conn:
        rows = conn.exec_driver_sql("SELECT e.type, e.created_at, a.payload FROM action a JOIN event e "
                                    "ON e.id = a.event_id WHERE a.type = 'DECLARE' AND a.status = 'Requested' "
                                    "LIMIT 300").all()
    store.dispose()
    assert rows
    for event_type, created_at, payload in rows:
        declaration = json.loads(payload)["declaration"]
        ctx = forms.Context(role="HOSPITAL_CLERK", today=dt.date.fromisoformat(created_at[:10]) + dt.timedelta(days=2))
        form = forms.FORMS[event_type]
        assert forms.unknown_fields(form, declaration) == []
        assert forms.declaration_issues(form, declaration, declaration, ctx) == []


def test_live_registrations_after_seeding_do_not_collide(seeded, tmp_path):
    db = tmp_path / "live.db"
    db.write_bytes(seeded.read_bytes())
    store = Store(database_url(db))
    with store.read() as conn:
        indexed = conn.exec_driver_sql("SELECT count(*) FROM event WHERE status != 'CREATED'").scalar()
    store.dispose()
    with SandboxProcess(db) as proc:
        api = Api(proc.url, client_token(proc.url))
        seeded_hit = api.search([{"status": {"type": "exact", "term": "REGISTERED"}}], limit=1)["results"][0]
        _, registered = Api.login(proc.url, REGISTRAR).registered_birth(birth_declaration("Mapalo", "Sakala"))
        number = next(a["registrationNumber"] for a in registered["actions"]
                      if a["type"] == "REGISTER" and a["status"] == "Accepted")
        found = api.search([{"legalStatuses.REGISTERED.registrationNumber": {"type": "exact", "term": number}}])
        assert found["total"] == 1
        assert number != seeded_hit["legalStatuses"]["REGISTERED"]["registrationNumber"]
        assert api.search([], limit=1)["total"] == indexed + 1  # CREATED records are not indexed


MAIN_QUERIES = {
    "fuzzy name": [{"data": {"child.name": {"type": "fuzzy", "term": "Amina Otieno"}}}],
    "registration number": [{"legalStatuses.REGISTERED.registrationNumber": {"type": "exact", "term": "RN0000000005"}}],
    "dob and name": [{"data": {"child.dob": {"type": "exact", "term": "2024-03-14"},
                               "child.name": {"type": "fuzzy", "term": "Amina"}}}],
    "tracking id": [{"trackingId": {"type": "exact", "term": "AAAAAA"}}],
    "status": [{"status": {"type": "exact", "term": "DECLARED"}}],
    "flags": [{"flags": {"anyOf": ["rejected"]}}],
    "dob range": [{"data": {"deceased.dob": {"type": "range", "gte": "1950-01-01", "lte": "1950-12-31"}}}],
}


@pytest.mark.parametrize("name", MAIN_QUERIES)
def test_main_searches_use_indexes_not_table_scans(seeded, name):
    store = Store(database_url(seeded))
    try:
        with store.read() as conn:
            query = parse_search({"query": {"type": "and", "clauses": MAIN_QUERIES[name]}})
            for statement in build_statements(conn, query):
                sql = str(statement.compile(conn, compile_kwargs={"literal_binds": True}))
                plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()]
                # A SCAN of a derived table (the page of ids, a co-routine) reads rows an index search produced;
                # only a SCAN of a stored table reads the whole table.
                scans = [line for line in plan if line.startswith("SCAN") and "USING" not in line
                         and not line.startswith(("SCAN (subquery", "SCAN page_ids", "SCAN matched"))]
                assert not scans, plan
                assert any("INDEX" in line for line in plan), plan
    finally:
        store.dispose()
