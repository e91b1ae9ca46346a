"""Moving the production branch when only the remote has it: the remote's commits must not be dropped."""

from __future__ import annotations

import subprocess

import pytest

from release.errors import GitConflict
from release.gitproject import GitProject
from tests.gitrepo import git_env, make_repo

pytestmark = pytest.mark.integration


def _clone(source, dest):
    subprocess.run(["git", "clone", "--quiet", str(source), str(dest)], check=True, env=git_env(),
                   capture_output=True)
    return dest


def test_creating_the_branch_refuses_when_the_remotes_copy_is_not_an_ancestor(tmp_path):
    origin = make_repo(tmp_path / "origin", ["feat: a", "fix: b"])
    origin.git("branch", "master", origin.shas[1])
    origin.git("checkout", "--quiet", "-b", "develop", origin.shas[0])
    origin.commit("feat: c")  # the candidate, on develop: it does not contain master's "fix: b"
    work = _clone(origin.path, tmp_path / "work")
    subprocess.run(["git", "checkout", "--quiet", "develop"], cwd=work, check=True, env=git_env())
    project = GitProject(work)
    candidate = project.head_sha("HEAD")
    assert project.branch_sha("master") is None and project.remote_branch_sha("origin", "master")
    problem = project.fast_forward_problem("master", candidate)
    assert problem and "origin/master" in problem and "git fetch origin" in problem
    with pytest.raises(GitConflict, match="origin/master"):
        project.fast_forward("master", candidate)
    assert project.branch_sha("master") is None  # nothing was created


def test_creating_the_branch_is_fine_when_the_candidate_contains_the_remotes_copy(tmp_path):
    origin = make_repo(tmp_path / "origin", ["feat: a", "fix: b"])
    origin.git("branch", "master", origin.shas[0])
    work = _clone(origin.path, tmp_path / "work")
    project = GitProject(work)
    candidate = project.head_sha("HEAD")
    assert project.fast_forward_problem("master", candidate) is None
    assert project.fast_forward("master", candidate) is True
    assert project.branch_sha("master") == candidate
