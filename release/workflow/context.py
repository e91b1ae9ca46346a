"""Everything a workflow command needs, opened once: repo root, release.toml, git, the ledger and the actor."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from release.config import Config, find_config, load_config
from release.errors import InputError, UsageError
from release.gitproject import GitProject

if TYPE_CHECKING:
    from release.ledger import Ledger

#: Test hook: an ISO-8601 instant used as "now" (to record a waiver that has since expired). Tests only.
NOW_ENV = "RELEASE_TEST_NOW"
ACTOR_ENV = "RELEASE_ACTOR"
STATE_DIR = ".release"


@dataclass
class Context:
    """An opened project: where it is, its validated config, its git adapter, its ledger, and who acts."""

    root: Path
    config: Config
    git: GitProject
    ledger: Ledger
    actor: str | None
    dry_run: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def require_actor(self) -> str:
        """The acting person; UsageError when nobody can be identified."""
        if not self.actor:
            raise UsageError(f"who is acting? pass --as EMAIL, set {ACTOR_ENV}, or set git user.email")
        return self.actor

    def now(self) -> datetime:
        """The current instant (UTC); tests may pin it with RELEASE_TEST_NOW."""
        pinned = self.environ.get(NOW_ENV)
        if pinned:
            moment = datetime.fromisoformat(pinned)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return datetime.now(UTC)

    @property
    def state_dir(self) -> Path:
        """The repository's .release folder (ignored by git)."""
        return self.root / STATE_DIR

    @property
    def reports_dir(self) -> Path:
        """Where change records and changelog sections are written."""
        return self.state_dir / "reports"

    @property
    def work_dir(self) -> Path:
        """Scratch space for gate runs before their files are stored as evidence."""
        return self.state_dir / "runs"

    def ensure_state_dir(self) -> None:
        """Create .release/ with a .gitignore of '*', so its files never make the tree dirty."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ignore = self.state_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# crvs-release state: ledger, evidence, reports\n*\n", encoding="utf-8")


def resolve_actor(explicit: str | None, environ: Mapping[str, str], git: GitProject) -> str | None:
    """--as, else RELEASE_ACTOR, else git's user e-mail; None when none is set."""
    for value in (explicit, environ.get(ACTOR_ENV)):
        if value and value.strip():
            return value.strip()
    return git.user_email()


def open_context(start: Path | None = None, *, actor: str | None = None, dry_run: bool = False,
                 environ: Mapping[str, str] | None = None) -> Context:
    """Find the repository and release.toml from `start`, load the config, open git and the ledger."""
    from release.ledger import Ledger

    env = dict(os.environ if environ is None else environ)
    here = Path(start or Path.cwd())
    if not here.exists():
        raise InputError(f"{here}: no such directory")
    git = GitProject(here, dry_run=dry_run)
    config = load_config(find_config(here))
    root = git.root
    context = Context(root=root, config=config, git=GitProject(root, dry_run=dry_run,
                                                                 remote=config.release.remote),
                      ledger=None, actor=None, dry_run=dry_run, environ=env)  # type: ignore[arg-type]
    if not dry_run:
        context.ensure_state_dir()
    url = env.get("RELEASE_LEDGER_URL") or None
    if dry_run and url is None and not (root / STATE_DIR / "ledger.db").exists():
        # A dry run must not create the ledger: plan against an empty, throwaway one instead.
        scratch = Path(tempfile.mkdtemp(prefix="release-dry-run-"))
        atexit.register(shutil.rmtree, scratch, True)
        url = f"sqlite:///{scratch / 'ledger.db'}"
    context.ledger = Ledger.open(url, root)
    from release.notify import attach

    attach(context)  # every event this context writes gets its outbox rows in the same transaction
    context.actor = resolve_actor(actor, env, context.git)
    return context
