"""The migration rehearsal on real databases: the #11115-style defect is caught with its count, a clean one passes."""

from __future__ import annotations

import json
import sqlite3

import pytest
from ops_data import MIGRATE

from release.workflow.gate_runner import run_gate
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.integration]

FIELDS = '["eventDetails.date", "child.dob", "mother.name"]'


def rehearsal_gate(source, to: str, extra: str = "") -> str:
    return f'''[gates.rehearsal]
kind = "migration"
source = "{source}"
migrate = "{MIGRATE} --to {to}"
fields = {FIELDS}
labels = {{ "eventDetails.date" = "date of death" }}
{extra}'''


def test_the_defect_migration_fails_naming_the_date_of_death_and_how_many_records_lost_it(project, sqlite_data):
    before = sqlite_data.path.read_bytes()
    ctx, candidate = project(rehearsal_gate(sqlite_data.path, "9001_drop_date_of_death"))
    outcome = run_gate(ctx, "rehearsal", candidate)
    assert outcome.state.value == "FAILED"
    lost = f"eventDetails.date (date of death): {sqlite_data.deaths_with_date} of {sqlite_data.deaths_with_date} " \
           "records lost it"
    assert lost in outcome.reason and sqlite_data.deaths_with_date > 50
    assert "child.dob" not in outcome.reason and "mother.name" not in outcome.reason
    # The evidence is bound to the candidate and kept with its sha256; the production copy is never written.
    run = ctx.ledger.get_gate_run(outcome.run_id)
    assert run.binding.commit_sha == candidate.sha and run.state.value == "FAILED"
    kept = {a.kind: a for a in run.artifacts}
    assert {"rehearsal", "log", "profile"} <= set(kept)
    record = json.loads(ctx.ledger.artifacts.path_of(kept["rehearsal"]).read_text())
    field = next(f for f in record["comparison"]["fields"] if f["field"] == "eventDetails.date")
    assert field["lost"] == sqlite_data.deaths_with_date and len(field["example_record_ids"]) == 5
    assert sqlite_data.path.read_bytes() == before
    assert not (ctx.work_dir / "1.1.0-rc.1" / f"rehearsal-run-{outcome.run_id}" / "scratch").exists()


def test_a_clean_migration_that_rewrites_every_declaration_passes(project, sqlite_data):
    ctx, candidate = project(rehearsal_gate(sqlite_data.path, "0002_sorted_declarations"))
    outcome = run_gate(ctx, "rehearsal", candidate)
    assert outcome.state.value == "PASSED", outcome.reason
    assert f"{sqlite_data.records} records, {sqlite_data.registration_numbers} registration numbers" in outcome.reason
    run = ctx.ledger.get_gate_run(outcome.run_id)
    sums = run.summary["checksums"]
    assert sums["before"] == sums["after"] and set(sums["before"]) == {"eventDetails.date", "child.dob", "mother.name"}


def test_a_migration_that_loses_registration_numbers_and_records_is_named(project, sqlite_data, tmp_path):
    # A "migration" that deletes two registered records: counts, numbers and records all say so.
    script = tmp_path / "lossy.py"
    script.write_text("import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n"
                      "c.execute(\"DELETE FROM event WHERE id IN (SELECT id FROM event WHERE status = 'REGISTERED' "
                      "ORDER BY id LIMIT 2)\")\nc.commit()\n")
    gate = rehearsal_gate(sqlite_data.path, "x").replace(f'"{MIGRATE} --to x"', f'"python3 {script} {{db}}"')
    ctx, candidate = project(gate)
    outcome = run_gate(ctx, "rehearsal", candidate)
    assert outcome.state.value == "FAILED"
    assert f"2 of {sqlite_data.records} records missing" in outcome.reason
    assert f"2 of {sqlite_data.registration_numbers} registration numbers lost" in outcome.reason
    assert "record counts changed:" in outcome.reason


def test_a_migration_that_crashes_on_production_data_fails(project, sqlite_data):
    crash = "\"sh -c 'echo duplicate key >&2; exit 3'\""
    gate = rehearsal_gate(sqlite_data.path, "x").replace(f'"{MIGRATE} --to x"', crash)
    ctx, candidate = project(gate)
    outcome = run_gate(ctx, "rehearsal", candidate)
    assert outcome.state.value == "FAILED" and "the migration failed on a copy of production data (exit 3)" \
        in outcome.reason and "duplicate key" in outcome.reason


@pytest.mark.parametrize(("content", "expected"), [
    (None, "is not a file"),
    (b"not a database at all", "neither a SQLite database nor a pg_dump"),
    (b"SQLite format 3\x00" + b"\x00" * 80, "did not restore"),
])
def test_a_source_that_is_missing_or_does_not_restore_is_error(project, tmp_path, content, expected):
    source = tmp_path / "backup.db"
    if content is not None:
        source.write_bytes(content)
    ctx, candidate = project(rehearsal_gate(source, "0002"))
    outcome = run_gate(ctx, "rehearsal", candidate)
    assert outcome.state.value == "ERROR" and expected in outcome.reason


def test_an_empty_data_set_proves_nothing(project, tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).executescript("CREATE TABLE event (id TEXT, type TEXT, status TEXT, "
                                         "registration_number TEXT, declaration TEXT);")
    ctx, candidate = project(rehearsal_gate(empty, "0002").replace(f"{MIGRATE} --to 0002", "true"))
    assert run_gate(ctx, "rehearsal", candidate).state.value == "INCONCLUSIVE"


# ---------------------------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
@pytest.mark.xdist_group("pg")
@pytest.mark.parametrize(("to", "state"), [("9001_drop_date_of_death", "FAILED"), ("0002_sorted_declarations", "PASSED")])
def test_a_pg_dump_restored_with_pg_restore_is_rehearsed(project, pg_data, pg_server, to, state):
    url, dump = pg_data
    before = set(_pg_scratch_databases(pg_server))  # a killed earlier run may have left one: not this test's
    gate = rehearsal_gate(dump, to, 'scratch_url_env = "SCRATCH_PG_URL"')
    ctx, candidate = project(gate, {"SCRATCH_PG_URL": pg_server.admin_url})
    outcome = run_gate(ctx, "rehearsal", candidate)
    assert outcome.state.value == state, outcome.reason
    deaths = _pg_deaths_with_date(url)
    if state == "FAILED":
        assert f"eventDetails.date (date of death): {deaths} of {deaths} records lost it" in outcome.reason
    run = ctx.ledger.get_gate_run(outcome.run_id)
    assert run.summary["source_format"] == "pg-custom"
    assert set(_pg_scratch_databases(pg_server)) <= before  # the scratch database was dropped


@pytest.mark.postgres
@pytest.mark.xdist_group("pg")
def test_a_truncated_dump_does_not_restore_and_is_error(project, pg_data, pg_server, tmp_path):
    _, dump = pg_data
    before = set(_pg_scratch_databases(pg_server))
    broken = tmp_path / "truncated.dump"
    broken.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    ctx, candidate = project(rehearsal_gate(broken, "0002", 'scratch_url_env = "SCRATCH_PG_URL"'),
                             {"SCRATCH_PG_URL": pg_server.admin_url})
    outcome = run_gate(ctx, "rehearsal", candidate)
    assert outcome.state.value == "ERROR" and "did not restore: pg_restore exited 1" in outcome.reason
    assert set(_pg_scratch_databases(pg_server)) <= before


def _pg_deaths_with_date(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text("""SELECT count(*) FROM event WHERE type = 'death'
                                     AND (declaration::jsonb) ? 'eventDetails.date'""")).scalar_one()
    engine.dispose()
    return int(count)


def _pg_scratch_databases(pg_server) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_server.admin_url)
    with engine.connect() as conn:
        names = list(conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'crvs_scratch_%'"))
                     .scalars())
    engine.dispose()
    return names


def test_the_cli_exits_1_on_a_failed_rehearsal_and_status_blocks_on_it(project, sqlite_data, run_cli):
    ctx, candidate = project(rehearsal_gate(sqlite_data.path, "9001_drop_date_of_death"))
    env = {"PYTHONPATH": str(REPO_ROOT)}
    res = run_cli("gate", "run", "rehearsal", "--candidate", candidate.tag, "--json", cwd=ctx.root, env=env)
    assert res.exit_code == 1, res.stderr
    assert json.loads(res.stdout)["state"] == "FAILED"
    status = json.loads(run_cli("status", "--json", cwd=ctx.root, env=env).stdout)
    gate = next(g for g in status["gates"] if g["gate"] == "rehearsal")
    assert gate["state"] == "FAILED" and not status["promotable"]
    assert any("date of death" in r for r in status["blocking_reasons"])
