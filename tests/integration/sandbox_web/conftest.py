"""A real sandbox server process for the web client tests; the web client is on its register host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.process import SandboxProcess

# Printing a certificate always fails with a 500, to show how the pages report a broken API.
BROKEN_PROCEDURE = "event.actions.printCertificate.request"


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """The register host of a fresh sandbox on free loopback ports, stopped after the module.

    The login rate limit is off: every test logs the same few users in.
    """
    with SandboxProcess(error_rate={BROKEN_PROCEDURE: 1.0}, auth_rate_limit=0) as sandbox:
        yield sandbox.register_url
