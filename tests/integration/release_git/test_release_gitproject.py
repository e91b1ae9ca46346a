"""GitProject against real repositories: reads, idempotent writes, conflicts, dry-run and push."""

from __future__ import annotations

import subprocess

import pytest
import semver

from release.errors import GitConflict, InputError
from release.gitproject import GitProject
from tests.gitrepo import Commit, git_env, make_repo

pytestmark = pytest.mark.integration


def test_not_a_repository_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not a git repository"):
        GitProject(tmp_path)


def test_works_from_a_subfolder(release_repo):
    repo = release_repo(["feat: a"], files={"docs/x.md": "x"})
    project = GitProject(repo.path / "docs")
    assert project.root == repo.path and project.head_sha() == repo.shas[0]


def test_last_production_version_is_highest_final_tag_on_production(release_repo):
    repo = release_repo(["feat: a", "feat: b", "fix: c", "feat: d"],
                        tags={"v1.0.0": 0, "v1.1.0": 1, "v1.2.0-rc.1": 2, "v9.0.0": 3, "not-a-version": 1},
                        production_branch_at=2)
    project = GitProject(repo.path)
    assert project.last_production_version("production", "v{version}") == (semver.Version(1, 1, 0), "v1.1.0")
    assert project.last_production_version("missing-branch", "v{version}") is None
    assert project.last_production_version("production", "core-v{version}") is None


def test_no_tag_yet_means_no_production_version(release_repo):
    repo = release_repo(["feat: a"], production_branch_at=0)
    assert GitProject(repo.path).last_production_version("production", "v{version}") is None


def test_commits_and_authors_between(release_repo):
    repo = release_repo(["chore: init", Commit("feat(search): a (#4)", author="ana@example.org"),
                         Commit("Merge branch 'x'", author="bo@example.org"), "fix: c"])
    project = GitProject(repo.path)
    commits = project.commits_between(repo.shas[0], "HEAD")
    assert [c.sha for c in commits] == repo.shas[1:]
    assert (commits[0].type, commits[0].scope, commits[0].issue_refs) == ("feat", "search", ("#4",))
    assert commits[0].author_email == "ana@example.org" and not commits[1].releasable
    assert len(project.commits_between(None, "HEAD")) == 4
    assert project.authors_between(repo.shas[0], repo.shas[2]) == {"ana@example.org", "bo@example.org"}


def test_is_dirty_counts_tracked_and_untracked_but_not_ignored(release_repo):
    repo = release_repo(["feat: a"])
    project = GitProject(repo.path)
    assert not project.is_dirty()
    (repo.path / "debug.log").write_text("ignored")
    assert not project.is_dirty()
    (repo.path / "new.txt").write_text("untracked")
    assert project.is_dirty()
    (repo.path / "new.txt").unlink()
    (repo.path / "release.toml").write_text("# changed\n")
    assert project.is_dirty()


def test_ensure_branch_creates_once_and_never_moves(release_repo):
    repo = release_repo(["feat: a", "fix: b"])
    project = GitProject(repo.path)
    assert project.ensure_branch("release/v0.1.0", repo.shas[0]) is True
    assert project.ensure_branch("release/v0.1.0", repo.shas[1]) is False
    assert project.branch_sha("release/v0.1.0") == repo.shas[0]
    with pytest.raises(InputError, match="invalid branch name"):
        project.ensure_branch("bad..name", repo.shas[0])
    with pytest.raises(InputError, match="invalid tag name"):
        project.create_tag("--force", repo.shas[0])


def test_create_tag_is_annotated_idempotent_and_refuses_to_move(release_repo):
    repo = release_repo(["feat: a", "fix: b"])
    project = GitProject(repo.path)
    assert project.create_tag("v0.1.0-rc.1", repo.shas[0], "candidate 1") is True
    assert repo.git("cat-file", "-t", "v0.1.0-rc.1").strip() == "tag"
    assert project.create_tag("v0.1.0-rc.1", repo.shas[0]) is False
    with pytest.raises(GitConflict, match="already points at"):
        project.create_tag("v0.1.0-rc.1", repo.shas[1])
    assert project.tag_sha("v0.1.0-rc.1") == repo.shas[0]
    assert project.tags_at(repo.shas[0]) == ["v0.1.0-rc.1"]


def test_fast_forward_creates_moves_and_refuses_divergence(release_repo):
    repo = release_repo(["feat: a", "fix: b", "fix: c"])
    project = GitProject(repo.path)
    assert project.fast_forward("production", repo.shas[0]) is True
    assert project.fast_forward("production", repo.shas[2]) is True
    assert project.fast_forward("production", repo.shas[2]) is False
    assert project.branch_sha("production") == repo.shas[2]
    with pytest.raises(GitConflict, match="cannot fast-forward"):
        project.fast_forward("production", repo.shas[1])  # backwards is not forwards
    repo.git("checkout", "--quiet", "-b", "side", repo.shas[0])
    side = repo.commit("fix: diverged")
    with pytest.raises(GitConflict):
        project.fast_forward("production", side)
    assert project.branch_sha("production") == repo.shas[2]


def test_fast_forward_of_checked_out_branch_keeps_worktree_clean(release_repo):
    repo = release_repo(["feat: a", "fix: b"])
    repo.git("branch", "-f", "ahead", repo.shas[1])
    repo.git("reset", "--quiet", "--hard", repo.shas[0])
    project = GitProject(repo.path)
    assert project.fast_forward("main", repo.shas[1]) is True
    assert project.head_sha() == repo.shas[1] and not project.is_dirty()


def test_move_branch_back_is_compare_and_set(release_repo):
    repo = release_repo(["feat: a", "fix: b", "fix: c"], production_branch_at=2)
    project = GitProject(repo.path)
    with pytest.raises(GitConflict, match="moved"):
        project.move_branch_back("production", repo.shas[0], expected_current=repo.shas[1])
    assert project.branch_sha("production") == repo.shas[2]
    project.move_branch_back("production", repo.shas[0], expected_current=repo.shas[2])
    assert project.branch_sha("production") == repo.shas[0]


def test_dry_run_changes_no_refs_and_says_what_it_would_do(release_repo, tmp_path):
    repo = release_repo(["feat: a", "fix: b"], production_branch_at=0, tags={"v0.1.0": 0})
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True, env=git_env())
    repo.git("remote", "add", "origin", str(remote))
    before = repo.refs()
    project = GitProject(repo.path, dry_run=True, remote="origin")
    assert project.ensure_branch("release/v0.2.0", repo.shas[1]) is True
    assert project.create_tag("v0.2.0-rc.1", repo.shas[1]) is True
    assert project.fast_forward("production", repo.shas[1]) is True
    project.move_branch_back("production", repo.shas[0], expected_current=repo.shas[0])
    assert project.push(["release/v0.2.0", "v0.2.0-rc.1"]) is True
    assert repo.refs() == before
    assert subprocess.run(["git", "for-each-ref"], cwd=remote, capture_output=True, text=True).stdout == ""
    plan = project.planned()
    assert plan[0].startswith("create branch release/v0.2.0 at ") and len(plan) == 5
    assert any(p.startswith("fast-forward production to") for p in plan)
    with pytest.raises(GitConflict):  # conflicts are still detected in a dry run
        project.create_tag("v0.1.0", repo.shas[1])


def test_push_to_bare_remote_never_forces(release_repo, tmp_path):
    repo = release_repo(["feat: a", "fix: b"])
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True, env=git_env())
    repo.git("remote", "add", "origin", str(remote))
    assert GitProject(repo.path).push(["main"]) is False  # no remote configured: local only
    project = GitProject(repo.path, remote="origin")
    project.create_tag("v0.1.0-rc.1", repo.shas[1])
    project.fast_forward("production", repo.shas[1])
    assert project.push(["production", "v0.1.0-rc.1"]) is True
    remote_refs = subprocess.run(["git", "for-each-ref", "--format=%(refname)"], cwd=remote,
                                 capture_output=True, text=True, check=True).stdout.split()
    assert remote_refs == ["refs/heads/production", "refs/tags/v0.1.0-rc.1"]
    project.move_branch_back("production", repo.shas[0], expected_current=repo.shas[1])
    with pytest.raises(GitConflict, match="refused"):
        project.push(["production"])
    with pytest.raises(InputError, match="no such branch or tag"):
        project.push(["nope"])


def test_user_email_prefers_git_environment(tmp_path, monkeypatch):
    repo = make_repo(tmp_path / "r", ["feat: a"])
    monkeypatch.delenv("GIT_AUTHOR_EMAIL", raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    project = GitProject(repo.path)
    assert project.user_email() is None
    repo.git("config", "user.email", "rm@example.org")
    assert project.user_email() == "rm@example.org"
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ci@example.org")
    assert project.user_email() == "ci@example.org"
