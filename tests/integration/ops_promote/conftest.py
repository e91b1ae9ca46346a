"""Throwaway repositories for freeze windows, the emergency path and the post-promote watch.

Only a sign-off gate: no staging sandbox is needed, so a promotion is a few CLI calls. The watch tests add a
production sandbox deployed by scripts/deploy (release/workflow/sandbox_deploy.py), whose candidate commit ships
deploy/faults.json: the slowdown production gets right after the deploy.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from release.workflow.sandbox_deploy import (
    SANDBOX_DEV_SECRETS,
    deploy_script_text,
    sandbox_target_toml,
    write_environment,
)
from tests.gitrepo import Commit, make_repo
from tests.integration.release_flow.conftest import (
    AUTHOR,
    PREPARER,
    QA,
    ReleaseRepo,
    base_env,
    sandbox_ports,
)

#: The emergency change board, and the people who run and review emergency promotions.
DUTY, CIO, REVIEWER = "duty@example.org", "cio@example.org", "cab-chair@example.org"


def window_around_now(days: int = 1) -> tuple[str, str]:
    """A freeze window's start and end dates (TOML dates) around today, in UTC."""
    today = datetime.now(UTC).date()
    return (today - timedelta(days=days)).isoformat(), (today + timedelta(days=days)).isoformat()


def ops_toml(*, production: str, extra: str = "") -> str:
    """A release.toml with one sign-off gate, the given [targets.production] table and `extra` tables."""
    return f'''[release]
production_branch = "production"

{production}
[gates.qa]
kind = "signoff"
role = "qa-lead"

[roles]
qa-lead = ["{QA}"]
ecab = ["{DUTY}", "{CIO}", "{PREPARER}"]
cab = ["{REVIEWER}", "{DUTY}", "{CIO}"]
release-manager = ["{PREPARER}"]

{extra}'''


MANUAL_PRODUCTION = ('[targets.production]\ngateway = "http://127.0.0.1:9"\ndeploy = "manual"\n'
                     'smoke_waiver = "test repository: no production sandbox"\n')


def build_ops_repo(base: Path, *, extra: str = "", sandbox: bool = False, smoke_waiver: str | None = None,
                   candidate_files: dict[str, str] | None = None, name: str = "crvs") -> ReleaseRepo:
    """v1.0.0 on production, then a feat and a fix (writing `candidate_files`) on main."""
    run_dir = base / f"{name}-run"
    production = MANUAL_PRODUCTION
    if sandbox:
        ports = sandbox_ports()
        write_environment(run_dir, "production", ports.gateway, ports.register, ports.config)
        production = sandbox_target_toml("production", ports,
                                         deploy="scripts/deploy production {version} {commit}")
        if smoke_waiver:
            production += f'smoke_waiver = "{smoke_waiver}"\n'
    files = {"release.toml": ops_toml(production=production, extra=extra),
             "scripts/deploy": deploy_script_text(run_dir), ".gitignore": "build/\n"}
    repo = make_repo(base / name, [Commit("chore: initial import", files=files, author=AUTHOR),
                                   Commit("feat(search): search by registration number", author=AUTHOR),
                                   Commit("fix(search): rank exact matches first", files=candidate_files,
                                          author=AUTHOR)],
                     tags={"v1.0.0": 0}, production_branch_at=0)
    os.chmod(repo.path / "scripts" / "deploy", 0o755)
    repo.git("add", "--chmod=+x", "scripts/deploy")
    repo.git("commit", "--quiet", "-m", "chore: make the deploy script executable", author=AUTHOR)
    env = dict(base_env(base / "home"))
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, PYTHONPATH=str(Path(__file__).parents[3]),
               RELEASE_ACTOR=PREPARER, **SANDBOX_DEV_SECRETS)
    return ReleaseRepo(repo, run_dir, env)


def deploy_production(r: ReleaseRepo, version: str, ref: str) -> str:
    """Deploy `ref` to the production sandbox by hand (as it ran before this release); its sha."""
    sha = r.repo.git("rev-parse", f"{ref}^{{commit}}").strip()
    subprocess.run([str(r.path / "scripts" / "deploy"), "production", version, sha], cwd=r.path, check=True,
                   capture_output=True, env=r.env)
    return sha


def prepared(r: ReleaseRepo) -> ReleaseRepo:
    """Cut candidate 1.1.0-rc.1 and sign it off: every gate counts."""
    res = r.cli("prepare")
    assert res.exit_code == 0, res.stdout + res.stderr
    signed = r.cli("sign-off", "qa", "1.1.0", actor=QA)
    assert signed.exit_code == 0, signed.stdout + signed.stderr
    return r
