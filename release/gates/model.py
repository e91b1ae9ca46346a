"""Plain data of the gate domain: states, kinds, specs, evidence, decisions and the checklist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from release.gates.canonical import canonical_hash

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class GateState(StrEnum):
    """Where a gate stands for one candidate; only PASSED and a valid WAIVED count."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PASSED = "PASSED"
    FAILED = "FAILED"
    ERROR = "ERROR"
    INCONCLUSIVE = "INCONCLUSIVE"
    STALE = "STALE"
    WAIVED = "WAIVED"

    @property
    def counts(self) -> bool:
        """True when this state lets promotion go ahead (validity of a waiver is checked by evaluate)."""
        return self in (GateState.PASSED, GateState.WAIVED)


#: States a gate run may be stored with in the ledger.
RUN_STATES = frozenset({GateState.PENDING, GateState.RUNNING, GateState.PASSED, GateState.FAILED,
                        GateState.ERROR, GateState.INCONCLUSIVE})
#: Terminal states a finished gate run may end in.
FINISHED_RUN_STATES = frozenset({GateState.PASSED, GateState.FAILED, GateState.ERROR, GateState.INCONCLUSIVE})


class GateKind(StrEnum):
    """What kind of check a gate is; the first four run automatically."""

    PYTEST = "pytest"
    BROWSER = "browser"
    LOCUST = "locust"
    COMMAND = "command"
    SIGNOFF = "signoff"
    APPROVAL = "approval"
    CRITERIA = "criteria"
    #: Operations gates (release/workflow/drills.py): a migration rehearsal and a backup-restore drill.
    MIGRATION = "migration"
    RESTORE_DRILL = "restore-drill"

    @property
    def automated(self) -> bool:
        """True for gates decided by a tool run rather than by people."""
        return self in (GateKind.PYTEST, GateKind.BROWSER, GateKind.LOCUST, GateKind.COMMAND, GateKind.MIGRATION,
                        GateKind.RESTORE_DRILL)


class DecisionKind(StrEnum):
    """A recorded human decision on a gate."""

    SIGNOFF = "signoff"
    APPROVAL = "approval"
    REJECTION = "rejection"
    ACCEPTANCE = "acceptance"


#: Role whose members may waive a gate that names no role and no waiver_role.
DEFAULT_WAIVER_ROLE = "release-manager"


@dataclass(frozen=True)
class CriterionSpec:
    """One acceptance criterion: verified by a passing pytest node id, or attested by hand."""

    id: str
    text: str
    verify: str | None = None


@dataclass(frozen=True)
class GateSpec:
    """A gate as configured in release.toml, reduced to what decisions need."""

    name: str
    kind: GateKind
    config_hash: str
    role: str | None = None
    quorum: int = 1
    criteria: tuple[CriterionSpec, ...] = ()
    target: str | None = None
    waiver_role: str | None = None

    @property
    def waiver_role_name(self) -> str:
        """Role whose members may waive this gate: waiver_role, else role, else release-manager."""
        return self.waiver_role or self.role or DEFAULT_WAIVER_ROLE


@dataclass(frozen=True)
class EvidenceBinding:
    """The five facts evidence is bound to; any change makes the evidence STALE."""

    commit_sha: str
    config_hash: str
    target_url: str
    target_version: str
    tool_version: str

    def digest(self) -> str:
        """Return the sha256 of this binding's canonical JSON."""
        return canonical_hash(self)


def binding_hash(binding: EvidenceBinding) -> str:
    """Return the sha256 of a binding's canonical JSON."""
    return binding.digest()


@dataclass(frozen=True)
class ArtifactRef:
    """A stored evidence file: path relative to the evidence root, its sha256, size and kind."""

    path: str
    sha256: str
    size: int
    kind: str


@dataclass(frozen=True)
class GateRun:
    """One run of an automated gate on one candidate, with its evidence."""

    id: int
    gate: str
    candidate_sha: str
    state: GateState
    binding: EvidenceBinding
    started_at: datetime
    finished_at: datetime | None = None
    summary: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    artifacts: tuple[ArtifactRef, ...] = ()


@dataclass(frozen=True)
class Decision:
    """A sign-off, approval, rejection or acceptance by one person on one candidate."""

    kind: DecisionKind
    gate: str
    actor: str
    role: str | None
    candidate_sha: str
    comment: str
    at: datetime
    report_hash: str | None = None
    criterion: str | None = None
    signature: str | None = None


@dataclass(frozen=True)
class Waiver:
    """Permission to promote without a gate, for one candidate, until it expires."""

    gate: str
    actor: str
    reason: str
    expires_at: datetime
    created_at: datetime
    candidate_sha: str


@dataclass(frozen=True)
class ReleaseFacts:
    """Who prepared the release, who authored its commits, and who holds which role."""

    version: str
    candidate_sha: str
    preparer: str
    commit_authors: frozenset[str]
    roles: Mapping[str, frozenset[str]]

    def members(self, role: str | None) -> frozenset[str]:
        """Return the normalised members of a role (empty when the role is unknown or None)."""
        if role is None:
            return frozenset()
        return frozenset(norm_actor(a) for a in self.roles.get(role, frozenset()))

    def is_conflicted(self, actor: str) -> bool:
        """True when actor prepared the release or authored a commit in it."""
        who = norm_actor(actor)
        return who == norm_actor(self.preparer) or who in {norm_actor(a) for a in self.commit_authors}


def norm_actor(actor: str) -> str:
    """Normalise an actor id (an e-mail) for comparison: stripped and lower-cased."""
    return actor.strip().lower()


@dataclass(frozen=True)
class GateStatus:
    """One line of the checklist: a gate's state, why, and the evidence behind it."""

    gate: str
    kind: GateKind
    state: GateState
    reasons: tuple[str, ...]
    evidence: GateRun | None = None
    decisions: tuple[Decision, ...] = ()
    waiver: Waiver | None = None


@dataclass(frozen=True)
class Checklist:
    """Every gate's status for one candidate and whether the candidate may be promoted."""

    gates: tuple[GateStatus, ...]
    promotable: bool
    blocking_reasons: tuple[str, ...]

    def gate(self, name: str) -> GateStatus:
        """Return the status of the named gate."""
        for status in self.gates:
            if status.gate == name:
                return status
        raise KeyError(name)
