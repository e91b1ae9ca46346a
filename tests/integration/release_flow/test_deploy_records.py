"""What was deployed is on the record: variables and both image tags, from prepare's staging deploy to promote's.

The repository is farajaland-shaped: [variables] core_image_tag (env var with a default) and
countryconfig_image_tag = "v{version}". Staging is a real sandbox whose deploy wrapper prints both image tags;
production is deployed by scripts/examples/farajaland-deploy, with a stand-in `gh` on PATH (an external tool),
and reports what was deployed through an identity command, as docs/targets.md advises for a country config.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from release.workflow.sandbox_deploy import stop_all
from tests.conftest import free_port
from tests.integration.release_flow.conftest import (
    ReleaseRepo,
    base_env,
    build_release_repo,
    give_all_decisions,
)
from tests.integration.release_flow.test_deploy_farajaland import RUN_URL, SCRIPT, gh_calls, gh_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIABLES = '''[variables]
core_image_tag = { env = "CORE_IMAGE_TAG", default = "v2.0.0" }
countryconfig_image_tag = "v{version}"

'''
# Deploys the sandbox, then prints the two tags it was given, as a farajaland deploy records them.
STAGING_WRAPPER = '''#!/bin/sh
set -e
scripts/deploy "$1" "$2" "$3"
echo "RELEASE_IMAGE_CORE=$4"
echo "RELEASE_IMAGE_COUNTRYCONFIG=$5"
'''
# The production identity: the version of the country config tag the (stand-in) workflow run deployed.
DEPLOYED_VERSION = '''#!/bin/sh
cat "$FAKE_GH_DEPLOYED"
'''
WAIVER = "synthetic production: no smoke account (test)"


def production_table() -> str:
    return (f'[targets.production]\ngateway = "http://127.0.0.1:{free_port()}"\n'
            'identity = { command = "scripts/deployed-version" }\n'
            'promote = "scripts/farajaland-deploy deploy-prod.yml production {core_image_tag} '
            '{countryconfig_image_tag}"\n'
            f'smoke_waiver = "{WAIVER}"\nversion_timeout_s = 30\n')


def farajaland_shaped(r: ReleaseRepo, *, variables: str = VARIABLES) -> None:
    """Rewrite release.toml (its own production target replaces any other) and add the deploy scripts, committed
    (prepare refuses a dirty tree)."""
    path = r.path / "release.toml"
    text = re.sub(r"^\[targets\.production\]\n(?:(?!\[[A-Za-z]).*\n)*", "", path.read_text(encoding="utf-8"),
                  flags=re.M).replace(
        'deploy = "scripts/deploy staging {version} {commit}"',
        'deploy = "scripts/deploy-with-images staging {version} {commit} {core_image_tag} {countryconfig_image_tag}"')
    assert "deploy-with-images" in text
    path.write_text(variables + text + "\n" + production_table(), encoding="utf-8")
    (r.path / "scripts" / "deploy-with-images").write_text(STAGING_WRAPPER, encoding="utf-8")
    (r.path / "scripts" / "deployed-version").write_text(DEPLOYED_VERSION, encoding="utf-8")
    shutil.copy2(SCRIPT, r.path / "scripts" / "farajaland-deploy")
    for name in ("deploy-with-images", "deployed-version", "farajaland-deploy"):
        os.chmod(r.path / "scripts" / name, 0o755)
        r.repo.git("add", "--chmod=+x", f"scripts/{name}")
    r.repo.git("commit", "--quiet", "-am", "chore: deploy like farajaland")


@pytest.fixture
def farajaland_repo(tmp_path):
    r = build_release_repo(tmp_path, base_env(tmp_path / "home"))
    try:
        yield r
    finally:
        stop_all(r.run_dir)


def test_prepare_and_promote_record_the_variables_and_both_image_tags(farajaland_repo, tmp_path):
    r = farajaland_repo
    farajaland_shaped(r)
    prepared = r.cli("prepare", "--json")
    assert prepared.exit_code == 0, prepared.stdout + prepared.stderr
    deploy = json.loads(prepared.stdout)["deploys"][0]
    assert deploy["target"] == "staging"
    assert deploy["variables"] == {"core_image_tag": "v2.0.0", "countryconfig_image_tag": "v1.1.0-rc.1"}
    assert deploy["images"] == {"core": "v2.0.0", "countryconfig": "v1.1.0-rc.1"}
    assert deploy["command"][-2:] == ["v2.0.0", "v1.1.0-rc.1"]

    from release.workflow.context import open_context

    book = open_context(r.path, environ=r.env).ledger
    deployed = [e.payload for e in book.audit_events() if e.action == "candidate.deployed"]
    assert deployed[-1]["variables"] == deploy["variables"] and deployed[-1]["images"] == deploy["images"]
    status = json.loads(r.cli("status", "1.1.0", "--json").stdout)
    checks = next(g for g in status["gates"] if g["gate"] == "checks")
    assert checks["evidence"]["target_identity"]["images"] == {"core": "v2.0.0", "countryconfig": "v1.1.0-rc.1"}

    give_all_decisions(r)
    env = gh_env(tmp_path, CORE_IMAGE_TAG="v2.0.1", FAKE_GH_DEPLOYED=str(tmp_path / "deployed"))
    env["PATH"] = env["PATH"] + os.pathsep + r.env["PATH"]
    promoted = r.cli("promote", "1.1.0", env=env)
    assert promoted.exit_code == 0, promoted.stdout + promoted.stderr
    assert ("deploy: done (images: core=v2.0.1, countryconfig=v1.1.0; "
            "variables: core_image_tag=v2.0.1, countryconfig_image_tag=v1.1.0)") in promoted.stdout
    assert gh_calls(env) == [
        ["workflow", "run", "deploy-prod.yml", "-f", "environment=production", "-f", "core-image-tag=v2.0.1",
         "-f", "countryconfig-image-tag=v1.1.0"],
        ["run", "watch", RUN_URL.rsplit("/", 1)[1], "--exit-status"],
    ]
    book = open_context(r.path, environ=r.env).ledger
    step = {s.step: s.detail for s in book.steps("1.1.0")}["deploy"]
    assert step["argv"] == ["scripts/farajaland-deploy", "deploy-prod.yml", "production", "v2.0.1", "v1.1.0"]
    assert step["variables"] == {"core_image_tag": "v2.0.1", "countryconfig_image_tag": "v1.1.0"}
    assert step["images"] == {"core": "v2.0.1", "countryconfig": "v1.1.0"}
    assert step["reported"]["version"] == "1.1.0"
    event = next(e.payload for e in book.audit_events() if e.action == "release.promoted")
    assert event["deploy"]["images"] == step["images"] and event["smoke"] == {"waived": WAIVER}


def test_prepare_with_an_unset_variable_exits_2_before_it_cuts_anything(farajaland_repo):
    r = farajaland_repo
    farajaland_shaped(r, variables=VARIABLES.replace(', default = "v2.0.0"', ""))
    refs = r.refs()
    res = r.cli("prepare")
    assert res.exit_code == 2, res.stdout + res.stderr
    assert "variables.core_image_tag" in res.stderr and "CORE_IMAGE_TAG" in res.stderr
    assert r.refs() == refs  # no release branch, no rc tag
    ledger_rows = r.ledger_dump() if (r.path / ".release" / "ledger.db").exists() else []
    assert not dict(ledger_rows).get("releases")
