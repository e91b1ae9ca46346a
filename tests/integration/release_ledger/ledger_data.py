"""Shared data for ledger integration tests (not a conftest): a release with one candidate and one run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from release.gates import EvidenceBinding, GateState
from release.ledger import CandidateRecord, Ledger

SHA1 = "1" * 40
SHA2 = "2" * 40
PREPARER = "prep@example.org"


def binding(sha: str = SHA1) -> EvidenceBinding:
    """An evidence binding for the regression gate."""
    return EvidenceBinding(sha, "cfg-reg", "http://127.0.0.1:7070", "1.2.0-rc.1", "0.1.0")


def seed(ledger: Ledger, tmp: Path, version: str = "1.2.0") -> CandidateRecord:
    """Create a release, a candidate and a finished regression run with one stored artifact."""
    ledger.create_release(version, preparer=PREPARER, previous_version="1.1.0")
    cand = ledger.add_candidate(version, rc=1, tag=f"v{version}-rc.1", sha=SHA1, created_by=PREPARER)
    run = ledger.start_gate_run(cand, "regression", binding())
    junit = tmp / "junit.xml"
    junit.write_text('<testsuite name="regression" tests="1"/>')
    ref = ledger.store_artifact(run.id, junit, "junit")
    ledger.finish_gate_run(run.id, GateState.PASSED, {"passed_nodeids": ["regression/test_a.py::test_a"]}, [ref])
    return cand


def now() -> datetime:
    """The current aware UTC time."""
    return datetime.now(UTC)
