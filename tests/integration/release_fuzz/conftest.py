"""Fixtures of the fuzz tests: the module's prepared release repository, and fresh copies of it per example."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.release_fuzz.fuzzkit import FreshRepos, FuzzRepo, build_template


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> FuzzRepo:
    """The module's prepared repository: copy it (fresh_repos) rather than run commands in it."""
    return build_template(tmp_path_factory.mktemp("fuzz-template"))


@pytest.fixture(scope="module")
def fresh_repos(template_repo: FuzzRepo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshRepos]:
    """A factory of fresh copies of the template repository (one per hypothesis example)."""
    factory = FreshRepos(template_repo, tmp_path_factory.mktemp("fuzz-copies"))
    yield factory
    factory.clear()
