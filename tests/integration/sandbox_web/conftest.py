"""A real sandbox server process (API plus web client at `/`) for the web client tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.process import SandboxProcess

# Printing a certificate always fails with a 500, to show how the pages report a broken API.
BROKEN_PROCEDURE = "event.actions.printCertificate.request"


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """Base URL of a fresh sandbox on a free loopback port, stopped after the module."""
    with SandboxProcess(error_rate={BROKEN_PROCEDURE: 1.0}) as sandbox:
        yield sandbox.url
