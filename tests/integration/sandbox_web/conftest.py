"""A real sandbox server process (API plus web client at `/`) for the web client tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.process import SandboxProcess


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """Base URL of a fresh sandbox on a free loopback port, stopped after the module."""
    with SandboxProcess() as sandbox:
        yield sandbox.url
