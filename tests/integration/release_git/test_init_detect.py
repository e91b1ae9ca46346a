"""`release init` in real repositories: it reads branches, tags and deploy workflows, and what it writes loads."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

from release.config import CONFIG_NAME, command_placeholders, load_config
from tests.gitrepo import Commit, GitRepoHandle, git_env, make_repo

pytestmark = pytest.mark.integration

#: A farajaland-shaped deploy workflow (opencrvs-farajaland .github/workflows/deploy.yml: the same inputs).
DEPLOY_YML = """\
name: Deploy (development)
on:
  workflow_dispatch:
    inputs:
      environment:
        type: choice
        description: Environment to deploy to
        required: true
        default: 'staging'
        options:
          - staging
          - qa
          - development
      core-image-tag:
        description: Core DockerHub image tag
        required: true
        default: 'v1.8.0'
      countryconfig-image-tag:
        description: Your Country Config DockerHub image tag
        default: 'n/a'
        required: false
      reset:
        type: boolean
        description: Reset the environment
        default: false
jobs:
  deploy:
    runs-on: ubuntu-24.04
    timeout-minutes: 60
    steps:
      - run: echo deploy
"""

#: As opencrvs-farajaland .github/workflows/deploy-prod.yml: production only, one more required choice.
DEPLOY_PROD_YML = """\
name: Deploy(production)
on:
  workflow_dispatch:
    inputs:
      environment:
        type: choice
        required: true
        default: 'production'
        options:
          - production
      core-image-tag:
        required: true
        default: 'v1.3.2'
      countryconfig-image-tag:
        required: true
      deploy-script-environment:
        type: choice
        required: true
        default: 'production'
        options:
          - production
          - demo
jobs:
  deploy:
    runs-on: ubuntu-20.04
    steps:
      - run: echo deploy
"""

#: A workflow with inputs that is not a deploy: init must leave it alone.
SEED_YML = """\
name: Seed data
on:
  workflow_dispatch:
    inputs:
      environment:
        required: true
jobs:
  seed:
    runs-on: ubuntu-latest
    steps:
      - run: echo seed
"""

STAGING_COMMAND = ("gh workflow run deploy.yml -f environment=staging -f core-image-tag={core_image_tag} "
                   "-f countryconfig-image-tag={countryconfig_image_tag}")
PRODUCTION_COMMAND = ("gh workflow run deploy-prod.yml -f environment=production -f core-image-tag={core_image_tag} "
                      "-f countryconfig-image-tag={countryconfig_image_tag}")


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=git_env(), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def farajaland_upstream(path: Path) -> GitRepoHandle:
    """master with v1.9.0 ... v1.9.12 (a release-v1.9.N branch at each), develop ahead of it, and deploy workflows."""
    files = {".github/workflows/deploy.yml": DEPLOY_YML, ".github/workflows/deploy-prod.yml": DEPLOY_PROD_YML,
             ".github/workflows/seed-data.yml": SEED_YML, "package.json": '{"name": "opencrvs-farajaland"}\n'}
    commits = [Commit(f"fix: patch {n}" if n else "feat: farajaland 1.9") for n in range(13)]
    repo = make_repo(path, commits, branch="master", files=files,
                     tags={f"v1.9.{n}": n for n in range(13)})
    for n in range(13):
        repo.branch_at(f"release-v1.9.{n}", n)
    repo.git("checkout", "--quiet", "-b", "develop")
    repo.commit("feat: next minor work on develop")
    return repo


def fresh_clone(upstream: Path, path: Path, *extra: str) -> Path:
    """`git clone` as a new user makes it: local develop only; master and the release branches as origin/*."""
    _git(upstream.parent, "clone", "--quiet", *extra, upstream.as_uri(), str(path))
    return path


def test_farajaland_shaped_clone_gets_master_release_dash_v_and_the_deploy_workflow(tmp_path, run_cli):
    upstream = farajaland_upstream(tmp_path / "upstream")
    clone = fresh_clone(upstream.path, tmp_path / "farajaland")
    assert "refs/heads/master" not in _git(clone, "for-each-ref", "--format=%(refname)")
    result = run_cli("init", "--json", cwd=clone)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    text = (clone / CONFIG_NAME).read_text()
    raw = tomllib.loads(text)
    assert raw["release"]["production_branch"] == "master"
    assert raw["release"]["branch"] == "release-v{version}"
    assert raw["release"]["tag"] == "v{version}"
    assert raw["variables"] == {"core_image_tag": {"env": "CORE_IMAGE_TAG"}, "countryconfig_image_tag": "{tag}"}
    config = load_config(clone / CONFIG_NAME)
    assert config.release.production_branch == "master" and "core_image_tag" in config.variables
    assert config.target("staging").deploy is None, "the detected deploy is written commented out"
    assert f"# deploy = {json.dumps(STAGING_COMMAND)}" in text
    assert f"# promote = {json.dumps(PRODUCTION_COMMAND)}" in text
    assert '# deploy = "scripts/farajaland-deploy deploy.yml staging {core_image_tag} {countryconfig_image_tag}"' in text
    assert "# version_timeout_s = 3600" in text
    detected = data["detected"]
    assert detected["default_branch"] == "develop" and detected["remote"] == "origin"
    assert [p["workflow"] for p in detected["deploys"]] == [".github/workflows/deploy.yml",
                                                           ".github/workflows/deploy-prod.yml"]
    why = next(f["why"] for f in detected["findings"] if f["what"] == "production branch")
    assert "v1.9.12" in why and "origin/master" in why and "no local master" in why
    assert data["commit"] == 'git add release.toml && git commit -m "chore: add release.toml"'.replace('"', "'")


def test_the_detected_deploy_lines_load_when_uncommented_and_render_the_gh_argv(tmp_path, run_cli):
    from release.workflow.deploy import render_command

    upstream = farajaland_upstream(tmp_path / "upstream")
    clone = fresh_clone(upstream.path, tmp_path / "farajaland")
    assert run_cli("init", cwd=clone).exit_code == 0
    path = clone / CONFIG_NAME
    lines = path.read_text().splitlines()
    deploy = next(i for i, line in enumerate(lines) if line.startswith("# deploy = \"gh workflow run"))
    lines[deploy] = lines[deploy].removeprefix("# ")
    path.write_text("\n".join(lines) + "\n")
    config = load_config(path)
    target = config.target("staging")
    assert target.deploy == STAGING_COMMAND
    assert set(command_placeholders(STAGING_COMMAND)) == {"core_image_tag", "countryconfig_image_tag"}
    rendered = render_command(target.deploy, version="1.10.0-rc.1", commit="c" * 40, tag="v1.10.0-rc.1",
                              target="staging", variables=config.variables, environ={"CORE_IMAGE_TAG": "v2.0.0"})
    assert rendered.argv == ("gh", "workflow", "run", "deploy.yml", "-f", "environment=staging",
                             "-f", "core-image-tag=v2.0.0", "-f", "countryconfig-image-tag=v1.10.0-rc.1")


def test_text_output_says_what_it_read_and_how_to_commit(tmp_path, run_cli):
    upstream = farajaland_upstream(tmp_path / "upstream")
    clone = fresh_clone(upstream.path, tmp_path / "farajaland")
    result = run_cli("init", cwd=clone)
    assert result.exit_code == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == f"wrote {clone / CONFIG_NAME}"
    assert any(line.startswith("  production branch:") and " master " in line for line in out)
    assert any(line.startswith("  release branches:") and "release-v{version}" in line for line in out)
    assert any(line.startswith("  staging deploy:") and ".github/workflows/deploy.yml" in line for line in out)
    assert out[-1] == "  git add release.toml && git commit -m 'chore: add release.toml'"


def test_init_then_commit_then_version_gives_2_0_0_after_a_breaking_feat(tmp_path, run_cli):
    upstream = farajaland_upstream(tmp_path / "upstream")
    clone = fresh_clone(upstream.path, tmp_path / "farajaland")
    assert run_cli("init", cwd=clone).exit_code == 0
    _git(clone, "add", CONFIG_NAME)
    _git(clone, "commit", "--quiet", "-m", "chore: add release.toml")
    _git(clone, "commit", "--quiet", "--allow-empty", "-m", "feat!: v2 event model")
    result = run_cli("version", "--json", cwd=clone)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["last_version"], data["next_version"]) == ("1.9.12", "2.0.0")
    assert data["branch"] == "release-v2.0.0" and data["rc_tag"] == "v2.0.0-rc.1"


def test_plain_repository_with_main_and_release_slash_v(tmp_path, run_cli):
    repo = make_repo(tmp_path / "plain", ["feat: first", "fix: second", "feat: after the release"],
                     tags={"v1.0.0": 1})
    repo.branch_at("release/v1.0.0", 1)
    result = run_cli("init", "--json", cwd=repo.path)
    assert result.exit_code == 0, result.stderr
    detected = json.loads(result.stdout)["detected"]
    assert detected["release"] == {"production_branch": "main", "branch": "release/v{version}", "tag": "v{version}"}
    assert detected["default_branch"] == "main" and detected["remote"] is None and detected["deploys"] == []
    assert any("both the production branch and the default branch" in w for w in detected["warnings"])
    config = load_config(repo.path / CONFIG_NAME)
    assert (config.release.production_branch, config.release.branch) == ("main", "release/v{version}")
    assert "[variables]" not in (repo.path / CONFIG_NAME).read_text()


def test_bare_version_tags_and_a_production_branch(tmp_path, run_cli):
    repo = make_repo(tmp_path / "bare", ["feat: a", "feat: b", "fix: c", "feat: d"],
                     tags={"1.0.0": 0, "1.1.0": 1, "1.1.1-rc.1": 2, "1.1.1": 2}, production_branch_at=2)
    repo.branch_at("release/1.1", 1)
    result = run_cli("init", "--json", cwd=repo.path)
    assert result.exit_code == 0, result.stderr
    detected = json.loads(result.stdout)["detected"]
    assert detected["release"] == {"production_branch": "production", "branch": "release/{version}",
                                   "tag": "{version}"}
    assert any("major.minor only" in w and "release/1.2.0" in w for w in detected["warnings"])
    assert load_config(repo.path / CONFIG_NAME).release.tag == "{version}"


def test_tags_on_an_unusually_named_branch_are_found_with_a_warning(tmp_path, run_cli):
    repo = make_repo(tmp_path / "stable", ["feat: a", "feat: b"], tags={"v0.3.0": 0}, production_branch_at=0,
                     production_branch="stable")
    repo.git("tag", "--delete", "v0.3.0")
    repo.git("checkout", "--quiet", "--orphan", "trunk")
    repo.commit("chore: unrelated trunk")
    repo.git("branch", "--delete", "--force", "main")
    repo.tag("v0.3.0", "stable")
    result = run_cli("init", "--json", cwd=repo.path)
    assert result.exit_code == 0, result.stderr
    detected = json.loads(result.stdout)["detected"]
    assert detected["release"]["production_branch"] == "stable"
    assert any("init chose stable" in w for w in detected["warnings"])


def test_tags_only_on_release_branches_keep_production_and_say_how_to_fix_it(tmp_path, run_cli):
    repo = make_repo(tmp_path / "loose-tags", ["feat: a"])
    repo.git("checkout", "--quiet", "-b", "release/v1.0.0")
    repo.commit("fix: only on the release branch")
    repo.tag("v1.0.0", "HEAD")
    repo.git("checkout", "--quiet", "main")
    result = run_cli("init", "--json", cwd=repo.path)
    assert result.exit_code == 0, result.stderr
    detected = json.loads(result.stdout)["detected"]
    assert detected["release"]["production_branch"] == "production"
    assert any("git branch production v1.0.0" in w for w in detected["warnings"])
    refused = run_cli("version", cwd=repo.path)
    assert refused.exit_code == 2, "tags without a production branch: never 'first release'"


def test_empty_repository_and_no_repository_get_the_defaults(tmp_path, run_cli):
    empty = tmp_path / "empty"
    empty.mkdir()
    _git(empty, "init", "--quiet", "--initial-branch", "main")
    loose = tmp_path / "loose"
    loose.mkdir()
    for folder, commit in ((empty, "git add release.toml && git commit -m 'chore: add release.toml'"), (loose, None)):
        result = run_cli("init", "--json", cwd=folder)
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["detected"]["release"] == {"production_branch": "production", "branch": "release/v{version}",
                                               "tag": "v{version}"}
        assert data["commit"] == commit
        config = load_config(folder / CONFIG_NAME)
        assert {"regression", "browser", "load"} <= set(config.gates)
    assert json.loads(run_cli("init", "--json", "--force", cwd=empty).stdout)["detected"]["default_branch"] == "main"


def test_shallow_clone_refuses_and_writes_nothing(tmp_path, run_cli):
    upstream = farajaland_upstream(tmp_path / "upstream")
    clone = fresh_clone(upstream.path, tmp_path / "shallow", "--depth", "1")
    result = run_cli("init", cwd=clone)
    assert result.exit_code == 2
    assert "shallow" in result.stderr and "git fetch --unshallow --tags" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (clone / CONFIG_NAME).exists()


def test_existing_file_is_refused_before_anything_is_read_and_force_rewrites_it(tmp_path, run_cli):
    repo = make_repo(tmp_path / "r", ["feat: a"], tags={"v2.0.0": 0}, production_branch_at=0)
    (repo.path / CONFIG_NAME).write_text("# mine\n")
    refused = run_cli("init", cwd=repo.path)
    assert refused.exit_code == 2 and "already exists; use --force" in refused.stderr
    assert (repo.path / CONFIG_NAME).read_text() == "# mine\n"
    forced = run_cli("init", "--force", cwd=repo.path)
    assert forced.exit_code == 0 and forced.stdout.startswith("overwrote ")
    assert load_config(repo.path / CONFIG_NAME).release.production_branch == "production"
    assert not list(repo.path.glob(".release.toml*")), "no temporary file is left behind"
