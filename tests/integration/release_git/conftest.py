"""Fixtures for the git adapter and version CLI tests: real repositories in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gitrepo import Commit, GitRepoHandle, make_repo

CONFIG_TEXT = '''
[release]
production_branch = "production"
branch = "release/v{version}"
tag = "v{version}"

[targets.staging]
gateway = "http://127.0.0.1:7070"
client_id = "6f1c2f0e-3b7a-4c8d-9e2f-1a2b3c4d5e6f"
client_secret_env = "CRVS_STAGING_SECRET"

[gates.regression]
kind = "pytest"
markers = "not slow"

[gates.load]
kind = "locust"
users = 40
duration = "60s"

[gates.qa]
kind = "signoff"
role = "qa-lead"

[roles]
qa-lead = ["qa@example.org"]
'''


@pytest.fixture
def release_repo(tmp_path: Path) -> Callable[..., GitRepoHandle]:
    """Build a repo with release.toml committed first; arguments as make_repo."""

    def build(commits: list[str | Commit], **kwargs) -> GitRepoHandle:
        files = {"release.toml": CONFIG_TEXT, ".gitignore": "*.log\n", **kwargs.pop("files", {})}
        return make_repo(tmp_path / "repo", commits, files=files, **kwargs)

    return build


@pytest.fixture(autouse=True)
def isolated_git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitProject runs in this process: give git a known identity and no developer config."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR", "GIT_COMMITTER"):
        monkeypatch.setenv(f"{var}_NAME", "Release Manager")
        monkeypatch.setenv(f"{var}_EMAIL", "rm@example.org")
