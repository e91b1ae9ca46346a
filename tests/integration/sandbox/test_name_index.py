"""The name index answers name-only searches by itself, with the same answers as the general query."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sandbox_wire import REGISTRAR, Api, birth_declaration

from sandbox.process import SandboxProcess
from sandbox.search import FuzzyCache, build_statements, general_statements, parse_search, run_search
from sandbox.seed import seed_database
from sandbox.settings import database_url
from sandbox.storage import Store

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("names") / "a.db"
    seed_database(database_url(path), records=3000, seed=11, batch=1000)
    return path


def _sample_names(db: Path) -> tuple[tuple[str, str], tuple[str, str]]:
    """The most common token of one name field, and a token of another field on one record that has the first."""
    with sqlite3.connect(db) as conn:
        f1, t1 = conn.execute("SELECT field_id, token FROM name_part GROUP BY field_id, token "
                              "ORDER BY count(*) DESC, token LIMIT 1").fetchone()
        f2, t2 = conn.execute("SELECT b.field_id, b.token FROM name_part a JOIN name_part b ON a.event_id = b.event_id "
                              "WHERE a.field_id = ? AND a.token = ? AND b.field_id != ? ORDER BY b.event_id LIMIT 1",
                              (f1, t1, f1)).fetchone()
    return (str(f1), str(t1)), (str(f2), str(t2))


def _one_full_name(db: Path) -> tuple[str, str]:
    """A field and the whole name (all its tokens) of one record: the record matches on each token."""
    with sqlite3.connect(db) as conn:
        field_id, event_id = conn.execute("SELECT field_id, event_id FROM name_part GROUP BY field_id, event_id "
                                          "HAVING count(*) >= 2 ORDER BY event_id LIMIT 1").fetchone()
        tokens = [r[0] for r in conn.execute("SELECT token FROM name_part WHERE field_id = ? AND event_id = ?",
                                             (field_id, event_id))]
    return str(field_id), " ".join(tokens)


def _queries(db: Path) -> list[dict]:
    (f1, t1), (f2, t2) = _sample_names(db)
    typo = t1[0] + t1[2] + t1[1] + t1[3:]
    whole_field, whole_name = _one_full_name(db)
    return [
        {"query": {"type": "and", "clauses": [{"data": {whole_field: {"type": "exact", "term": whole_name}}}]},
         "limit": 10},
        {"query": {"type": "and", "clauses": [{"data": {f1: {"type": "fuzzy", "term": f"{typo} {t2}"}}}]},
         "limit": 10},
        {"query": {"type": "and", "clauses": [{"data": {f1: {"type": "exact", "term": t1}}}]}, "limit": 5,
         "offset": 3},
        {"query": {"type": "and", "clauses": [{"data": {f1: {"type": "fuzzy", "term": t1},
                                                          f2: {"type": "fuzzy", "term": t2}}}]}, "limit": 20},
        {"query": {"type": "or", "clauses": [{"data": {f1: {"type": "exact", "term": t1}}}]},
         "sort": [{"field": "createdAt", "direction": "asc"}], "limit": 7},
    ]


def _past_the_end(db: Path) -> dict:
    (f1, t1), _ = _sample_names(db)
    return {"query": {"type": "and", "clauses": [{"data": {f1: {"type": "exact", "term": t1}}}]}, "limit": 10,
            "offset": 100000}


def _page(conn, statements) -> tuple[list[str], int]:
    page, count = statements
    rows = conn.execute(page).mappings().all()
    return [r["id"] for r in rows], int(conn.execute(count).scalar_one())


def test_name_only_searches_match_the_general_query(seeded: Path) -> None:
    store = Store(database_url(seeded))
    cache = FuzzyCache()
    try:
        with store.read() as conn:
            for raw in _queries(seeded):
                query = parse_search(raw)
                fast = _page(conn, build_statements(conn, query, None, cache.expand))
                general = _page(conn, general_statements(conn, query, None, cache.expand))
                assert fast == general, raw
                assert fast[1] > 0, raw  # every query matches something, so the comparison means something
                # The totals come from the index too: the page's window count equals the COUNT.
                answer = run_search(conn, query, None, cache.expand)  # one field: the prebuilt statement
                assert ([r["id"] for r in answer["results"]], answer["total"]) == general
                hidden = _page(conn, build_statements(conn, query, "1900-01-01", cache.expand))
                assert hidden == ([], 0)  # the search-ignores-new-records defect's bound applies to the index
            past = parse_search(_past_the_end(seeded))
            fast = _page(conn, build_statements(conn, past, None, cache.expand))
            assert fast == _page(conn, general_statements(conn, past, None, cache.expand))
            assert fast[0] == [] and fast[1] > 0 and run_search(conn, past, None, cache.expand)["total"] == fast[1]
    finally:
        store.dispose()


def test_name_only_count_reads_only_the_name_index(seeded: Path) -> None:
    store = Store(database_url(seeded))
    try:
        with store.read() as conn:
            query = parse_search(_queries(seeded)[0])
            _page_statement, count = build_statements(conn, query, None, FuzzyCache().expand)
            sql = str(count.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()]
    finally:
        store.dispose()
    assert not any(" event " in f" {line} " for line in plan), plan
    assert any("ix_name_part_sorted" in line for line in plan), plan


def test_the_index_holds_searchable_records_only(seeded: Path) -> None:
    with sqlite3.connect(seeded) as conn:
        drafts = conn.execute("SELECT count(*) FROM name_part JOIN event ON event.id = name_part.event_id "
                              "WHERE event.status = 'CREATED'").fetchone()[0]
        mismatched = conn.execute("SELECT count(*) FROM name_part JOIN event ON event.id = name_part.event_id "
                                  "WHERE name_part.created_at IS NOT event.created_at").fetchone()[0]
        missing = conn.execute("SELECT count(*) FROM event WHERE status != 'CREATED' AND declaration != '{}' "
                               "AND id NOT IN (SELECT event_id FROM name_part)").fetchone()[0]
    assert (drafts, mismatched, missing) == (0, 0, 0)


def test_a_record_enters_the_index_when_declared_and_is_found_by_name(tmp_path: Path) -> None:
    with SandboxProcess(tmp_path / "s.db") as proc:
        registrar = Api.login(proc.url, REGISTRAR)
        event = registrar.create()
        with sqlite3.connect(tmp_path / "s.db") as conn:
            before = conn.execute("SELECT count(*) FROM name_part WHERE event_id = ?", (event["id"],)).fetchone()[0]
        registrar.declare(event["id"], birth_declaration("Chileshe", "Zulumba"))
        with sqlite3.connect(tmp_path / "s.db") as conn:
            rows = conn.execute("SELECT created_at FROM name_part WHERE event_id = ?", (event["id"],)).fetchall()
        found = registrar.search([{"data": {"child.name": {"type": "fuzzy", "term": "Zulumbaa"}}}])
    assert before == 0
    assert rows and {r[0] for r in rows} == {event["createdAt"]}
    assert [r["id"] for r in found["results"]] == [event["id"]]


def test_an_older_database_gets_created_at_filled_and_drafts_dropped(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.executescript("""
            CREATE TABLE name_part (event_id VARCHAR(36) NOT NULL, field_id VARCHAR(32) NOT NULL,
                                    token VARCHAR(64) NOT NULL);
            CREATE INDEX ix_name_part_lookup ON name_part (field_id, token, event_id);
        """)
    store = Store(database_url(db))
    try:
        store.create_schema()  # creates the other tables; name_part gains created_at
        with store.write() as conn:
            for event_id, status, created in (("e-1", "DECLARED", "2026-01-01T00:00:00.000Z"),
                                              ("e-2", "CREATED", "2026-01-02T00:00:00.000Z")):
                conn.exec_driver_sql(
                    "INSERT INTO event (id, type, status, tracking_id, created_at, updated_at, created_by, "
                    "create_transaction_id, replay, flags, declaration, meta) VALUES (?, 'birth', ?, ?, ?, ?, 'u', "
                    "?, 0, '[]', '{}', '{}')", (event_id, status, event_id.upper(), created, created, event_id))
    finally:
        store.dispose()
    # Simulate the rows an older sandbox wrote: no created_at, and a draft's names in the index.
    with sqlite3.connect(db) as conn:
        conn.executescript("""
            DROP INDEX IF EXISTS ix_name_part_sorted;
            ALTER TABLE name_part DROP COLUMN created_at;
            INSERT INTO name_part VALUES ('e-1', 'child.name', 'mwila'), ('e-2', 'child.name', 'mwila');
        """)
    store = Store(database_url(db))
    try:
        store.create_schema()
    finally:
        store.dispose()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT event_id, created_at FROM name_part").fetchall()
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert rows == [("e-1", "2026-01-01T00:00:00.000Z")]
    assert "ix_name_part_sorted" in indexes and "ix_name_part_lookup" not in indexes
