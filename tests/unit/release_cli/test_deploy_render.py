"""Deploy and promote commands: built-ins and declared variables filled per argv word, no shell, refused early."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from release.config import Config, Variable, load_config, parse_config
from release.errors import ConfigError, UsageError
from release.workflow.deploy import (
    command_argv,
    is_manual,
    render_command,
    require_command_variables,
    target_command,
)
from release.workflow.sandbox_deploy import SandboxPorts, sandbox_target_toml

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[3]
SHA = "0123456789abcdef0123456789abcdef01234567"
BUILT_INS: dict[str, Any] = {"version": "1.2.0-rc.1", "commit": SHA, "tag": "v1.2.0-rc.1"}
FARAJALAND_VARIABLES = {
    "core_image_tag": Variable("core_image_tag", env="CORE_IMAGE_TAG", default="v2.0.0"),
    "countryconfig_image_tag": Variable("countryconfig_image_tag", value="v{version}"),
}


def render(template: str, environ: dict[str, str] | None = None, **variables: Variable):
    return render_command(template, **BUILT_INS, target="staging", variables=variables or FARAJALAND_VARIABLES,
                          environ=environ or {}, where="targets.staging.deploy")


def config(text: str) -> Config:
    return parse_config(tomllib.loads(text), Path("release.toml"))


def test_built_ins_are_filled_in_each_word():
    argv = command_argv("scripts/deploy {target} {version} {commit} --tag={tag}", **BUILT_INS, target="staging")
    assert argv == ("scripts/deploy", "staging", "1.2.0-rc.1", SHA, "--tag=v1.2.0-rc.1")


def test_a_literal_variable_may_use_the_built_ins_and_an_env_variable_falls_back_to_its_default():
    rendered = render("deploy -f core-image-tag={core_image_tag} -f countryconfig-image-tag={countryconfig_image_tag}")
    assert rendered.argv == ("deploy", "-f", "core-image-tag=v2.0.0", "-f", "countryconfig-image-tag=v1.2.0-rc.1")
    assert rendered.variables == {"core_image_tag": "v2.0.0", "countryconfig_image_tag": "v1.2.0-rc.1"}
    assert rendered.describe_variables() == "core_image_tag=v2.0.0, countryconfig_image_tag=v1.2.0-rc.1"


def test_an_env_variable_wins_over_its_default_and_is_used_as_it_is():
    rendered = render("deploy {core_image_tag}", {"CORE_IMAGE_TAG": "v2.0.1-{tag}"})
    assert rendered.argv == ("deploy", "v2.0.1-{tag}")  # an env var's value is data, never a template
    assert render("deploy {core_image_tag}", {"CORE_IMAGE_TAG": ""}).argv == ("deploy", "v2.0.0")  # empty = unset


def test_only_the_variables_a_command_uses_are_recorded():
    rendered = render("deploy {version}")
    assert rendered.variables == {}


def test_an_unset_env_variable_without_a_default_names_the_variable_and_the_env_var():
    with pytest.raises(ConfigError) as err:
        render("deploy {core_image_tag}", core_image_tag=Variable("core_image_tag", env="CORE_IMAGE_TAG"))
    assert err.value.exit_code == 2
    assert err.value.key == "variables.core_image_tag"
    assert "CORE_IMAGE_TAG" in str(err.value) and "targets.staging.deploy" in str(err.value)


def test_an_unused_unset_variable_is_not_an_error():
    rendered = render("deploy {version}", core_image_tag=Variable("core_image_tag", env="CORE_IMAGE_TAG"))
    assert rendered.argv == ("deploy", "1.2.0-rc.1")


def test_a_variable_value_may_not_use_another_variable():
    with pytest.raises(ConfigError, match=r"variables\.b: a variable's value may use only the built-ins"):
        render("deploy {b}", a=Variable("a", value="x"), b=Variable("b", value="{a}-y"))


def test_a_default_may_use_the_built_ins_too():
    rendered = render("deploy {img}", img=Variable("img", env="IMG", default="v{version}"))
    assert rendered.argv == ("deploy", "v1.2.0-rc.1")


def test_double_braces_are_literal_braces():
    assert render("echo {{version}} {{{version}}}").argv == ("echo", "{version}", "{1.2.0-rc.1}")
    assert render("x {img}", img=Variable("img", value="{{v}}")).argv == ("x", "{v}")


def test_no_shell_a_value_with_spaces_or_shell_syntax_stays_one_word():
    rendered = render("deploy {note}", note=Variable("note", value="a b; rm -rf / && $(id)"))
    assert rendered.argv == ("deploy", "a b; rm -rf / && $(id)")
    assert render("deploy 'two words' {version}").argv == ("deploy", "two words", "1.2.0-rc.1")


def test_an_undeclared_placeholder_is_refused_not_passed_through():
    with pytest.raises(ConfigError, match=r"unknown placeholder \{core_tag\}"):
        render("deploy {core_tag}")
    with pytest.raises(ConfigError, match="bare"):
        render("deploy {version!r}")


def test_an_empty_or_unparsable_template_is_a_usage_error():
    with pytest.raises(UsageError):
        render("   ")
    with pytest.raises(UsageError):
        render("deploy 'unclosed")


def test_the_lenient_mode_of_gate_commands_keeps_other_braces():
    argv = command_argv("sh -c 'jq {a} {version}' {{x}}", **BUILT_INS, strict=False)
    assert argv == ("sh", "-c", "jq {a} 1.2.0-rc.1", "{{x}}")
    assert command_argv("run {target}", **BUILT_INS, strict=False) == ("run", "{target}")  # not given: kept


def test_manual_is_recognised_exactly():
    assert is_manual("manual") and not is_manual("scripts/manual") and not is_manual(None)


TOML = '''
[variables]
core_image_tag = { env = "CORE_IMAGE_TAG" }
leaky = { env = "CRVS_STAGING_CLIENT_SECRET" }

[targets.staging]
gateway = "http://127.0.0.1:7070"
client_id = "4b3e5c7a-8d2f-4a1b-9c6e-0f5d7a2b8c91"
client_secret_env = "CRVS_STAGING_CLIENT_SECRET"
deploy = "scripts/deploy {target} {core_image_tag}"

[targets.production]
gateway = "http://127.0.0.1:7071"
promote = "scripts/deploy {target} {leaky}"

[gates.regression]
kind = "pytest"
'''


def test_target_command_renders_with_the_targets_name_and_file():
    cfg = config(TOML)
    rendered = target_command(cfg, cfg.targets["staging"], "deploy", **BUILT_INS, environ={"CORE_IMAGE_TAG": "v2"})
    assert rendered.argv == ("scripts/deploy", "staging", "v2")


def test_a_variable_that_reads_a_targets_secret_is_refused():
    cfg = config(TOML)
    with pytest.raises(ConfigError) as err:
        target_command(cfg, cfg.targets["production"], "promote", **BUILT_INS,
                       environ={"CRVS_STAGING_CLIENT_SECRET": "s3cret"})
    assert err.value.key == "variables.leaky.env"
    assert "s3cret" not in str(err.value) and "targets.staging.client_secret_env" in str(err.value)


def test_require_command_variables_fails_before_anything_runs():
    cfg = config(TOML)
    with pytest.raises(ConfigError, match="CORE_IMAGE_TAG"):
        require_command_variables(cfg, [cfg.targets["staging"]], environ={})
    require_command_variables(cfg, [cfg.targets["staging"]], environ={"CORE_IMAGE_TAG": "v2"})


def toml_blocks(markdown: str) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", markdown, flags=re.S)


def test_the_documented_farajaland_example_loads_and_renders_the_workflow_inputs(tmp_path):
    blocks = toml_blocks((REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8"))
    assert len(blocks) == 2
    for i, block in enumerate(blocks):  # every example is a release.toml that loads
        (tmp_path / f"{i}.toml").write_text(block, encoding="utf-8")
        load_config(tmp_path / f"{i}.toml")
    cfg = load_config(tmp_path / "0.toml")
    staging = target_command(cfg, cfg.targets["staging"], "deploy", **BUILT_INS, environ={})
    assert staging.argv == ("scripts/farajaland-deploy", "deploy.yml", "staging", "v2.0.0", "v1.2.0-rc.1")
    production = target_command(cfg, cfg.targets["production"], "promote", version="1.2.0", commit=SHA,
                                 tag="v1.2.0", environ={"CORE_IMAGE_TAG": "v2.0.1"})
    assert production.argv == ("scripts/farajaland-deploy", "deploy-prod.yml", "production", "v2.0.1", "v1.2.0")
    assert production.variables == {"core_image_tag": "v2.0.1", "countryconfig_image_tag": "v1.2.0"}
    manual = load_config(tmp_path / "1.toml").targets["production"]
    assert is_manual(manual.deploy)


def test_the_sandbox_demo_config_still_loads_and_renders():
    ports = SandboxPorts(7070, 7071, 7072)
    text = sandbox_target_toml("staging", ports, deploy="scripts/deploy staging {version} {commit}")
    cfg = config(text + '\n[gates.regression]\nkind = "pytest"\n')
    rendered = target_command(cfg, cfg.targets["staging"], "deploy", **BUILT_INS, environ={})
    assert rendered.argv == ("scripts/deploy", "staging", "1.2.0-rc.1", SHA)


def test_the_demo_release_toml_loads_and_its_deploys_use_only_built_ins():
    from release.workflow.demo import demo_config

    cfg = config(demo_config(SandboxPorts(7070, 7071, 7072), SandboxPorts(7080, 7081, 7082)))
    for name in ("production", "staging"):
        rendered = target_command(cfg, cfg.targets[name], "deploy", **BUILT_INS, environ={})
        assert rendered.argv == ("scripts/deploy", name, "1.2.0-rc.1", SHA) and rendered.variables == {}


def test_promote_prints_what_each_deploy_step_recorded():
    from release.cli.promote import step_note
    from release.workflow.deploy import MANUAL_NOTE

    deployed = {"step": "deploy", "images": {"core": "v2.0.1", "countryconfig": "v1.2.0"},
                "variables": {"core_image_tag": "v2.0.1"}}
    assert step_note(deployed) == " (images: core=v2.0.1, countryconfig=v1.2.0; variables: core_image_tag=v2.0.1)"
    assert step_note({"step": "deploy", "manual": MANUAL_NOTE}) == f" ({MANUAL_NOTE})"
    assert step_note({"step": "smoke", "waived": "no account"}) == " (waived: no account)"
    assert step_note({"step": "tag", "tag": "v1.2.0"}) == ""
