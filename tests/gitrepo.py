"""Declarative throwaway git repositories for tests: a list of commits in, shas and helpers out."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_AUTHOR = "dev@example.org"


@dataclass
class Commit:
    """One commit to make: its message, the files it writes (default: one file of its own), its author."""

    message: str
    files: Mapping[str, str] | None = None
    author: str = DEFAULT_AUTHOR


def git_env(author: str = DEFAULT_AUTHOR) -> dict[str, str]:
    """An environment that makes git ignore the developer's config and use `author` for commits and tags."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
    name = author.split("@", 1)[0].replace(".", " ").title()
    return {**keep, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "HOME": os.devnull,
            "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": author,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": author,
            "GIT_AUTHOR_DATE": "2024-01-01T12:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T12:00:00Z"}


@dataclass
class GitRepoHandle:
    """A repository made by make_repo: its path, the sha of each commit (by index) and helpers."""

    path: Path
    shas: list[str] = field(default_factory=list)
    branch: str = "main"

    def git(self, *args: str, author: str = DEFAULT_AUTHOR, check: bool = True) -> str:
        """Run git in the repository and return its stdout."""
        proc = subprocess.run(["git", *args], cwd=self.path, env=git_env(author), capture_output=True, text=True,
                              check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def commit(self, change: str | Commit) -> str:
        """Make one more commit on the checked-out branch; returns its sha."""
        spec = Commit(change) if isinstance(change, str) else change
        files = spec.files if spec.files is not None else {f"changes/{len(self.shas):03d}.txt": spec.message + "\n"}
        for rel, text in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        self.git("add", "--all", author=spec.author)
        self.git("commit", "--allow-empty", "--quiet", "-m", spec.message, author=spec.author)
        sha = self.git("rev-parse", "HEAD").strip()
        self.shas.append(sha)
        return sha

    def tag(self, name: str, at: int | str, message: str | None = None) -> None:
        """Make an annotated tag at a commit index or ref."""
        self.git("tag", "--annotate", "-m", message or name, name, self._ref(at))

    def branch_at(self, name: str, at: int | str) -> None:
        """Create or move a branch (never the checked-out one) to a commit index or ref."""
        self.git("branch", "--force", name, self._ref(at))

    def refs(self) -> str:
        """`git for-each-ref` output, for before/after comparisons."""
        return self.git("for-each-ref", "--format=%(refname) %(objectname)")

    def _ref(self, at: int | str) -> str:
        return self.shas[at] if isinstance(at, int) else at


def make_repo(
    path: Path,
    commits: Sequence[str | Commit],
    *,
    branch: str = "main",
    tags: Mapping[str, int | str] | None = None,
    production_branch_at: int | None = None,
    production_branch: str = "production",
    files: Mapping[str, str] | None = None,
    author: str = DEFAULT_AUTHOR,
) -> GitRepoHandle:
    """Build a repository in `path`: `files` first, then each commit; tags and the production branch by commit index."""
    path.mkdir(parents=True, exist_ok=True)
    repo = GitRepoHandle(path=path, branch=branch)
    repo.git("init", "--quiet", "--initial-branch", branch)
    for rel, text in (files or {}).items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for change in commits:
        spec = Commit(change, author=author) if isinstance(change, str) else change
        repo.commit(spec)
    for name, at in (tags or {}).items():
        repo.tag(name, at)
    if production_branch_at is not None:
        repo.branch_at(production_branch, production_branch_at)
    return repo
