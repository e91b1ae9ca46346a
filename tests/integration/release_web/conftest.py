"""A real `release serve` process over a change-board project, one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.changeboard import Board, start_board


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    """One running board per test module."""
    yield from start_board(tmp_path_factory.mktemp("board"))
