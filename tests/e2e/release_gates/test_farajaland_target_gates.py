"""Issue #10's first proof: the standing suite (API and browser) and a 60 s load run pass on the default sandbox
through a farajaland-shaped target: three URLs, named users with a registrar pool, a UUID system client and
locations discovered through `locations.list`."""

from __future__ import annotations

import json
import tomllib

import pytest

from release.workflow.sandbox_deploy import stop_all
from tests.integration.release_flow.conftest import base_env, build_release_repo

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("farajaland_gates")]

GATES = '''
[gates.regression]
kind = "pytest"
markers = "not browser"

[gates.browser]
kind = "browser"

[gates.load]
kind = "locust"
users = 20
spawn_rate = 10
duration = "60s"
slo = { "event.search" = { p95_ms = 1500 }, "event.actions.register.request" = { p95_ms = 3000 }, errors = 0.001 }
'''


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """A repository whose candidate v1.1.0-rc.1 was prepared: deployed to a sandbox and every automated gate run."""
    base = tmp_path_factory.mktemp("farajaland")
    repo = build_release_repo(base, base_env(base / "home"), extra_gates=GATES)
    try:
        prepared = repo.cli("prepare", "--json", timeout=900)
        yield repo, prepared
    finally:
        stop_all(repo.run_dir)


def _gate(status: dict, name: str) -> dict:
    return next(g for g in status["gates"] if g["gate"] == name)


def test_the_target_is_farajaland_shaped(gated):
    repo, _ = gated
    target = tomllib.loads((repo.path / "release.toml").read_text())["targets"]["staging"]
    hosts = {target["gateway"], target["register"], target["config"]}
    assert len(hosts) == 3, "gateway, register host and country config are three URLs"
    assert len(target["client_id"]) == 36 and target["client_id"].count("-") == 4
    assert [u["username"] for u in target["users"]["local_registrar"]] == ["k.mweene", "k.mwale", "d.sakala"]
    assert "locations" not in target, "locations are discovered, not named"


@pytest.mark.parametrize("gate", ["regression", "browser", "load"])
def test_each_automated_gate_passes_on_the_candidate_and_records_x_version(gated, gate):
    repo, prepared = gated
    assert prepared.exit_code in (0, 1), prepared.stdout + prepared.stderr
    status = json.loads(repo.cli("status", "1.1.0", "--json").stdout)
    found = _gate(status, gate)
    assert found["state"] == "PASSED", json.dumps(found, indent=1)
    assert found["evidence"]["target_version"] == "1.1.0-rc.1"


def test_the_load_run_lasted_60_s_with_the_registrar_pool_and_no_failures(gated):
    repo, _ = gated
    stats_files = sorted((repo.path / ".release").rglob("*stats.json"))
    assert stats_files, "the load gate kept its stats.json as evidence"
    stats = json.loads(stats_files[-1].read_text())
    assert stats["verdict"] == "PASSED"
    assert stats["scenario"]["duration_s"] == 60 and stats["scenario"]["users"] == 20
    procedures = stats["procedures"]
    assert procedures["event.actions.register.request"]["count"] > 0
    assert procedures["event.search"]["count"] > 0
    assert sum(p.get("failures", 0) for p in procedures.values()) == 0
