"""CI and the release manager share one PostgreSQL ledger: gate evidence from one checkout is seen by the other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.release_flow.conftest import QA, ReleaseRepo, clone_release_repo

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.xdist_group("pg")]


def test_ci_gate_results_land_in_the_shared_ledger(make_release_repo, fresh_pg_url: str, tmp_path: Path):
    ci = make_release_repo()
    shared = {"RELEASE_LEDGER_URL": fresh_pg_url}
    prepared = ci.cli("prepare", env=shared)
    assert prepared.exit_code == 0, prepared.stdout + prepared.stderr

    manager: ReleaseRepo = clone_release_repo(ci, tmp_path / "manager")
    (manager.path / ".release" / "ledger.db").unlink(missing_ok=True)
    seen = manager.cli("status", "1.1.0", "--json", env=shared)
    data = json.loads(seen.stdout)
    states = {g["gate"]: g["state"] for g in data["gates"]}
    assert states["checks"] == "PASSED", "the gate run recorded by CI must be visible through the shared ledger"
    assert seen.exit_code == 1 and states["qa"] == "PENDING"

    signed = manager.cli("sign-off", "qa", "1.1.0", "--as", QA, env=shared)
    assert signed.exit_code == 0, signed.stderr
    again = json.loads(ci.cli("status", "1.1.0", "--json", env=shared).stdout)
    assert {g["gate"]: g["state"] for g in again["gates"]}["qa"] == "PASSED"
    assert ci.cli("audit", "verify", env=shared).exit_code == 0
