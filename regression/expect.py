"""Expect a call to be refused, and say in plain words which behaviour broke when it is not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from crvs_client import CRVSError


def refused(call: Callable[[], Any], error: type[CRVSError], what: str) -> CRVSError:
    """Run `call`; it must raise `error`. Otherwise fail with `what` and what happened instead."""
    expected = error.__doc__.split(":")[0] if error.__doc__ else error.__name__
    try:
        call()
    except error as exc:
        return exc
    except CRVSError as exc:
        pytest.fail(f"{what}: expected {expected}, got HTTP {exc.status} ({exc.message[:80]})", pytrace=False)
    pytest.fail(f"{what}: expected {expected}, but the call was accepted", pytrace=False)
