"""The pydantic models behind release.toml: what the hand-written validator did, plus the holes it had.

Deeply nested TOML and report texts with conversions or format specs are refused at load with a ConfigError
naming the key, instead of a RecursionError, a crash at render time, or a gigabyte of padding.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from release.config import ReportSettings, load_config, parse_config
from release.config_models import key_path
from release.errors import ConfigError
from tests.unit.release_config.test_release_config import BASE, DESIGN_EXAMPLE

pytestmark = pytest.mark.unit


def _refused(doc: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(doc, Path("release.toml"))
    return info.value


def _with(parts: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    node = doc
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return doc


@pytest.mark.parametrize(("nested", "key"), [
    ("[gates.deep]\nkind = \"pytest\"\nargs = " + "[" * 500 + "]" * 500, "(syntax)"),
    ("[gates.deep]\nkind = \"pytest\"\nargs = " + "{a = " * 500 + "1" + "}" * 500, "(syntax)"),
    ("[" + ".".join(["gates", "deep"] + ["a"] * 500) + "]\nkind = \"pytest\"", "gates.deep.kind"),
    ("[" + ".".join(["targets", "staging"] + ["x"] * 500) + "]", "targets.staging.x"),
], ids=["arrays", "inline-tables", "dotted-gate", "dotted-target"])
def test_500_levels_of_nesting_is_a_config_error_not_a_recursion_error(tmp_path, nested, key):
    path = tmp_path / "release.toml"
    path.write_text(f"{DESIGN_EXAMPLE}\n{nested}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (info.value.key, info.value.exit_code) == (key, 2)
    assert info.value.path.endswith("release.toml")


def test_a_deeply_nested_document_handed_to_parse_config_is_a_config_error():
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(2000):
        node["a"] = {}
        node = node["a"]
    error = _refused(_with(("gates", "regression", "args"), [deep]))
    assert error.key == "gates.regression.args[0]"


@pytest.mark.parametrize("text", [
    "{version!x}",            # a conversion: ValueError at render time before
    "{version!r}",
    "{version:>999999999}",   # a format spec: a gigabyte of padding before
    "{version:x}",
    "{version[0]}",           # item and attribute access reach into the value
    "{version.__class__}",
    "{0}",
    "{}",
    "risk {",
    "risk }",
])
def test_report_texts_take_bare_placeholders_only(text):
    error = _refused(_with(("report", "risk"), text))
    assert error.key == "report.risk"
    assert "placeholder" in error.expected


def test_a_report_text_with_literal_braces_and_known_placeholders_loads_and_renders():
    config = parse_config(_with(("report", "impact"), "{{braces}} {version} over {previous_version}, {tag}"),
                          Path("release.toml"))
    text = config.report.render("impact", version="1.2.0", previous_version=None, tag="v1.2.0", commit="abc")
    assert text == "{braces} 1.2.0 over (none), v1.2.0"
    assert ReportSettings().risk == config.report.risk  # defaults kept


#: config_hash of each gate of the design example as the hand-written validator computed it: the ledger compares
#: a gate's recorded hash with the current one, so moving to pydantic must not change a single one.
RECORDED_HASHES = {
    "regression": "562ec75e467a2d8cd12981d651fe9d517f6a396bd86d0e8a18bd35fa74edb314",
    "load": "83905bb5005692ee8c713097412d614f798c0c2696f88f13ec6172d0cd71420b",
    "qa": "7c5b8d53aca2eaf61bb1e759462c35e73bddcdae20d24faac45123436425153c",
    "change-board": "9768ecf41ea169f4e614315aa6701e5eef71c8411b4880a5ebb24a30c6feb292",
    "acceptance": "ed37a779fb62ee106155077c27d500d0a3732ab101f41441f198eb1afbb48787",
}


def test_gate_hashes_are_the_ones_recorded_before_the_models():
    config = parse_config(tomllib.loads(DESIGN_EXAMPLE), Path("release.toml"))
    assert {name: gate.config_hash() for name, gate in config.gates.items()} == RECORDED_HASHES
    load = config.gates["load"]
    assert load.options["spawn_rate"] == 40.0 and isinstance(load.options["slo"]["event.search"]["p95_ms"], float)


def test_options_hold_validated_values_with_durations_in_seconds():
    doc = _with(("gates", "load", "timeout"), "2m")
    doc["gates"]["load"].update(duration=90, workers=2, spawn_rate=5)
    doc["gates"]["regression"].update(paths=["regression/"], args=["-x"], timeout="500ms")
    config = parse_config(doc, Path("release.toml"))
    load, regression = config.gates["load"].options, config.gates["regression"].options
    assert (load["timeout"], load["duration"], load["workers"], load["spawn_rate"]) == (120.0, 90.0, 2, 5.0)
    assert load["baseline"] == {"against": "production", "max_slowdown": 0.1, "confidence": 0.95,
                                "mode": "evidence", "min_samples": 30}
    assert (regression["paths"], regression["args"], regression["timeout"]) == (("regression/",), ("-x",), 0.5)
    assert "target" not in regression and config.gates["qa"].options == {"role": "qa-lead"}


@pytest.mark.parametrize(("parts", "value", "key", "expected"), [
    (("variables", "version"), "1", "variables.version", "{version} is built in"),
    (("variables", "core-image"), "1", "variables.core-image", "letters, digits and '_'"),
    (("variables", "image"), 5, "variables.image", "expected a table"),
    (("variables", "image"), {"default": "x"}, "variables.image.env", "env var that holds the value"),
    (("variables", "image"), {"env": "IMAGE", "secret": "x"}, "variables.image.secret", "literal secrets"),
    (("variables", "image"), "{core}-{version}", "variables.image", "only the built-ins"),
    (("variables", "image"), {"env": "IMAGE", "default": "v{nope}"}, "variables.image.default",
     "only the built-ins"),
    (("variables", "image"), "{version!r}", "variables.image", "a bare {name}"),
    (("targets", "staging", "deploy"), "scripts/deploy {image}", "targets.staging.deploy",
     "unknown placeholder {image}"),
    (("targets", "staging", "deploy"), "scripts/deploy {tag:>9}", "targets.staging.deploy", "a bare {name}"),
    (("targets", "staging", "promote"), "scripts/deploy {versoin}", "targets.staging.promote",
     "did you mean 'version'"),
    (("targets", "staging", "smoke_waiver"), "", "targets.staging.smoke_waiver", "non-empty string"),
    (("targets", "staging", "identity"), {"json": "countryconfig/v"}, "targets.staging.identity.json", "URL"),
    (("targets", "staging", "identity"), {"command": "c", "timeout_s": float("inf")},
     "targets.staging.identity.timeout_s", "positive number of seconds"),
    (("targets", "bad name"), {"gateway": "http://127.0.0.1:1"}, 'targets."bad name"', "a name of letters"),
    (("gates", "regression", "args"), ["-x", " "], "gates.regression.args[1]", "list of non-empty strings"),
    (("gates", "load", "duration"), float("inf"), "gates.load.duration", "positive duration"),
    (("gates", "load", "slo", "event.search"), {}, 'gates.load.slo."event.search"', "at least one of"),
    (("gates", "load", "slo", "event.search"), 150, 'gates.load.slo."event.search"', "table of limits"),
    (("gates", "regression", "kind"), 3, "gates.regression.kind", "expected one of pytest"),
    (("gates", "regression"), "pytest", "gates.regression", "expected a table"),
    (("release",), "main", "release", "expected a table"),
    (("release", "major_on_zero"), 1, "release.major_on_zero", "true or false"),
    (("release", "production_branch"), "prod..x", "release.production_branch", "valid git ref name"),
    (("roles", "qa-lead"), ["qa@example.org", "QA@example.org"], "roles.qa-lead[1]", "listed twice"),
    (("roles", "qa-lead"), [], "roles.qa-lead", "at least one person (gate 'qa' needs this role)"),
])
def test_more_bad_values_name_their_key(parts, value, key, expected):
    error = _refused(_with(parts, value))
    assert (error.key, expected in error.expected) == (key, True), error.expected


def test_key_paths_are_written_the_way_toml_would():
    assert key_path("gates", "load", "slo", "event.search", "p95_ms") == 'gates.load.slo."event.search".p95_ms'
    assert key_path("targets", "qa", "users", "local_registrar", 1, "password_env") == \
        "targets.qa.users.local_registrar[1].password_env"
    assert key_path("roles", "change-board", 0) == "roles.change-board[0]"
    assert key_path("gates", 'say "hi"') == 'gates."say \\"hi\\""'


def test_declared_variables_load_with_built_ins_in_their_values():
    doc = _with(("variables",), {"countryconfig_image_tag": "v{version}", "empty": "",
                                 "core_image_tag": {"env": "CORE_IMAGE_TAG", "default": "v2.0.0"}})
    doc["targets"]["staging"]["deploy"] = "scripts/deploy {core_image_tag} {countryconfig_image_tag} {{raw}}"
    variables = parse_config(doc, Path("release.toml")).variables
    assert variables["countryconfig_image_tag"].resolve({}) == "v{version}"
    assert variables["core_image_tag"].resolve({}) == "v2.0.0"
    assert variables["core_image_tag"].resolve({"CORE_IMAGE_TAG": "v2.0.1"}) == "v2.0.1"
    assert variables["empty"].value == ""
