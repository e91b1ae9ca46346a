"""`release version` and `release init` end to end against real repositories, plus plan_version's rc numbering."""

from __future__ import annotations

import json
import tomllib

import pytest

from release.config import load_config
from release.gitproject import GitProject
from release.planning import plan_version

pytestmark = pytest.mark.integration


def _one_line_error(result, text: str) -> None:
    assert result.exit_code == 2, result
    assert result.stderr.strip().splitlines() == [text] or (
        len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith(text)), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("messages", "expected", "bump"),
    [
        (["feat(search): fuzzy names"], "1.2.0", "minor"),
        (["fix: null dob", "docs: x"], "1.1.1", "patch"),
        (["perf: index"], "1.1.1", "patch"),
        (["feat(api)!: drop v1", "fix: y"], "2.0.0", "major"),
        (["fix: z\n\nBREAKING CHANGE: token format"], "2.0.0", "major"),
    ],
)
def test_version_auto_bump(release_repo, run_cli, messages, expected, bump):
    repo = release_repo(["chore: init", *messages], tags={"v1.1.0": 0}, production_branch_at=0)
    result = run_cli("version", "--json", cwd=repo.path)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["last_version"], data["next_version"], data["bump"]) == ("1.1.0", expected, bump)
    assert data["rc_tag"] == f"v{expected}-rc.1" and data["branch"] == f"release/v{expected}"
    assert data["reasons"] and all(r["bump"] == bump for r in data["reasons"])
    assert data["head"] == repo.shas[-1]


def test_version_text_output_names_the_reason(release_repo, run_cli):
    repo = release_repo(["chore: init", "feat(search): fuzzy names", "fix: dob"], tags={"v1.1.0": 0},
                        production_branch_at=0)
    before = repo.refs()
    result = run_cli("version", cwd=repo.path)
    assert result.exit_code == 0
    assert "production: 1.1.0 (v1.1.0)" in result.stdout
    assert "next:       1.2.0 (minor bump)" in result.stdout
    assert f"because {repo.shas[1][:7]} feat(search): fuzzy names" in result.stdout
    assert "v1.2.0-rc.1 (would create) on release/v1.2.0" in result.stdout
    assert repo.refs() == before  # a preview changes nothing


def test_nothing_releasable_exits_0_with_one_line(release_repo, run_cli):
    repo = release_repo(["chore: init", "docs: guide", "chore: tidy"], tags={"v1.1.0": 0}, production_branch_at=0)
    result = run_cli("version", cwd=repo.path)
    assert result.exit_code == 0, result.stderr  # a quiet week must not turn a CI schedule red
    assert result.stdout == ("nothing to release: no feat, fix, perf or breaking commit since 1.1.0; production is "
                             "1.1.0 (v1.1.0) on production; 2 commits read, no candidate to cut\n")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--version", "1.4.0"], "1.4.0"),
        (["--bump", "major"], "2.0.0"),
        (["--bump", "minor"], "1.2.0"),
        (["--bump", "patch"], "1.1.1"),
    ],
)
def test_version_explicit_and_forced(release_repo, run_cli, args, expected):
    repo = release_repo(["chore: init", "docs: only docs"], tags={"v1.1.0": 0}, production_branch_at=0)
    result = run_cli("version", "--json", *args, cwd=repo.path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["next_version"] == expected


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--version", "v1.x"], "error: invalid version 'v1.x': expected X.Y.Z, e.g. 1.2.0"),
        (["--version", "1.1.0"], "error: version 1.1.0 is not greater than 1.1.0, the version in production"),
        (["--version", "1.0.5"], "error: version 1.0.5 is not greater than 1.1.0, the version in production"),
        (["--version", "1.3.0", "--bump", "minor"], "error: give either an explicit version or a bump, not both"),
    ],
)
def test_version_bad_explicit_exits_2(release_repo, run_cli, args, line):
    repo = release_repo(["chore: init", "feat: a"], tags={"v1.1.0": 0}, production_branch_at=0)
    _one_line_error(run_cli("version", *args, cwd=repo.path), line)


def test_first_release_without_production_tag(release_repo, run_cli):
    repo = release_repo(["chore: init", "feat: a", "fix: b"])
    data = json.loads(run_cli("version", "--json", cwd=repo.path).stdout)
    assert (data["last_version"], data["next_version"], data["rc_tag"]) == (None, "0.1.0", "v0.1.0-rc.1")
    assert data["commit_count"] == 3
    major = json.loads(run_cli("version", "--json", "--bump", "major", cwd=repo.path).stdout)
    assert major["next_version"] == "1.0.0"


def test_rc_numbering_follows_commits_and_ignores_other_versions(release_repo):
    repo = release_repo(["chore: init", "feat: a"], tags={"v1.1.0": 0, "v1.3.0-rc.5": 1, "v1.1.0-rc.9": 0},
                        production_branch_at=0)
    config = load_config(repo.path / "release.toml")
    project = GitProject(repo.path)
    plan = plan_version(config, project)
    assert (plan.rc, plan.rc_tag, plan.rc_reused) == (1, "v1.2.0-rc.1", False)
    project.create_tag(plan.rc_tag, plan.head)
    again = plan_version(config, project)
    assert (again.rc_tag, again.rc_reused) == ("v1.2.0-rc.1", True)  # same commit: prepare reuses rc.1
    repo.commit("fix: after rc.1")
    after = plan_version(config, project)
    assert (after.rc, after.rc_tag, after.rc_reused) == (2, "v1.2.0-rc.2", False)


def test_not_a_repository_exits_2(tmp_path, run_cli):
    (tmp_path / "plain").mkdir()
    _one_line_error(run_cli("version", cwd=tmp_path / "plain"), f"error: {tmp_path / 'plain'}: not a git repository")


def test_bad_config_exits_2_with_exact_line(release_repo, run_cli):
    repo = release_repo(["chore: init", "feat: a"])
    text = (repo.path / "release.toml").read_text().replace("users = 40", "users = 0")
    (repo.path / "release.toml").write_text(text)
    result = run_cli("version", cwd=repo.path)
    assert result.exit_code == 2
    assert result.stderr == "error: release.toml: gates.load.users: expected a positive integer\n"
    assert result.stdout == ""


def test_missing_config_exits_2(tmp_path, run_cli):
    from tests.gitrepo import make_repo

    repo = make_repo(tmp_path / "r", ["feat: a"])
    result = run_cli("version", cwd=repo.path)
    assert result.exit_code == 2 and "run `release init`" in result.stderr


def test_init_writes_loadable_config_and_refuses_overwrite(tmp_path, run_cli):
    from tests.gitrepo import make_repo

    repo = make_repo(tmp_path / "r", ["feat: a"])
    (repo.path / "sub").mkdir()
    result = run_cli("init", "--json", cwd=repo.path / "sub")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["path"], data["overwritten"]) == (str(repo.path / "release.toml"), False)
    text = (repo.path / "release.toml").read_text()
    assert "client_secret_env" in text and "# " in text
    assert load_config(repo.path / "release.toml").gates["load"].kind == "locust"
    (repo.path / "release.toml").write_text("# mine\n")
    refused = run_cli("init", cwd=repo.path)
    _one_line_error(refused, "error: release.toml already exists; use --force to overwrite it")
    assert (repo.path / "release.toml").read_text() == "# mine\n"
    forced = run_cli("init", "--force", "--path", str(repo.path), cwd=tmp_path)
    assert forced.exit_code == 0 and forced.stdout.startswith("overwrote ")
    assert tomllib.loads((repo.path / "release.toml").read_text())["gates"]
    assert run_cli("version", "--json", cwd=repo.path).exit_code == 0
