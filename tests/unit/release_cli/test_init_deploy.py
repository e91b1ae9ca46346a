"""`release init` turns a deploy workflow's workflow_dispatch inputs into deploy lines and [variables] that load."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from release.config import command_placeholders, default_config_text, parse_config
from release.workflow.init_detect import (
    Detection,
    Workflow,
    dispatch_inputs,
    plan_deploy,
    plan_deploys,
    render_config,
)

pytestmark = pytest.mark.unit

#: The inputs of opencrvs-farajaland's .github/workflows/deploy.yml.
FARAJALAND_DEPLOY = """\
name: Deploy (development)
on:
  workflow_dispatch:
    inputs:
      environment:
        type: choice
        required: true
        default: 'staging'
        options: [staging, qa, development]
      core-image-tag:
        required: true
        default: 'v1.8.0'
      countryconfig-image-tag:
        default: 'n/a'
        required: false
      reset:
        type: boolean
        default: false
"""


def workflow(text: str, path: str = ".github/workflows/deploy.yml") -> Workflow:
    document = yaml.safe_load(text)
    inputs = dispatch_inputs(document)
    assert inputs is not None
    return Workflow(path, str(document.get("name") or ""), inputs)


def test_yaml_on_key_is_read_as_pyyaml_parses_it():
    document = yaml.safe_load(FARAJALAND_DEPLOY)
    assert True in document and "on" not in document, "PyYAML reads the bare key `on` as True (YAML 1.1)"
    assert list(dispatch_inputs(document) or {}) == ["environment", "core-image-tag", "countryconfig-image-tag",
                                                     "reset"]
    assert dispatch_inputs({"on": {"workflow_dispatch": {"inputs": {"x": None}}}}) == {"x": {}}


@pytest.mark.parametrize("document", [None, [], {"on": "push"}, {"on": ["push", "workflow_dispatch"]},
                                      {"on": {"workflow_dispatch": None}}, {True: {"workflow_dispatch": {"inputs": {}}}}])
def test_workflows_without_dispatch_inputs_have_none(document):
    assert dispatch_inputs(document) is None


def test_farajaland_deploy_gives_the_gh_workflow_run_line_and_its_variables():
    plan = plan_deploy(workflow(FARAJALAND_DEPLOY), "staging")
    assert plan is not None
    assert plan.command == ("gh workflow run deploy.yml -f environment=staging -f core-image-tag={core_image_tag} "
                            "-f countryconfig-image-tag={countryconfig_image_tag}")
    assert [(v.name, v.env, v.value) for v in plan.variables] == [
        ("core_image_tag", "CORE_IMAGE_TAG", None), ("countryconfig_image_tag", None, "{tag}")]
    assert plan.left_default == ("reset",)
    assert plan.script_command == ("scripts/farajaland-deploy deploy.yml staging {core_image_tag} "
                                   "{countryconfig_image_tag}")


def test_a_workflow_whose_environments_do_not_include_the_target_does_not_deploy_it():
    assert plan_deploy(workflow(FARAJALAND_DEPLOY), "production") is None


def test_each_target_gets_the_workflow_that_names_it():
    prod = FARAJALAND_DEPLOY.replace("options: [staging, qa, development]", "options: [production]").replace(
        "default: 'staging'", "default: 'production'")
    e2e = FARAJALAND_DEPLOY.replace("options: [staging, qa, development]", "options: [e2e]")
    plans = plan_deploys([workflow(e2e, ".github/workflows/deploy-and-e2e.yml"),
                          workflow(prod, ".github/workflows/deploy-prod.yml"),
                          workflow(FARAJALAND_DEPLOY)])
    assert [(p.target, p.workflow) for p in plans] == [("staging", ".github/workflows/deploy.yml"),
                                                        ("production", ".github/workflows/deploy-prod.yml")]
    assert "-f environment=production" in plans[1].command


def test_without_an_environment_input_the_file_name_must_name_the_target():
    text = """\
on:
  workflow_dispatch:
    inputs:
      version:
        required: true
      dry-run:
        type: boolean
"""
    staging = plan_deploy(workflow(text, ".github/workflows/deploy-staging.yaml"), "staging")
    assert staging is not None
    assert staging.command == "gh workflow run deploy-staging.yaml -f version={input_version}"
    assert [(v.name, v.env) for v in staging.variables] == [("input_version", "INPUT_VERSION")], \
        "{version} is built in: the variable gets another name"
    assert plan_deploy(workflow(text, ".github/workflows/deploy-staging.yaml"), "production") is None


def test_github_environment_typed_input_and_literal_quoting():
    text = """\
on:
  workflow_dispatch:
    inputs:
      where:
        type: environment
        required: true
      region:
        required: true
      note:
        required: false
"""
    plan = plan_deploy(workflow(text), "staging")
    assert plan is not None
    assert plan.command == "gh workflow run deploy.yml -f where=staging -f region={region}"
    assert plan.left_default == ("note",)


def _detection(*plans_from: str) -> Detection:
    plans = plan_deploys([workflow(t, f".github/workflows/{n}.yml") for n, t in zip(("deploy", "deploy-prod"),
                                                                                      plans_from, strict=False)])
    return Detection(Path("/repo"), production_branch="master", branch="release-v{version}", deploys=plans)


def _uncomment(text: str, prefix: str) -> str:
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith(prefix))
    lines[i] = lines[i].removeprefix("# ")
    return "\n".join(lines) + "\n"


def test_rendered_config_loads_and_its_deploy_line_loads_uncommented():
    text = render_config(_detection(FARAJALAND_DEPLOY))
    raw = tomllib.loads(text)
    assert raw["release"]["production_branch"] == "master" and raw["release"]["branch"] == "release-v{version}"
    assert raw["variables"] == {"core_image_tag": {"env": "CORE_IMAGE_TAG"}, "countryconfig_image_tag": "{tag}"}
    assert "deploy" not in raw["targets"]["staging"], "a detected deploy is written commented out"
    for line in ('# deploy = "gh workflow run', '# deploy = "scripts/farajaland-deploy'):
        config = parse_config(tomllib.loads(_uncomment(text, line)), Path("release.toml"))
        used = set(command_placeholders(config.target("staging").deploy or ""))
        assert used == {"core_image_tag", "countryconfig_image_tag"} and used <= set(config.variables)


def test_a_workflow_file_name_with_a_space_is_quoted_and_survives_toml():
    text = """\
on:
  workflow_dispatch:
    inputs:
      environment:
        required: true
      image-tag:
        required: true
"""
    plan = plan_deploy(Workflow(".github/workflows/deploy me.yml", "", dispatch_inputs(yaml.safe_load(text)) or {}),
                       "staging")
    assert plan is not None and plan.command.startswith("gh workflow run 'deploy me.yml' ")
    rendered = render_config(Detection(Path("/r"), deploys=(plan,)))
    line = next(x for x in rendered.splitlines() if x.startswith('# deploy = "gh'))
    assert json.loads(line.removeprefix("# deploy = ")) == plan.command


def test_no_detection_renders_the_defaults():
    assert render_config(Detection(None)) == default_config_text()
