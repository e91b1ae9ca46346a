"""Audit verification catches edited, deleted and reordered events and tampered or missing evidence."""

from __future__ import annotations

from pathlib import Path

import pytest
from ledger_data import seed
from sqlalchemy import text

from release.ledger import Ledger

pytestmark = pytest.mark.integration


def _sql(ledger: Ledger, statement: str) -> None:
    with ledger.engine.connect() as conn:
        conn.execute(text(statement))
        conn.commit()


def test_intact_chain_verifies(ledger: Ledger, tmp_path: Path) -> None:
    seed(ledger, tmp_path)
    report = ledger.verify_audit()
    assert report.ok and report.first_broken is None
    assert report.checked_events == 4 and report.checked_artifacts == 1
    assert report.head == ledger.audit_head() == ledger.audit_events()[-1].hash


def test_edited_row_is_named(ledger: Ledger, tmp_path: Path) -> None:
    seed(ledger, tmp_path)
    _sql(ledger, "UPDATE audit_events SET actor = 'mallory@example.org' WHERE seq = 2")
    report = ledger.verify_audit()
    assert not report.ok
    assert report.first_broken == "audit event seq 2: content does not match its hash (the event was edited)"


def test_edited_payload_is_named(ledger: Ledger, tmp_path: Path) -> None:
    seed(ledger, tmp_path)
    _sql(ledger, "UPDATE audit_events SET payload = REPLACE(payload, 'PASSED', 'FAILED') WHERE seq = 4")
    assert ledger.verify_audit().first_broken.startswith("audit event seq 4: content")  # type: ignore[union-attr]


def test_deleted_row_is_named(ledger: Ledger, tmp_path: Path) -> None:
    seed(ledger, tmp_path)
    _sql(ledger, "DELETE FROM audit_events WHERE seq = 2")
    report = ledger.verify_audit()
    assert not report.ok and report.first_broken is not None
    assert report.first_broken.startswith("audit event seq 3: prev_hash does not match")


def test_reordered_rows_are_named(ledger: Ledger, tmp_path: Path) -> None:
    seed(ledger, tmp_path)
    _sql(ledger, "UPDATE audit_events SET seq = 100 WHERE seq = 2")
    _sql(ledger, "UPDATE audit_events SET seq = 2 WHERE seq = 3")
    _sql(ledger, "UPDATE audit_events SET seq = 3 WHERE seq = 100")
    assert ledger.verify_audit().first_broken.startswith("audit event seq 2")  # type: ignore[union-attr]


def test_tampered_artifact_is_named(ledger: Ledger, tmp_path: Path) -> None:
    cand = seed(ledger, tmp_path)
    [art] = ledger.runs_for(cand)[0].artifacts
    (ledger.evidence_root / art.path).write_text('<testsuite name="regression" tests="1" failures="0"/>')
    report = ledger.verify_audit()
    assert not report.ok
    assert report.first_broken is not None and report.first_broken.startswith(f"artifact {art.path}: sha256")


def test_missing_artifact_is_named(ledger: Ledger, tmp_path: Path) -> None:
    cand = seed(ledger, tmp_path)
    [art] = ledger.runs_for(cand)[0].artifacts
    (ledger.evidence_root / art.path).unlink()
    assert ledger.verify_audit().first_broken == f"artifact {art.path}: file is missing from {ledger.evidence_root}"


def test_artifact_row_rewritten_to_match_a_tampered_file_is_caught(ledger: Ledger, tmp_path: Path) -> None:
    cand = seed(ledger, tmp_path)
    [art] = ledger.runs_for(cand)[0].artifacts
    path = ledger.evidence_root / art.path
    path.write_text("forged")
    from release.ledger.audit import file_sha256

    _sql(ledger, f"UPDATE artifacts SET sha256 = '{file_sha256(path)}', size = 6")
    assert ledger.verify_audit().first_broken == f"artifact {art.path}: ledger row does not match the audit record"
