"""Throwaway release repositories with a sandbox-backed staging target and a fast `command` gate."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from release.workflow.sandbox_deploy import deploy_script_text, stop_all, write_environment
from tests.conftest import REPO_ROOT, CliResult, free_port
from tests.gitrepo import Commit, GitRepoHandle, make_repo

PREPARER = "rm@example.org"
QA = "qa@example.org"
BOARD = ("chair@example.org", "ops@example.org", "registrar-general@example.org")
AUTHOR = "dev@example.org"

# A check that writes JUnit XML; it fails when checks/verdict (as committed) says "fail".
CHECK_SCRIPT = '''import pathlib, sys
verdict = pathlib.Path("checks/verdict").read_text().strip() if pathlib.Path("checks/verdict").exists() else "pass"
out = pathlib.Path(sys.argv[1]); out.parent.mkdir(parents=True, exist_ok=True)
failure = '<failure message="boom">assert False</failure>' if verdict == "fail" else ""
out.write_text('<?xml version="1.0"?><testsuite name="checks" tests="2">'
               '<testcase classname="checks.test_registration" name="test_register"/>'
               '<testcase classname="checks.test_search" name="test_by_registration_number">' + failure + '</testcase>'
               '</testsuite>')
'''


def release_toml(staging_port: int, *, production_port: int | None = None, extra: str = "") -> str:
    """A release.toml with a command gate, a sign-off, a quorum-2 approval and acceptance criteria."""
    production = ""
    if production_port is not None:
        production = (f'\n[targets.production]\nurl = "http://127.0.0.1:{production_port}"\n'
                      'deploy = "scripts/deploy production {version} {commit}"\nversion_timeout_s = 60\n')
    return f'''[release]
production_branch = "production"

[targets.staging]
url = "http://127.0.0.1:{staging_port}"
deploy = "scripts/deploy staging {{version}} {{commit}}"
version_timeout_s = 60
{production}
[gates.checks]
kind = "command"
run = "{sys.executable} scripts/check.py build/junit.xml"
junit = "build/junit.xml"

[gates.qa]
kind = "signoff"
role = "qa-lead"

[gates.change-board]
kind = "approval"
role = "change-board"
quorum = 2

[gates.acceptance]
kind = "criteria"
items = [{{ id = "AC-1", text = "A registrar can find a record by registration number", verify = "checks/test_search.py::test_by_registration_number" }},
         {{ id = "AC-2", text = "The registrar-general accepts the release notes" }}]

[roles]
qa-lead = ["{QA}"]
change-board = {list(BOARD)!r}
release-manager = ["{PREPARER}", "waiver@example.org"]
{extra}'''.replace("'", '"')


@dataclass
class ReleaseRepo:
    """A throwaway CRVS repository with its run folder and CLI runner."""

    repo: GitRepoHandle
    run_dir: Path
    env: dict[str, str]

    @property
    def path(self) -> Path:
        return self.repo.path

    def cli(self, *args: str, actor: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> CliResult:
        """Run `release ...` in the repository."""
        full = dict(self.env)
        if actor:
            full["RELEASE_ACTOR"] = actor
        full.update(env or {})
        proc = subprocess.run([sys.executable, "-m", "release.cli.main", *args], cwd=self.path, env=full,
                              capture_output=True, text=True, timeout=timeout, check=False)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    def refs(self) -> str:
        return self.repo.refs()

    def ledger_dump(self) -> list[tuple[str, list[tuple[object, ...]]]]:
        """Every row of every ledger table, for before/after comparisons."""
        db = sqlite3.connect(self.path / ".release" / "ledger.db")
        try:
            tables = [r[0] for r in db.execute("select name from sqlite_master where type='table' order by name")]
            return [(t, list(db.execute(f'select * from "{t}"'))) for t in tables]
        finally:
            db.close()


@pytest.fixture
def make_release_repo(tmp_path: Path, clean_env: dict[str, str]) -> Iterator[Callable[..., ReleaseRepo]]:
    """Build repositories: v1.0.0 in production, a feat and a fix on main; sandboxes stopped afterwards."""
    run_dirs: list[Path] = []

    def build(*, production: bool = False, name: str = "crvs") -> ReleaseRepo:
        run_dir = tmp_path / f"{name}-run"
        run_dirs.append(run_dir)
        staging_port = free_port()
        write_environment(run_dir, "staging", staging_port)
        production_port = None
        if production:
            production_port = free_port()
            write_environment(run_dir, "production", production_port)
        files = {"release.toml": release_toml(staging_port, production_port=production_port),
                 "scripts/deploy": deploy_script_text(run_dir), "scripts/check.py": CHECK_SCRIPT,
                 ".gitignore": "build/\n"}
        repo = make_repo(tmp_path / name, [Commit("chore: initial import", files=files, author=AUTHOR),
                                           Commit("feat(search): search by registration number", author=AUTHOR),
                                           Commit("fix(registration): keep the informant's relationship",
                                                  author=AUTHOR)],
                         tags={"v1.0.0": 0}, production_branch_at=0)
        os.chmod(repo.path / "scripts" / "deploy", 0o755)
        repo.git("add", "--chmod=+x", "scripts/deploy")
        repo.git("commit", "--quiet", "-m", "chore: make the deploy script executable", author=AUTHOR)
        env = dict(clean_env)
        env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
                   PYTHONPATH=str(REPO_ROOT), RELEASE_ACTOR=PREPARER)
        return ReleaseRepo(repo, run_dir, env)

    yield build
    for run_dir in run_dirs:
        stop_all(run_dir)
