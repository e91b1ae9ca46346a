"""The sandbox's versioned migrations (Alembic) on real SQLite files: baseline, clean head, the defect branch."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys

import pytest

from sandbox.migrate import BASELINE, CLEAN_HEAD, DEFECT, MigrateError, migrate, revisions
from sandbox.storage import Store

pytestmark = [pytest.mark.integration]


def schema(path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return {(kind, name) for kind, name in conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name != 'alembic_version'")}


def declarations(path) -> dict[str, dict]:
    with sqlite3.connect(path) as conn:
        return {rid: json.loads(d) for rid, d in conn.execute("SELECT id, declaration FROM event")}


def test_the_baseline_is_the_schema_create_schema_makes(tmp_path):
    made = tmp_path / "made.db"
    store = Store(f"sqlite:///{made}")
    store.create_schema()
    store.dispose()
    migrated = tmp_path / "migrated.db"
    result = migrate(f"sqlite:///{migrated}", BASELINE)
    assert (result.before, result.after) == (None, BASELINE)
    assert schema(migrated) == schema(made) and ("index", "ix_event_type_dob") in schema(made)


def test_an_unversioned_database_is_stamped_then_migrated_to_the_clean_head_without_loss(tmp_path, sqlite_data):
    db = tmp_path / "prod.db"
    shutil.copyfile(sqlite_data.path, db)
    before = declarations(db)
    result = migrate(f"sqlite:///{db}")
    assert result.stamped and result.after == CLEAN_HEAD
    assert declarations(db) == before  # the same values, keys now sorted
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT declaration FROM event WHERE declaration != '{}' LIMIT 1").fetchone()[0]
    assert list(json.loads(stored)) == sorted(json.loads(stored))


def test_the_defect_drops_the_date_of_death_from_events_and_actions_and_cannot_be_undone(tmp_path, sqlite_data):
    db = tmp_path / "prod.db"
    shutil.copyfile(sqlite_data.path, db)
    assert migrate(f"sqlite:///{db}", "9001").after == DEFECT
    with sqlite3.connect(db) as conn:
        left = conn.execute("""SELECT count(*) FROM event WHERE json_extract(declaration, '$."eventDetails.date"')
                               IS NOT NULL""").fetchone()[0]
        in_actions = conn.execute("""SELECT count(*) FROM action WHERE
                                     json_extract(payload, '$.declaration."eventDetails.date"') IS NOT NULL""").fetchone()[0]
        births = conn.execute("""SELECT count(*) FROM event WHERE type = 'birth'
                                 AND json_extract(declaration, '$."child.dob"') IS NOT NULL""").fetchone()[0]
    assert (left, in_actions) == (0, 0) and births > 0
    with pytest.raises(MigrateError, match="cannot be undone: restore the database from a backup"):
        migrate(f"sqlite:///{db}", CLEAN_HEAD)


def test_the_defect_is_never_the_default_and_revisions_are_listed(tmp_path):
    assert revisions() == [BASELINE, CLEAN_HEAD, DEFECT]
    assert migrate(f"sqlite:///{tmp_path / 'x.db'}", "head").after == CLEAN_HEAD
    with pytest.raises(MigrateError, match="unknown revision 'nope'"):
        migrate(f"sqlite:///{tmp_path / 'x.db'}", "nope")


def test_the_cli_says_where_it_went_and_fails_with_one_line(tmp_path):
    db = tmp_path / "cli.db"
    ok = subprocess.run([sys.executable, "-m", "sandbox", "migrate", "--db", str(db), "--json"],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout) == {"before": None, "after": CLEAN_HEAD,
                                                           "stamped_baseline": False}
    bad = subprocess.run([sys.executable, "-m", "sandbox", "migrate", "--db", str(db), "--to", "nope"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.strip().startswith("Error: unknown revision 'nope'")
    assert len(bad.stderr.strip().splitlines()) == 1
