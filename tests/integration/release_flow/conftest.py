"""Throwaway release repositories with a sandbox-backed staging target and a fast `command` gate."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from release.workflow.sandbox_deploy import (
    SANDBOX_DEV_SECRETS,
    SandboxPorts,
    deploy_script_text,
    sandbox_target_toml,
    stop_all,
    write_environment,
)
from tests.conftest import REPO_ROOT, CliResult, free_port
from tests.gitrepo import Commit, GitRepoHandle, make_repo

PREPARER = "rm@example.org"
QA = "qa@example.org"
BOARD = ("chair@example.org", "ops@example.org", "registrar-general@example.org")
AUTHOR = "dev@example.org"

# A check that writes JUnit XML; it fails when CHECK_VERDICT=fail.
CHECK_SCRIPT = '''import pathlib, sys
import os
verdict = os.environ.get("CHECK_VERDICT") or "pass"
out = pathlib.Path(sys.argv[1]); out.parent.mkdir(parents=True, exist_ok=True)
failure = '<failure message="boom">assert False</failure>' if verdict == "fail" else ""
if verdict == "nojunit":
    sys.exit(0)
if verdict == "garbage":
    out.write_text("<testsuite><testcase")
    sys.exit(0)
if verdict == "empty":
    out.write_text('<testsuite name="checks" tests="0"></testsuite>')
    sys.exit(0)
out.write_text('<?xml version="1.0"?><testsuite name="checks" tests="2">'
               '<testcase classname="checks.test_registration" name="test_register"/>'
               '<testcase classname="checks.test_search" name="test_by_registration_number">' + failure + '</testcase>'
               '</testsuite>')
'''


def release_toml(staging: SandboxPorts, *, production: SandboxPorts | None = None, extra: str = "") -> str:
    """A release.toml with farajaland-shaped sandbox targets, a command gate, a sign-off, a quorum-2 approval
    and acceptance criteria."""
    targets = sandbox_target_toml("staging", staging, deploy="scripts/deploy staging {version} {commit}")
    if production is not None:
        targets += "\n" + sandbox_target_toml("production", production,
                                              deploy="scripts/deploy production {version} {commit}")
    else:
        # promote refuses without a production target (docs/deploy.md): here production is deployed by hand,
        # at a loopback port nothing listens on, and its smoke check is waived.
        targets += ('\n[targets.production]\ngateway = "http://127.0.0.1:9"\ndeploy = "manual"\n'
                    'smoke_waiver = "test repository: no production sandbox"\n')
    return f'''[release]
production_branch = "production"

{targets}
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
change-board = {[*BOARD, PREPARER, AUTHOR]!r}
release-manager = ["{PREPARER}", "{BOARD[2]}"]
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


def build_release_repo(base: Path, env_base: dict[str, str], *, production: bool = False,
                       name: str = "crvs", extra_gates: str = "") -> ReleaseRepo:
    """A repository with v1.0.0 on production, then a feat and a fix on main; sandboxes run from base/<name>-run."""
    run_dir = base / f"{name}-run"
    staging = sandbox_ports()
    write_environment(run_dir, "staging", staging.gateway, staging.register, staging.config)
    production_ports = None
    if production:
        production_ports = sandbox_ports()
        write_environment(run_dir, "production", production_ports.gateway, production_ports.register,
                          production_ports.config)
    files = {"release.toml": release_toml(staging, production=production_ports, extra=extra_gates),
             "scripts/deploy": deploy_script_text(run_dir), "scripts/check.py": CHECK_SCRIPT,
             ".gitignore": "build/\n"}
    repo = make_repo(base / name, [Commit("chore: initial import", files=files, author=AUTHOR),
                                   Commit("feat(search): search by registration number", author=AUTHOR),
                                   Commit("fix(registration): keep the informant's relationship", author=AUTHOR)],
                     tags={"v1.0.0": 0}, production_branch_at=0)
    os.chmod(repo.path / "scripts" / "deploy", 0o755)
    repo.git("add", "--chmod=+x", "scripts/deploy")
    repo.git("commit", "--quiet", "-m", "chore: make the deploy script executable", author=AUTHOR)
    env = dict(env_base)
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, PYTHONPATH=str(REPO_ROOT),
               RELEASE_ACTOR=PREPARER, **SANDBOX_DEV_SECRETS)
    return ReleaseRepo(repo, run_dir, env)


def sandbox_ports() -> SandboxPorts:
    """Three distinct free loopback ports: gateway, register, country config."""
    ports: set[int] = set()
    while len(ports) < 3:
        ports.add(free_port())
    gateway, register, config = sorted(ports)
    return SandboxPorts(gateway, register, config)


def clone_release_repo(source: ReleaseRepo, dest: Path) -> ReleaseRepo:
    """A copy of a repository with its ledger and evidence, sharing the source's sandboxes."""
    shutil.copytree(source.path, dest, symlinks=True)
    return ReleaseRepo(GitRepoHandle(path=dest, shas=list(source.repo.shas)), source.run_dir, dict(source.env))


def base_env(home: Path) -> dict[str, str]:
    """The clean environment of tests/conftest.py's clean_env, for module-scoped fixtures."""
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), PYTHONUNBUFFERED="1", NO_COLOR="1", GIT_AUTHOR_NAME="Release Manager",
               GIT_AUTHOR_EMAIL=PREPARER, GIT_COMMITTER_NAME="Release Manager", GIT_COMMITTER_EMAIL=PREPARER)
    return env


@pytest.fixture
def make_release_repo(tmp_path: Path) -> Iterator[Callable[..., ReleaseRepo]]:
    """Build fresh repositories in tmp_path; their sandboxes are stopped afterwards."""
    made: list[ReleaseRepo] = []

    def build(*, production: bool = False, name: str = "crvs") -> ReleaseRepo:
        repo = build_release_repo(tmp_path, base_env(tmp_path / "home"), production=production, name=name)
        made.append(repo)
        return repo

    yield build
    for repo in made:
        stop_all(repo.run_dir)


@pytest.fixture(scope="module")
def prepared_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReleaseRepo]:
    """One repository per module with candidate v1.1.0-rc.1 prepared, deployed to staging and its gate passed."""
    base = tmp_path_factory.mktemp("prepared")
    repo = build_release_repo(base, base_env(base / "home"))
    try:
        result = repo.cli("prepare")
        assert result.exit_code == 0, result.stdout + result.stderr
        yield repo
    finally:
        stop_all(repo.run_dir)


@pytest.fixture
def candidate(prepared_repo: ReleaseRepo, tmp_path: Path) -> ReleaseRepo:
    """A private copy of the prepared repository (ledger and evidence included) for one test."""
    return clone_release_repo(prepared_repo, tmp_path / "clone")


def give_all_decisions(r: ReleaseRepo, version: str = "1.1.0", *, skip: tuple[str, ...] = ()) -> None:
    """Sign off QA, two board approvals, accept AC-2; `skip` names any of qa, board1, board2, ac2."""
    steps = {"qa": ("sign-off", "qa", version, QA), "board1": ("approve", version, BOARD[0]),
             "board2": ("approve", version, BOARD[1]), "ac2": ("accept", version, "AC-2", BOARD[2])}
    # In-process through the same service functions the CLI calls: faster than one process per decision.
    from release.workflow import decisions
    from release.workflow.context import open_context

    for key, (command, *args, actor) in steps.items():
        if key in skip:
            continue
        ctx = open_context(r.path, actor=actor, environ=r.env)
        try:
            if command == "sign-off":
                decisions.sign_off(ctx, args[0], args[1])
            elif command == "approve":
                decisions.approve(ctx, args[0])
            else:
                decisions.accept(ctx, args[0], args[1])
        finally:
            ctx.ledger.close()
