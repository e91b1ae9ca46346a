"""scripts/examples/farajaland-deploy: the gh calls it makes, and what it prints for the deploy record.

`gh` is an external tool, so a stand-in `gh` on PATH records its arguments and answers as gh 2.87+ does when
stdout is not a terminal (`gh workflow run` prints the created run's URL; `gh run watch --exit-status` exits with
the run's outcome). The script itself, the rendering of the documented release.toml and run_command are real.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from release.config import parse_config
from release.workflow.deploy import run_command, target_command
from release.workflow.target import parse_image_record
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

SCRIPT = REPO_ROOT / "scripts" / "examples" / "farajaland-deploy"
RUN_URL = "https://github.com/example/opencrvs-farajaland/actions/runs/4242"

# A stand-in for the GitHub CLI: appends its argv as one JSON line to $FAKE_GH_LOG. `workflow run` prints the run
# URL (unless FAKE_GH_NO_URL is set) and remembers the country config tag; `run watch` exits FAKE_GH_WATCH_EXIT and,
# on success, "deploys": it writes the version that tag carries to $FAKE_GH_DEPLOYED, where an identity command
# can read it, as a real deployment would then report it.
FAKE_GH = '''#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
state = os.environ["FAKE_GH_LOG"] + ".tag"
if args[:2] == ["workflow", "run"]:
    tag = [a.split("=", 1)[1] for a in args if a.startswith("countryconfig-image-tag=")]
    open(state, "w").write(tag[0] if tag else "")
    if not os.environ.get("FAKE_GH_NO_URL"):
        print("{url}")
    sys.exit(0)
if args[:2] == ["run", "watch"]:
    code = int(os.environ.get("FAKE_GH_WATCH_EXIT", "0"))
    if code == 0 and os.environ.get("FAKE_GH_DEPLOYED"):
        open(os.environ["FAKE_GH_DEPLOYED"], "w").write(open(state).read().lstrip("v") + "\\n")
    print("run 4242 completed" if code == 0 else "run 4242 failed")
    sys.exit(code)
print("unexpected gh call", args, file=sys.stderr)
sys.exit(3)
'''


def install_fake_gh(folder: Path) -> Path:
    """Write the stand-in gh into folder/bin; returns that bin folder (to put first on PATH)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable, url=RUN_URL), encoding="utf-8")
    gh.chmod(0o755)
    return bin_dir


def gh_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": f"{install_fake_gh(tmp_path)}{os.pathsep}{os.environ.get('PATH', '')}",
           "FAKE_GH_LOG": str(tmp_path / "gh-calls.jsonl")}
    env.update(extra)
    return env


def gh_calls(env: dict[str, str]) -> list[list[str]]:
    path = Path(env["FAKE_GH_LOG"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_script(tmp_path: Path, *args: str, **extra: str):
    env = gh_env(tmp_path, **extra)
    return run_command((str(SCRIPT), *args), tmp_path, timeout_s=60, env=env), env


def test_it_dispatches_deploy_yml_with_farajalands_inputs_then_watches_that_run(tmp_path):
    result, env = run_script(tmp_path, "deploy.yml", "staging", "v2.0.0", "v1.2.0-rc.1")
    assert result.exit_code == 0, result.output_tail
    assert gh_calls(env) == [
        ["workflow", "run", "deploy.yml", "-f", "environment=staging", "-f", "core-image-tag=v2.0.0",
         "-f", "countryconfig-image-tag=v1.2.0-rc.1"],
        ["run", "watch", "4242", "--exit-status"],
    ]
    assert parse_image_record(result.output) == {"core": "v2.0.0", "countryconfig": "v1.2.0-rc.1"}


def test_a_failed_run_fails_the_deploy_and_records_no_images(tmp_path):
    result, env = run_script(tmp_path, "deploy.yml", "staging", "v2.0.0", "v1.2.0-rc.1", FAKE_GH_WATCH_EXIT="1")
    assert result.exit_code == 1
    assert [call[:2] for call in gh_calls(env)] == [["workflow", "run"], ["run", "watch"]]
    assert parse_image_record(result.output) == {}


def test_without_the_run_url_it_refuses_to_guess_which_run_to_watch(tmp_path):
    result, env = run_script(tmp_path, "deploy.yml", "staging", "v2.0.0", "v1.2.0-rc.1", FAKE_GH_NO_URL="1")
    assert result.exit_code == 1
    assert "not guessing which run" in result.output_tail
    assert [call[:2] for call in gh_calls(env)] == [["workflow", "run"]]  # no `gh run watch` of some other run
    assert parse_image_record(result.output) == {}


@pytest.mark.parametrize("args", [("deploy.yml", "staging", "v2.0.0"), ("deploy.yml", "staging", "", "v1.2.0")])
def test_missing_or_empty_arguments_are_refused_before_gh_runs(tmp_path, args):
    result, env = run_script(tmp_path, *args)
    assert result.exit_code == 64
    assert "usage: farajaland-deploy" in result.output_tail
    assert gh_calls(env) == []


def test_the_documented_release_toml_drives_the_script_and_the_images_are_parsed(tmp_path):
    """The doc's staging deploy, rendered and run from a repository that holds the copied script."""
    doc = (REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    example = re.findall(r"```toml\n(.*?)```", doc, flags=re.S)[0]
    cfg = parse_config(tomllib.loads(example), tmp_path / "release.toml")
    repo = tmp_path / "country-config"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(SCRIPT, repo / "scripts" / "farajaland-deploy")
    env = gh_env(tmp_path, CORE_IMAGE_TAG="v2.0.1")
    command = target_command(cfg, cfg.targets["staging"], "deploy", version="1.2.0-rc.1", commit="a" * 40,
                             tag="v1.2.0-rc.1", environ=env)
    result = run_command(command.argv, repo, timeout_s=60, env=env)
    assert result.exit_code == 0, result.output_tail
    assert gh_calls(env)[0] == ["workflow", "run", "deploy.yml", "-f", "environment=staging",
                                "-f", "core-image-tag=v2.0.1", "-f", "countryconfig-image-tag=v1.2.0-rc.1"]
    assert command.variables == {"core_image_tag": "v2.0.1", "countryconfig_image_tag": "v1.2.0-rc.1"}
    assert parse_image_record(result.output) == {"core": "v2.0.1", "countryconfig": "v1.2.0-rc.1"}
