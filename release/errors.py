"""The error tree: every expected failure is a ReleaseError with an exit code."""

from __future__ import annotations


class ReleaseError(Exception):
    """Root of every expected failure; the CLI prints it without a traceback."""

    exit_code = 2


class UsageError(ReleaseError):
    """The command was called with arguments that do not fit."""


class ConfigError(ReleaseError):
    """release.toml (or another config file) is missing or invalid."""

    def __init__(self, path: str, key: str, expected: str) -> None:
        self.path, self.key, self.expected = path, key, expected
        super().__init__(f"{path}: {key}: {expected}")


class InputError(ReleaseError):
    """A version, release, file or other input is malformed or unknown."""


class TargetUnavailable(ReleaseError):
    """The CRVS target could not be reached or did not authenticate us."""


class Blocked(ReleaseError):
    """Promotion or another guarded step is blocked by an unmet gate."""

    exit_code = 1


class GateFailed(ReleaseError):
    """A gate ran and did not pass."""

    exit_code = 1


class NothingToRelease(ReleaseError):
    """No releasable commit (feat, fix, perf, breaking) since the last production version."""


class InvalidVersion(ReleaseError):
    """An explicit version is malformed or not greater than the version in production."""


class GitConflict(ReleaseError):
    """A git ref already exists elsewhere, or a move would not be a fast-forward."""


# --- ledger and gate decisions -------------------------------------------------------------------


class UnknownRelease(InputError):
    """No release with this version is recorded in the ledger."""


class UnknownCandidate(InputError):
    """No candidate with this rc number or commit SHA is recorded for the release."""


class UnknownGateRun(InputError):
    """No gate run with this id is recorded in the ledger."""


class LedgerNotFound(ReleaseError):
    """There is no ledger at the expected place (no .release/ledger.db, or an unmigrated database)."""


class LedgerUnavailable(ReleaseError):
    """The ledger database could not be opened or reached."""


class LedgerConflict(ReleaseError):
    """A ledger write conflicts with what is already recorded (for example a duplicate version)."""


class AuditBroken(ReleaseError):
    """The audit chain or an evidence artifact does not verify."""

    exit_code = 1


class DecisionRefused(ReleaseError):
    """A sign-off, approval, rejection, acceptance or waiver is not allowed."""

    exit_code = 1


class NotInRole(DecisionRefused):
    """The actor is not a member of the role the gate requires."""


class SeparationOfDuties(DecisionRefused):
    """The preparer or a commit author may not approve, reject or waive their own release."""


class DuplicateDecision(DecisionRefused):
    """The same actor already recorded this decision on this candidate."""


class DuplicateApproval(DuplicateDecision):
    """One person cannot fill two approval slots on the same candidate."""


class WrongGateKind(DecisionRefused):
    """The decision does not fit the gate's kind (for example an approval on a sign-off gate)."""


class DecisionInvalid(DecisionRefused):
    """The decision is malformed: an unknown criterion, a missing comment, a stale candidate."""


class WaiverInvalid(DecisionRefused):
    """A waiver needs a non-empty reason, a future expiry and an eligible actor."""


class PromotionSuperseded(ReleaseError):
    """This process no longer holds the promotion claim (another process resumed it): stop before acting."""

    exit_code = 1


class LedgerTampered(ReleaseError):
    """A ledger row disagrees with the audit chain, or the chain no longer contains a published head."""

    exit_code = 1
