"""Where the ledger and the evidence live: the repository's .release folder, or RELEASE_LEDGER_URL."""

from __future__ import annotations

import os
from pathlib import Path

from release.errors import LedgerNotFound

LEDGER_URL_ENV = "RELEASE_LEDGER_URL"
EVIDENCE_DIR_ENV = "RELEASE_EVIDENCE_DIR"
STATE_DIR = ".release"


def find_repo_root(start: Path | None = None) -> Path | None:
    """Walk up from start (default: the working directory) to the folder holding .git, or None."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def default_ledger_path(repo_root: Path) -> Path:
    """Return <repo>/.release/ledger.db."""
    return repo_root / STATE_DIR / "ledger.db"


def resolve_ledger_url(url: str | None = None, repo_root: Path | None = None) -> str:
    """Pick the ledger URL: the argument, else RELEASE_LEDGER_URL, else SQLite in the repository."""
    chosen = url or os.environ.get(LEDGER_URL_ENV)
    if chosen:
        return chosen
    root = repo_root or find_repo_root()
    if root is None:
        raise LedgerNotFound(f"not inside a git repository and {LEDGER_URL_ENV} is not set; cannot find the ledger")
    return f"sqlite:///{default_ledger_path(root)}"


def resolve_evidence_root(repo_root: Path | None = None) -> Path:
    """Pick the evidence folder: RELEASE_EVIDENCE_DIR, else <repo>/.release/evidence, else ./.release/evidence."""
    configured = os.environ.get(EVIDENCE_DIR_ENV)
    if configured:
        return Path(configured)
    root = repo_root or find_repo_root() or Path.cwd()
    return root / STATE_DIR / "evidence"
