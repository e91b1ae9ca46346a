"""A target is a deployment: bad target config and unset secrets stop everything (exit 2, file and key, nothing
runs); evidence records the X-Version the target reported and the image tags the deploy step printed; the
gates get the deployment profile."""

from __future__ import annotations

import json
import sys

import pytest

from release.workflow.sandbox_deploy import stop_all
from tests.gitrepo import Commit
from tests.integration.release_flow.conftest import AUTHOR, base_env, build_release_repo

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _nothing_ran(r, refs_before) -> None:
    assert r.refs() == refs_before
    assert not list(r.run_dir.glob("*.pid")), "nothing may be deployed"
    db = r.path / ".release" / "ledger.db"
    assert not db.exists() or all(not rows for table, rows in r.ledger_dump() if table != "alembic_version")


@pytest.mark.parametrize(("old", "new", "key", "expected"), [
    ('client_id = "4b3e5c7a-8d2f-4a1b-9c6e-0f5d7a2b8c91"', 'client_id = "release-gate"',
     "targets.staging.client_id", "a UUID"),
    ("users.registration_agent = ", "users.registrar = ", "targets.staging.users.registrar", "unknown role"),
    ("two_fa = false", "two_fa = true", "targets.staging.login_code_env", "required when two_fa = true"),
])
def test_a_bad_target_is_exit_2_naming_file_and_key_and_nothing_runs(make_release_repo, old, new, key, expected):
    r = make_release_repo()
    text = (r.path / "release.toml").read_text()
    assert old in text
    (r.path / "release.toml").write_text(text.replace(old, new, 1))
    r.repo.git("commit", "--quiet", "-am", "chore: edit the staging target")
    before = r.refs()
    res = r.cli("prepare")
    assert res.exit_code == 2, res.stdout + res.stderr
    assert "release.toml" in res.stderr and key in res.stderr and expected in res.stderr
    assert "Traceback" not in res.stderr
    _nothing_ran(r, before)


def test_an_unset_password_stops_prepare_and_the_gate_but_not_release_version(make_release_repo):
    r = make_release_repo()
    before = r.refs()
    unset = {"CRVS_SANDBOX_PASSWORD": ""}
    res = r.cli("prepare", env=unset)
    assert res.exit_code == 2, res.stdout + res.stderr
    assert "release.toml: targets.staging.users.hospital_clerk.password_env" in res.stderr
    assert "CRVS_SANDBOX_PASSWORD to be set" in res.stderr
    _nothing_ran(r, before)
    assert r.cli("version", env=unset).exit_code == 0  # loading the config never needs the secrets


def test_an_unset_secret_stops_a_gate_run_before_it_is_recorded(candidate):
    runs_before = dict(candidate.ledger_dump())["gate_runs"]
    res = candidate.cli("gate", "run", "checks", "--json", env={"CRVS_SANDBOX_CLIENT_SECRET": ""})
    assert res.exit_code == 2 and "targets.staging.client_secret_env" in res.stderr
    assert dict(candidate.ledger_dump())["gate_runs"] == runs_before


def test_evidence_records_x_version_and_the_deployed_images_and_the_profile_has_no_secret(candidate):
    res = candidate.cli("gate", "run", "checks", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    target = data["target"]
    assert target["version"] == "1.1.0-rc.1" and "X-Version header of GET" in target["how"]
    sha = candidate.repo.git("rev-parse", "v1.1.0-rc.1^{commit}").strip()
    assert target["images"] == {"core": "crvs-sandbox-core:1.1.0-rc.1",
                                "countryconfig": f"crvs-sandbox-farajaland:{sha[:12]}"}
    status = json.loads(candidate.cli("status", "--json").stdout)
    evidence = next(g for g in status["gates"] if g["gate"] == "checks")["evidence"]
    assert evidence["target_version"] == "1.1.0-rc.1"
    profile_ref = next(a for a in data["artifacts"] if a["kind"] == "profile")
    stored = next((candidate.path / ".release").rglob(profile_ref["path"].split("/")[-1]))
    profile = json.loads(stored.read_text())
    assert profile["client"]["secret_env"] == "CRVS_SANDBOX_CLIENT_SECRET"
    assert "release-gate-secret" not in stored.read_text() and '"test"' not in stored.read_text()


ENV_CHECK = '''import json, os, pathlib, sys
profile = json.loads(pathlib.Path(os.environ["CRVS_TARGET_FILE"]).read_text())
ok = (profile["gateway"] == os.environ["RELEASE_TARGET_GATEWAY"]
      and profile["register"] == os.environ["RELEASE_TARGET_REGISTER"] and profile["register"]
      and os.environ["RELEASE_TARGET_GATEWAY"] != os.environ["RELEASE_TARGET_REGISTER"]
      and sys.argv[2] == profile["gateway"])
out = pathlib.Path(sys.argv[1]); out.parent.mkdir(parents=True, exist_ok=True)
failure = "" if ok else '<failure message="env">wrong</failure>'
out.write_text('<testsuite tests="1"><testcase classname="env" name="test_env">' + failure + '</testcase></testsuite>')
'''


def test_a_command_gate_gets_the_profile_and_the_hosts(tmp_path):
    extra = (f'\n[gates.env]\nkind = "command"\nrun = "{sys.executable} scripts/env_check.py build/env.xml '
             '{gateway}"\njunit = "build/env.xml"\n')
    r = build_release_repo(tmp_path, base_env(tmp_path / "home"), extra_gates=extra)
    try:
        r.repo.commit(Commit("chore: an env check", files={"scripts/env_check.py": ENV_CHECK}, author=AUTHOR))
        res = r.cli("prepare", "--json")
        gates = {g["gate"]: g for g in json.loads(res.stdout)["gates"]}
        assert gates["env"]["state"] == "PASSED", gates["env"]
    finally:
        stop_all(r.run_dir)
