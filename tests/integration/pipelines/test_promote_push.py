"""The promote jobs' own shell, run for real against a bare origin: they push exactly the tag and the production
branch the tool moved, at the candidate's sha, while HEAD stays on the dispatched branch; anything else pushes
nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from release.gitproject import GitProject
from release.workflow.promote import PromoteResult
from tests.gitrepo import Commit, git_env, make_repo

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
PROMOTE = ROOT / "pipelines" / "github" / "crvs-release-promote.yml"
GITLAB = ROOT / "pipelines" / "gitlab" / "crvs-release.gitlab-ci.yml"
CONFIG = '''[release]
production_branch = "master"

[targets.staging]
gateway = "http://127.0.0.1:9"

[gates.checks]
kind = "command"
run = "true"
junit = "junit.xml"
'''


@dataclass
class Deployment:
    """A clone of a bare origin, checked out on `develop` (the dispatched branch), with the shas that matter."""

    clone: Path
    origin: Path
    production: str  # master's tip: v1.0.0
    candidate: str  # v1.1.0-rc.1, on main
    develop: str  # a commit the candidate does not have

    def git(self, *args: str, where: Path | None = None) -> str:
        proc = subprocess.run(["git", *args], cwd=where or self.clone, env=git_env(), capture_output=True,
                              text=True, check=True)
        return proc.stdout.strip()

    def origin_refs(self) -> dict[str, str]:
        """Every ref of the origin, tags peeled to their commit."""
        out = self.git("for-each-ref", "--format=%(refname) %(*objectname) %(objectname)", where=self.origin)
        refs = {}
        for line in out.splitlines():
            name, *shas = line.split()
            refs[name] = shas[0]
        return refs


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    src = make_repo(tmp_path / "src", [Commit("chore: initial import", files={"release.toml": CONFIG}),
                                       "feat(search): search by registration number",
                                       "fix(registration): keep the informant's relationship"],
                    tags={"v1.0.0": 0, "v1.1.0-rc.1": 2}, production_branch_at=0, production_branch="master")
    src.git("checkout", "--quiet", "-b", "develop")
    develop = src.commit("feat: work nobody has tested yet")
    origin = tmp_path / "origin.git"
    src.git("clone", "--quiet", "--bare", str(src.path), str(origin))
    clone = tmp_path / "deployment"
    subprocess.run(["git", "clone", "--quiet", "--branch", "develop", str(origin), str(clone)], env=git_env(),
                   check=True, capture_output=True)
    return Deployment(clone, origin, src.shas[0], src.shas[2], develop)


def github_step(key: str, value: str) -> dict[str, Any]:
    """The promote workflow's step whose `key` (id or name) is `value`."""
    workflow = yaml.safe_load(PROMOTE.read_text(encoding="utf-8"))
    for step in workflow["jobs"]["promote"]["steps"]:
        if step.get(key) == value:
            return step
    raise AssertionError(f"no step with {key} {value!r} in {PROMOTE.name}")


def gitlab_block(needle: str) -> str:
    """The GitLab promote job's script entry that contains `needle`."""
    template = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    (block,) = [s for s in template["promote"]["script"] if needle in s]
    return block


def run_script(text: str, cwd: Path, tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a step's shell as GitHub's `shell: bash` does: bash --noprofile --norc -eo pipefail {0}."""
    script = tmp_path / f"step-{abs(hash(text))}.sh"
    script.write_text(text, encoding="utf-8")
    full = {**git_env(), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=60, check=False)


def tool_moves_refs(d: Deployment, *, to: str) -> None:
    """What `release promote` does to git: tag the candidate, move the production branch with update-ref."""
    project = GitProject(d.clone)
    project.create_tag("v1.1.0", to, "release 1.1.0")
    project.fast_forward("master", to)


def promote_json(d: Deployment, path: Path, *, outcome: str = "PROMOTED", sha: str | None = None,
                 moved_to: str | None = None) -> None:
    """`release promote --json` as PromoteResult writes it, with the tag and production-branch steps' details."""
    sha = sha or d.candidate
    steps = [] if outcome == "BLOCKED" else [
        {"step": "tag", "status": "done", "tag": "v1.1.0", "sha": sha, "created": True},
        {"step": "production-branch", "status": "done", "branch": "master", "from": d.production,
         "to": moved_to or sha, "moved": True}]
    result = PromoteResult("1.1.0", outcome, "v1.1.0", sha, f"{outcome.lower()} 1.1.0", steps=steps)
    path.write_text(json.dumps(result.to_json()), encoding="utf-8")


def github_push(d: Deployment, tmp_path: Path) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """Run the workflow's refs step, then (when it succeeded, as GitHub would) its push step with the outputs."""
    runner_temp = tmp_path / "runner-temp"
    output = tmp_path / "github-output"
    output.write_text("", encoding="utf-8")
    promote_file = runner_temp / "promote.json"
    assert promote_file.is_file()
    refs = run_script(github_step("id", "refs")["run"], d.clone, tmp_path,
                      {"RUNNER_TEMP": str(runner_temp), "GITHUB_OUTPUT": str(output)})
    if refs.returncode != 0:
        return refs, refs
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())
    push_step = github_step("name", "Push the tag and the production branch the tool moved (never HEAD)")
    env = {"TAG": outputs["tag"], "SHA": outputs["sha"], "PRODUCTION_BRANCH": outputs["production-branch"]}
    assert set(env) == set(push_step["env"])
    return refs, run_script(push_step["run"], d.clone, tmp_path, env)


def start_local_production_branch(d: Deployment, tmp_path: Path) -> None:
    step = github_step("name", "Local production branch at origin's tip")
    result = run_script(step["run"], d.clone, tmp_path)
    assert result.returncode == 0, result.stderr
    assert d.git("rev-parse", "refs/heads/master") == d.production


def test_github_pushes_the_tag_and_production_at_the_candidate_not_head(deployment: Deployment, tmp_path: Path):
    d = deployment
    before = d.origin_refs()
    start_local_production_branch(d, tmp_path)
    tool_moves_refs(d, to=d.candidate)
    (tmp_path / "runner-temp").mkdir()
    promote_json(d, tmp_path / "runner-temp" / "promote.json")
    assert d.git("rev-parse", "HEAD") == d.develop  # HEAD is the dispatched branch, never what promote moved

    refs, push = github_push(d, tmp_path)
    assert refs.returncode == 0 and push.returncode == 0, refs.stderr + push.stderr
    after = d.origin_refs()
    assert after["refs/tags/v1.1.0"] == d.candidate
    assert after["refs/heads/master"] == d.candidate
    assert after["refs/heads/develop"] == d.develop
    assert {k: v for k, v in after.items() if k not in ("refs/tags/v1.1.0", "refs/heads/master")} == \
        {k: v for k, v in before.items() if k != "refs/heads/master"}, "nothing else may change on origin"


def test_github_pushes_nothing_when_promotion_did_not_complete(deployment: Deployment, tmp_path: Path):
    d = deployment
    before = d.origin_refs()
    (tmp_path / "runner-temp").mkdir()
    promote_json(d, tmp_path / "runner-temp" / "promote.json", outcome="BLOCKED")
    refs, _ = github_push(d, tmp_path)
    assert refs.returncode != 0
    assert "promotion did not complete (BLOCKED)" in refs.stderr
    assert d.origin_refs() == before


def test_github_pushes_nothing_when_the_local_refs_disagree_with_the_tool(deployment: Deployment, tmp_path: Path):
    d = deployment
    before = d.origin_refs()
    start_local_production_branch(d, tmp_path)
    middle = d.git("rev-parse", f"{d.candidate}~1")
    tool_moves_refs(d, to=middle)  # the refs point at one commit, the tool's account names another
    (tmp_path / "runner-temp").mkdir()
    promote_json(d, tmp_path / "runner-temp" / "promote.json")
    refs, push = github_push(d, tmp_path)
    assert refs.returncode == 0
    assert push.returncode != 0
    assert d.origin_refs() == before


def test_github_refuses_a_production_move_to_another_commit(deployment: Deployment, tmp_path: Path):
    d = deployment
    before = d.origin_refs()
    (tmp_path / "runner-temp").mkdir()
    promote_json(d, tmp_path / "runner-temp" / "promote.json", moved_to=d.develop)
    refs, _ = github_push(d, tmp_path)
    assert refs.returncode != 0
    assert "not the candidate" in refs.stderr
    assert d.origin_refs() == before


def test_gitlab_pushes_the_same_refs_through_its_push_url(deployment: Deployment, tmp_path: Path):
    d = deployment
    before = d.origin_refs()
    env = {"CRVS_RELEASE_PUSH_TOKEN": "a-project-token", "CI_SERVER_HOST": "gitlab.invalid",
           "CI_PROJECT_PATH": "country/deployment"}
    # The template pushes to https://crvs-release:<token>@<host>/<project>.git; here that URL is the bare origin.
    d.git("config", f"url.{d.origin}.insteadOf", "https://crvs-release:a-project-token@gitlab.invalid/"
                                                  "country/deployment.git")
    branch = run_script(gitlab_block("Path.cwd())).release.production_branch"), d.clone, tmp_path, env)
    assert branch.returncode == 0, branch.stderr
    tool_moves_refs(d, to=d.candidate)
    promote_json(d, d.clone / "promote.json")
    push = run_script(gitlab_block("git push"), d.clone, tmp_path, env)
    assert push.returncode == 0, push.stderr
    after = d.origin_refs()
    assert after["refs/tags/v1.1.0"] == after["refs/heads/master"] == d.candidate
    assert after["refs/heads/develop"] == before["refs/heads/develop"] == d.develop


def test_gitlab_pushes_nothing_when_promotion_did_not_complete(deployment: Deployment, tmp_path: Path):
    d = deployment
    before = d.origin_refs()
    promote_json(d, d.clone / "promote.json", outcome="BLOCKED")
    push = run_script(gitlab_block("git push"), d.clone, tmp_path, {"CRVS_RELEASE_PUSH_TOKEN": "t",
                                                                    "CI_SERVER_HOST": "gitlab.invalid",
                                                                    "CI_PROJECT_PATH": "country/deployment"})
    assert push.returncode != 0
    assert "promotion did not complete (BLOCKED)" in push.stderr
    assert d.origin_refs() == before
