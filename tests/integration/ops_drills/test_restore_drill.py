"""The backup-restore drill on real databases: SQLite's backup API, and real pg_dump and pg_restore."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from release.workflow.gate_runner import run_gate

pytestmark = [pytest.mark.integration]


def drill_gate(database: str, rto: str, extra: str = "") -> str:
    return f'''[gates.drill]
kind = "restore-drill"
{database}
rto = "{rto}"
fields = ["eventDetails.date", "child.dob"]
{extra}'''


@pytest.fixture
def live_db(sqlite_data, tmp_path):
    """A production database of our own (the drill may only read it)."""
    path = tmp_path / "production.db"
    shutil.copyfile(sqlite_data.path, path)
    return path


def test_a_sqlite_drill_restores_verifies_and_records_the_time_to_restore(project, sqlite_data, live_db):
    before = live_db.read_bytes()
    ctx, candidate = project(drill_gate(f'database = "{live_db}"', "10m"))
    outcome = run_gate(ctx, "drill", candidate)
    assert outcome.state.value == "PASSED", outcome.reason
    assert outcome.reason.startswith(f"{sqlite_data.records} records verified; restored in ")
    assert outcome.reason.endswith("(RTO 600 s)")
    run = ctx.ledger.get_gate_run(outcome.run_id)
    # Production runs 1.0.0, not the candidate: the drill is about the deployment, and bound to what it ran.
    assert run.binding.target_version == "1.0.0" and run.binding.commit_sha == candidate.sha
    drill = next(a for a in run.artifacts if a.kind == "drill")
    record = json.loads(ctx.ledger.artifacts.path_of(drill).read_text())
    assert record["comparison"]["records_after"] == sqlite_data.records
    assert record["checksums"]["source"] == record["checksums"]["restored"]
    assert live_db.read_bytes() == before


def test_a_restore_slower_than_the_rto_fails(project, live_db):
    # The restore command sleeps 0.3 s; the RTO is 0.1 s: slower whatever the machine.
    restore = "restore = \"sh -c 'sleep 0.3 && cp {backup} {db}'\""
    ctx, candidate = project(drill_gate(f'database = "{live_db}"', "100ms", restore))
    outcome = run_gate(ctx, "drill", candidate)
    assert outcome.state.value == "FAILED"
    assert "slower than the RTO of 0.1 s" in outcome.reason


def test_a_backup_that_does_not_restore_is_error(project, live_db):
    backup = "backup = \"sh -c 'echo not-a-database > {backup}'\""
    ctx, candidate = project(drill_gate(f'database = "{live_db}"', "10m", backup))
    outcome = run_gate(ctx, "drill", candidate)
    assert outcome.state.value == "ERROR" and "did not restore" in outcome.reason


def test_a_restore_that_loses_records_fails_with_the_count(project, live_db, tmp_path):
    script = tmp_path / "lossy_restore.py"
    script.write_text("import shutil, sqlite3, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\n"
                      "c = sqlite3.connect(sys.argv[2])\n"
                      "c.execute(\"DELETE FROM event WHERE type = 'death' AND status = 'REGISTERED'\")\nc.commit()\n")
    ctx, candidate = project(drill_gate(f'database = "{live_db}"', "10m", f'restore = "python3 {script} {{backup}} {{db}}"'))
    outcome = run_gate(ctx, "drill", candidate)
    assert outcome.state.value == "FAILED" and "the restored copy differs from its source" in outcome.reason
    assert "death/REGISTERED" in outcome.reason and "records missing" in outcome.reason


def test_a_missing_database_is_error(project, tmp_path):
    ctx, candidate = project(drill_gate(f'database = "{tmp_path / "nowhere.db"}"', "10m"))
    outcome = run_gate(ctx, "drill", candidate)
    assert outcome.state.value == "ERROR" and "is not a file" in outcome.reason


def test_with_max_age_a_recent_drill_counts_and_the_record_shows_its_age(project, live_db):
    ctx, candidate = project(drill_gate(f'database = "{live_db}"', "10m", 'max_age = "30d"'))
    first = run_gate(ctx, "drill", candidate)
    assert first.state.value == "PASSED"
    live_db.unlink()  # a second drill could not run: only the recorded one can make it pass
    later = datetime.now(UTC) + timedelta(days=3)
    ctx.environ["RELEASE_TEST_NOW"] = later.isoformat()  # type: ignore[index]
    second = run_gate(ctx, "drill", candidate)
    assert second.state.value == "PASSED", second.reason
    assert second.reason.startswith(f"restore drill passed 3.0 days ago (run {first.run_id},")
    run = ctx.ledger.get_gate_run(second.run_id)
    assert run.summary["reused_run"] == first.run_id and any(a.kind == "drill" for a in run.artifacts)
    ctx.environ["RELEASE_TEST_NOW"] = (later + timedelta(days=28)).isoformat()  # type: ignore[index]
    too_old = run_gate(ctx, "drill", candidate)
    assert too_old.state.value == "ERROR" and "is not a file" in too_old.reason


# ---------------------------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
@pytest.mark.xdist_group("pg")
@pytest.mark.parametrize(("rto", "state", "reason"), [
    ("10m", "PASSED", "records verified; restored in"),
    # pg_restore is a process of its own: it cannot start and finish in a millisecond.
    ("1ms", "FAILED", "slower than the RTO of 0.001 s"),
])
def test_a_pg_drill_uses_pg_dump_and_pg_restore(project, pg_data, pg_server, rto, state, reason):
    url, _ = pg_data
    gate = drill_gate('database_env = "PRODUCTION_DB_URL"', rto, 'scratch_url_env = "SCRATCH_PG_URL"')
    ctx, candidate = project(gate, {"PRODUCTION_DB_URL": url, "SCRATCH_PG_URL": pg_server.admin_url})
    outcome = run_gate(ctx, "drill", candidate)
    assert outcome.state.value == state and reason in outcome.reason, outcome.reason
    run = ctx.ledger.get_gate_run(outcome.run_id)
    assert run.summary["backup"]["size"] > 0 and run.summary["records"] > 0
    assert "crvs_release:" not in json.dumps(run.summary)  # no password in the evidence


@pytest.mark.postgres
@pytest.mark.xdist_group("pg")
def test_a_pg_dump_that_does_not_restore_is_error(project, pg_data, pg_server):
    url, _ = pg_data
    backup = "backup = \"sh -c 'printf PGDMP-garbage > {backup}'\""
    gate = drill_gate('database_env = "PRODUCTION_DB_URL"', "10m", f'scratch_url_env = "SCRATCH_PG_URL"\n{backup}')
    ctx, candidate = project(gate, {"PRODUCTION_DB_URL": url, "SCRATCH_PG_URL": pg_server.admin_url})
    outcome = run_gate(ctx, "drill", candidate)
    assert outcome.state.value == "ERROR" and "did not restore: pg_restore exited 1" in outcome.reason
