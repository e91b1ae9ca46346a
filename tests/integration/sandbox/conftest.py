"""Fixtures for the sandbox integration tests: real sandbox processes on free ports, driven with plain httpx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_wire import Api, client_token

from sandbox.process import SandboxProcess


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxProcess]:
    """One healthy sandbox process shared by a test module."""
    with SandboxProcess(version="2.0.7-test", commit="c0ffee" + "0" * 34) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(sandbox: SandboxProcess) -> Iterator[Api]:
    """A system-client caller of the module's sandbox."""
    caller = Api(sandbox.url, client_token(sandbox.url))
    yield caller
    caller.close()
