"""Promote fails closed without a production target; deploy = "manual" is recorded, and smoke runs or is waived."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from release.config import load_config
from release.workflow.deploy import MANUAL_NOTE
from release.workflow.sandbox_deploy import SandboxPorts, sandbox_target_toml
from tests.conftest import free_port
from tests.integration.release_flow.conftest import ReleaseRepo, give_all_decisions

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WAIVER = "production has no smoke-test account yet (CHG-2041)"


def set_production(r: ReleaseRepo, table: str | None, *, prelude: str = "") -> None:
    """Replace any [targets.production] in the repository's release.toml with `table` (None: none), and commit.

    `prelude` (e.g. a [variables] table) goes at the top of the file.
    """
    path = r.path / "release.toml"
    text = re.sub(r"^\[targets\.production\]\n(?:(?!\[[A-Za-z]).*\n)*", "", path.read_text(encoding="utf-8"),
                  flags=re.M)
    path.write_text(prelude + text + ("\n" + table if table else ""), encoding="utf-8")
    r.repo.git("commit", "--quiet", "--allow-empty", "-am", "chore: production target")
    load_config(path)  # the test's own config must be valid, or it would test the wrong refusal


def staging_ports(r: ReleaseRepo) -> SandboxPorts:
    staging = load_config(r.path / "release.toml").targets["staging"]
    return SandboxPorts(*(urlsplit(u or "").port or 0 for u in (staging.gateway, staging.register, staging.config)))


def dead_production(extra: str) -> str:
    """A production target at a loopback port nothing listens on, whose secrets are not set."""
    return (f'[targets.production]\ngateway = "http://127.0.0.1:{free_port()}"\n'
            'client_id = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"\nclient_secret_env = "CRVS_PROD_SECRET_NOT_SET"\n'
            'users.local_registrar = { username = "smoke.registrar", password_env = "CRVS_PROD_PASSWORD_NOT_SET" }\n'
            + extra)


def ledger(r: ReleaseRepo):
    from release.workflow.context import open_context

    return open_context(r.path, environ=r.env).ledger


def assert_refused_and_unchanged(r: ReleaseRepo, *needles: str, args: tuple[str, ...] = ()) -> str:
    """promote exits 1 naming each needle; refs and every ledger row are unchanged."""
    refs, rows = r.refs(), r.ledger_dump()
    res = r.cli("promote", "1.1.0", *args)
    assert res.exit_code == 1, res.stdout + res.stderr
    for needle in needles:
        assert needle in res.stderr, res.stderr
    assert r.refs() == refs
    assert r.ledger_dump() == rows
    assert "refs/tags/v1.1.0 " not in refs
    return res.stderr


def test_promote_without_a_production_target_refuses_and_changes_nothing(candidate):
    give_all_decisions(candidate)
    set_production(candidate, None)
    assert candidate.cli("status").exit_code == 0  # promotable: the refusal is about production, not the gates
    for args in ((), ("--json",), ("--dry-run",)):
        assert_refused_and_unchanged(candidate, "no [targets.production]", "nothing was changed",
                                     'deploy = "manual"', "docs/deploy.md", args=args)


def test_a_production_target_with_no_command_is_refused_the_same_way(candidate):
    give_all_decisions(candidate)
    set_production(candidate, dead_production(""))
    assert_refused_and_unchanged(candidate, "neither a promote nor a deploy command", 'deploy = "manual"')


def test_an_unset_variable_exits_2_before_any_ref_moves(candidate):
    give_all_decisions(candidate)
    set_production(candidate, dead_production('promote = "scripts/deploy production {version} {core_image_tag}"\n'),
                   prelude='[variables]\ncore_image_tag = { env = "CORE_IMAGE_TAG" }\n\n')
    refs, rows = candidate.refs(), candidate.ledger_dump()
    res = candidate.cli("promote", "1.1.0", env={"CRVS_PROD_SECRET_NOT_SET": "x", "CRVS_PROD_PASSWORD_NOT_SET": "x"})
    assert res.exit_code == 2, res.stdout + res.stderr
    assert "variables.core_image_tag" in res.stderr and "CORE_IMAGE_TAG" in res.stderr
    assert candidate.refs() == refs and candidate.ledger_dump() == rows


def test_manual_deploy_is_recorded_and_the_smoke_check_still_runs_then_rollback_is_by_hand(candidate):
    r = candidate
    give_all_decisions(r)
    # Production is "deployed by hand" at the staging sandbox's address: the smoke check must really run there.
    ports = staging_ports(r)
    set_production(r, sandbox_target_toml("production", ports, deploy="manual"))
    res = r.cli("promote", "1.1.0", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    steps = {s["step"]: s for s in data["steps"]}
    assert steps["deploy"]["status"] == "done"
    assert steps["deploy"]["deploy"] == "manual" and steps["deploy"]["manual"] == MANUAL_NOTE
    assert steps["deploy"]["reported"]["version"] == "1.1.0-rc.1"  # what production said when it was promoted
    assert "argv" not in steps["deploy"]  # nothing was run
    assert steps["smoke"]["status"] == "done" and steps["smoke"]["counts"]["passed"] > 0
    assert steps["smoke"]["url"] == f"http://127.0.0.1:{ports.gateway}"
    assert MANUAL_NOTE in data["message"]
    sha = r.repo.git("rev-parse", "v1.1.0-rc.1^{commit}").strip()
    assert r.repo.git("rev-parse", "production").strip() == sha

    book = ledger(r)
    recorded = {s.step: s.detail for s in book.steps("1.1.0")}
    assert recorded["deploy"]["manual"] == MANUAL_NOTE
    promoted = [e for e in book.audit_events() if e.action == "release.promoted"]
    assert len(promoted) == 1 and promoted[0].payload["deploy"] == {"manual": MANUAL_NOTE}
    assert promoted[0].payload["smoke"]["counts"]["passed"] > 0

    back = r.cli("rollback", "--json")
    assert back.exit_code == 0, back.stdout + back.stderr
    rolled = json.loads(back.stdout)
    assert "redeploy v1.0.0 to production by hand" in rolled["message"]
    assert rolled["steps"][0]["step"] == "deploy" and "roll back by hand" in rolled["steps"][0]["manual"]
    assert r.repo.git("rev-parse", "production").strip() == r.repo.git("rev-parse", "v1.0.0^{commit}").strip()
    events = [e for e in ledger(r).audit_events() if e.action == "release.rolled_back"]
    assert "roll back by hand" in events[0].payload["deploy"]["manual"]


def test_manual_deploy_with_a_smoke_waiver_records_the_waiver_and_needs_no_production_secrets(candidate):
    r = candidate
    give_all_decisions(r)
    set_production(r, dead_production(f'deploy = "manual"\nsmoke_waiver = "{WAIVER}"\n'))
    plan = r.cli("promote", "1.1.0", "--dry-run")
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert f"smoke check: waived ({WAIVER})" in plan.stdout and "by hand" in plan.stdout
    res = r.cli("promote", "1.1.0")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert f"deploy: done ({MANUAL_NOTE})" in res.stdout
    assert f"smoke: done (waived: {WAIVER})" in res.stdout
    assert f"smoke check waived: {WAIVER}" in res.stderr + res.stdout
    recorded = {s.step: s.detail for s in ledger(r).steps("1.1.0")}
    assert recorded["smoke"]["waived"] == WAIVER
    assert recorded["deploy"]["reported"] is None and recorded["deploy"]["probe_problem"]
    promoted = [e for e in ledger(r).audit_events() if e.action == "release.promoted"]
    assert promoted[0].payload["smoke"] == {"waived": WAIVER}


def test_manual_deploy_without_a_waiver_fails_closed_when_production_does_not_answer(candidate):
    r = candidate
    give_all_decisions(r)
    set_production(r, dead_production('deploy = "manual"\n'))
    res = r.cli("promote", "1.1.0", "--json",
                env={"CRVS_PROD_SECRET_NOT_SET": "synthetic", "CRVS_PROD_PASSWORD_NOT_SET": "synthetic"})
    assert res.exit_code == 1, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["outcome"] == "FAILED_AFTER_PROMOTE"
    assert {s["step"]: s["status"] for s in data["steps"]}["smoke"] == "failed"


def test_a_promote_command_that_outlives_deploy_timeout_s_fails_the_deploy_step(candidate):
    r = candidate
    give_all_decisions(r)
    (r.path / "scripts" / "slow-deploy").write_text("#!/bin/sh\nsleep 30\n", encoding="utf-8")
    (r.path / "scripts" / "slow-deploy").chmod(0o755)
    r.repo.git("add", "--chmod=+x", "scripts/slow-deploy")
    set_production(r, f'[targets.production]\ngateway = "http://127.0.0.1:{free_port()}"\n'
                      'promote = "scripts/slow-deploy {version}"\ndeploy_timeout_s = 1\n'
                      f'smoke_waiver = "{WAIVER}"\n')
    res = r.cli("promote", "1.1.0", "--json")
    assert res.exit_code == 1, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["outcome"] == "FAILED_AFTER_PROMOTE"
    deploy = next(s for s in data["steps"] if s["step"] == "deploy")
    assert "timed out after 1s" in json.dumps(deploy), deploy
