"""The gate domain: plain data and pure decisions about whether a candidate may be promoted."""

from release.gates.canonical import (
    ZERO_HASH,
    canonical_hash,
    canonical_json,
    config_hash,
    iso_utc,
    sha256_hex,
)
from release.gates.decisions import check_decision, check_waiver, eligibility_problem, waiver_problem
from release.gates.evaluate import binding_changes, evaluate
from release.gates.model import (
    DEFAULT_WAIVER_ROLE,
    FINISHED_RUN_STATES,
    RUN_STATES,
    ArtifactRef,
    Checklist,
    CriterionSpec,
    Decision,
    DecisionKind,
    EvidenceBinding,
    GateKind,
    GateRun,
    GateSpec,
    GateState,
    GateStatus,
    ReleaseFacts,
    Waiver,
    binding_hash,
    norm_actor,
)

__all__ = [
    "DEFAULT_WAIVER_ROLE", "FINISHED_RUN_STATES", "RUN_STATES", "ZERO_HASH", "ArtifactRef", "Checklist",
    "CriterionSpec", "Decision", "DecisionKind", "EvidenceBinding", "GateKind", "GateRun", "GateSpec",
    "GateState", "GateStatus", "ReleaseFacts", "Waiver", "binding_changes", "binding_hash", "canonical_hash",
    "canonical_json", "check_decision", "check_waiver", "config_hash", "eligibility_problem", "evaluate",
    "iso_utc", "norm_actor", "sha256_hex", "waiver_problem",
]
