"""The release ledger: the source of truth for candidates, evidence, decisions and the audit chain."""

from release.ledger.artifacts import ArtifactStore
from release.ledger.location import (
    EVIDENCE_DIR_ENV,
    LEDGER_URL_ENV,
    find_repo_root,
    resolve_evidence_root,
    resolve_ledger_url,
)
from release.ledger.records import (
    AuditCheckpoint,
    AuditEvent,
    AuditReport,
    CandidateRecord,
    PromotionStep,
    ReleaseRecord,
    ReleaseState,
    RowProblem,
    StepStatus,
    WebUser,
)
from release.ledger.service import Ledger

__all__ = [
    "EVIDENCE_DIR_ENV", "LEDGER_URL_ENV", "ArtifactStore", "AuditCheckpoint", "AuditEvent", "AuditReport",
    "CandidateRecord", "Ledger", "PromotionStep", "ReleaseRecord", "ReleaseState", "RowProblem", "StepStatus",
    "WebUser", "find_repo_root", "resolve_evidence_root", "resolve_ledger_url",
]
