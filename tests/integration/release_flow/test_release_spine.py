"""The release spine on a real repository: prepare with a command gate, status, decisions, promote, rollback."""

from __future__ import annotations

import json

import pytest

from tests.integration.release_flow.conftest import BOARD, PREPARER, QA

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_prepare_then_status_shows_manual_gates_pending(make_release_repo):
    r = make_release_repo()
    res = r.cli("prepare", "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["tag"] == "v1.1.0-rc.1" and data["version"] == "1.1.0"
    assert r.repo.git("rev-parse", "v1.1.0-rc.1^{commit}").strip() == data["sha"]
    states = {g["gate"]: g["state"] for g in data["status"]["gates"]}
    assert states["checks"] == "PASSED"
    st = r.cli("status")
    assert st.exit_code == 1, st.stdout + st.stderr
    print(st.stdout)
