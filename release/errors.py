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
