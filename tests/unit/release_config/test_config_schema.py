"""docs/release.schema.json: generated from the models, current, and saying what the loader says.

Editors (taplo, Even Better TOML) check release.toml with this schema. It must accept what `release init` writes
and every release.toml in the docs, and where it refuses a value it must name the same key as the CLI's error.
It is checked here both as draft 2020-12 (what it declares) and as draft 7 (what taplo's validator reads).
"""

from __future__ import annotations

import copy
import json
import re
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from release.config import default_config_text, parse_config
from release.config_models import key_path
from release.config_schema import SCHEMA_FILE, render
from release.errors import ConfigError

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
VALIDATORS = (Draft202012Validator(SCHEMA), Draft7Validator(SCHEMA))
DOC = tomllib.loads('''
[release]
tag = "v{version}"

[variables]
core_image_tag = { env = "CORE_IMAGE_TAG", default = "v2.0.0" }

[targets.staging]
gateway = "http://127.0.0.1:7070"
identity = { header = "X-Version", path = "/ping" }
client_id = "6f1c2f0e-3b7a-4c8d-9e2f-1a2b3c4d5e6f"
client_secret_env = "CRVS_STAGING_SECRET"
users.hospital_clerk = { username = "k.bwalya", password_env = "CRVS_CLERK_PASSWORD" }
users.local_registrar = [{ username = "k.mweene", password_env = "CRVS_REGISTRAR_PASSWORD" }]
locations = { health_facility = "Klow Village Hospital" }
deploy = "scripts/deploy {version} {core_image_tag}"

[gates.regression]
kind = "pytest"
paths = ["regression/"]

[gates.browser]
kind = "browser"

[gates.load]
kind = "locust"
users = 40
duration = "60s"
slo = { "event.search" = { p95_ms = 150 }, errors = 0.001 }
baseline = { against = "staging", mode = "ab" }

[gates.e2e]
kind = "command"
run = "make e2e"
junit = "out.xml"

[gates.qa]
kind = "signoff"
role = "qa-lead"

[gates.board]
kind = "approval"
role = "qa-lead"

[gates.acceptance]
kind = "criteria"
items = [{ id = "AC-1", text = "A registrar can find a record" }]

[roles]
qa-lead = ["qa@example.org"]

[report]
risk = "Low: {version}"
''')


def _with(parts: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    node: Any = doc
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    return doc


def schema_key(error: ValidationError) -> str:
    """The key a schema error names: its path, plus the key a required/additionalProperties/propertyNames names."""
    path = list(error.absolute_path)
    if error.validator == "required":
        path.append(next(k for k in error.validator_value if k not in error.instance))
    elif error.validator == "additionalProperties":
        path.append(next(k for k in error.instance if k not in error.schema.get("properties", {})))
    elif "propertyNames" in error.relative_schema_path:
        path.append(error.instance)
    return key_path(*path)


def _loader_key(doc: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(doc, Path("release.toml"))
    return info.value.key


def test_the_shipped_schema_is_what_the_models_generate():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render(), "run: python -m release.config_schema"


def test_the_schema_is_a_valid_draft_2020_12_schema_with_descriptions():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    target = SCHEMA["$defs"]["TargetTable"]["properties"]
    assert "gateway's URL" in target["gateway"]["description"]
    assert SCHEMA["$defs"]["LocustGate"]["properties"]["users"] == {
        "default": 10, "description": 'Concurrent simulated users (default 10; 20 with baseline mode = "ab").',
        "exclusiveMinimum": 0, "type": "integer"}


@pytest.mark.parametrize("validator", VALIDATORS, ids=["2020-12", "draft7"])
def test_inits_config_and_the_full_example_validate(validator):
    for text in (default_config_text(),):
        assert [e.message for e in validator.iter_errors(tomllib.loads(text))] == []
    assert [e.message for e in validator.iter_errors(DOC)] == []
    parse_config(DOC, Path("release.toml"))  # and the loader agrees


WRONG = [
    (("gates", "load", "users"), "forty"),
    (("gates", "load", "users"), 0),
    (("gates", "load", "users"), True),
    (("gates", "load", "users"), 2.5),
    (("gates", "load", "duration"), "a minute"),
    (("gates", "load", "duration"), -5),
    (("gates", "load", "slo", "event.search", "p95_ms"), "fast"),
    (("gates", "load", "slo", "event.search", "p95_ms"), 0),
    (("gates", "load", "slo", "errors"), 2),
    (("gates", "load", "slo", "event.search"), 5),
    (("gates", "load", "baseline", "mode"), "both"),
    (("gates", "load", "baseline", "confidence"), 1),
    (("gates", "load", "baseline", "min_samples"), 0),
    (("gates", "load", "workers"), -1),
    (("gates", "load", "allow_non_loopback"), "yes"),
    (("gates", "load", "kind"), "lucust"),
    (("gates", "regression", "paths"), "tests"),
    (("gates", "regression", "paths"), [""]),
    (("gates", "regression", "markers"), 3),
    (("gates", "regression", "timeout"), "soon"),
    (("gates", "browser", "chromium"), ""),
    (("gates", "e2e", "run"), ["make"]),
    (("gates", "board", "quorum"), 0),
    (("gates", "acceptance", "items"), []),
    (("gates", "acceptance", "items"), "AC-1"),
    (("gates", "acceptance", "items", 0, "text"), 7),
    (("gates", "regression"), "pytest"),
    (("roles", "qa-lead"), "qa@example.org"),
    (("roles", "qa-lead", 0), "not-an-email"),
    (("targets", "staging", "gateway"), "ftp://x"),
    (("targets", "staging", "gateway"), 7070),
    (("targets", "staging", "register"), "register.example.org"),
    (("targets", "staging", "client_id"), "release-gate"),
    (("targets", "staging", "client_secret_env"), "not a var"),
    (("targets", "staging", "client_scopes"), "record.search"),
    (("targets", "staging", "two_fa"), "yes"),
    (("targets", "staging", "version_timeout_s"), 0),
    (("targets", "staging", "identity", "path"), "ping"),
    (("targets", "staging", "identity", "timeout_s"), "10"),
    (("targets", "staging", "users", "hospital_clerk", "username"), ""),
    (("targets", "staging", "users", "local_registrar", 0, "password_env"), "not a var"),
    (("targets", "staging", "users", "local_registrar"), []),
    (("targets", "staging", "locations", "office"), 12),
    (("targets", "staging", "deploy"), ["scripts/deploy"]),
    (("variables", "core_image_tag"), 5),
    (("variables", "core_image_tag", "env"), "not a var"),
    (("release", "tag"), "release"),
    (("release", "convention"), "angular"),
    (("release", "major_on_zero"), "no"),
    (("release", "remote"), ""),
    (("report", "risk"), ""),
    (("release",), "main"),
]


@pytest.mark.parametrize(("parts", "value"), WRONG, ids=[f"{key_path(*p)}={v!r}" for p, v in WRONG])
def test_a_wrong_value_is_refused_by_the_schema_at_the_key_the_cli_names(parts, value):
    doc = _with(parts, value)
    expected = _loader_key(doc)
    for validator in VALIDATORS:
        error = best_match(validator.iter_errors(doc))
        assert error is not None, f"{type(validator).__name__} accepts {key_path(*parts)} = {value!r}"
        assert schema_key(error) == expected, error.message


UNKNOWN_OR_MISSING = [
    (("gates", "load", "usres"), 3),
    (("gates", "load", "slo", "event.search", "p95ms"), 1),
    (("gates", "qa", "quorum"), 1),
    (("targets", "staging", "url"), "http://127.0.0.1:7070"),
    (("targets", "staging", "password"), "hunter2"),
    (("targets", "staging", "users", "registrar"), {"username": "a", "password_env": "P"}),
    (("targets", "staging", "users", "hospital_clerk", "password"), "test"),
    (("targets", "staging", "locations", "hospital"), "Klow"),
    (("variables", "version"), "1"),
    (("variables", "core-image"), "1"),
    (("release", "prodution_branch"), "main"),
    (("gatess",), {}),
    (("gates", "e2e"), {"kind": "command", "junit": "out.xml"}),
    (("gates", "qa"), {"kind": "signoff"}),
    (("gates", "x"), {"markers": "not slow"}),
    (("targets", "staging", "users", "hospital_clerk"), {"username": "k.bwalya"}),
    (("gates", "bad name"), {"kind": "pytest"}),
]


@pytest.mark.parametrize(("parts", "value"), UNKNOWN_OR_MISSING,
                         ids=[f"{key_path(*p)}={v!r}" for p, v in UNKNOWN_OR_MISSING])
def test_an_unknown_or_missing_key_is_named_by_the_schema_too(parts, value):
    doc = _with(parts, value)
    expected = _loader_key(doc)
    for validator in VALIDATORS:
        error = best_match(validator.iter_errors(doc))
        assert error is not None and schema_key(error) == expected, error and error.message


#: What only the loader checks (docs/configuration.md, "Checked when release loads the file"): each passes the
#: schema and is refused at load, naming its key.
LOADER_ONLY = [
    (("gates", "regression", "target"), "prod", "gates.regression.target"),
    (("gates", "qa", "role"), "nobody", "gates.qa.role"),
    (("roles", "qa-lead"), [], "roles.qa-lead"),
    (("gates", "board", "quorum"), 2, "gates.board.quorum"),
    (("gates", "acceptance", "items"), [{"id": "A", "text": "a"}, {"id": "A", "text": "b"}],
     "gates.acceptance.items[1].id"),
    (("roles", "qa-lead"), ["qa@example.org", "QA@example.org"], "roles.qa-lead[1]"),
    (("targets", "staging", "client_secret_env"), None, "targets.staging.client_secret_env"),
    (("targets", "staging", "two_fa"), True, "targets.staging.login_code_env"),
    (("targets", "staging", "identity"), {"json": "/v", "path": "/x"}, "targets.staging.identity.path"),
    (("targets", "staging", "users", "local_registrar"),
     [{"username": "a", "password_env": "P"}, {"username": "a", "password_env": "Q"}],
     "targets.staging.users.local_registrar"),
    (("targets", "staging", "deploy"), "scripts/deploy {image}", "targets.staging.deploy"),
    (("targets", "staging", "deploy"), "scripts/deploy {version!r}", "targets.staging.deploy"),
    (("report", "risk"), "Risk of {host}", "report.risk"),
    (("report", "risk"), "{version:>999999999}", "report.risk"),
    (("release", "tag"), "v{version}-{version}", "release.tag"),
    (("release", "branch"), "release v{version}", "release.branch"),
]


@pytest.mark.parametrize(("parts", "value", "key"), LOADER_ONLY, ids=[k for _, _, k in LOADER_ONLY])
def test_rules_across_tables_pass_the_schema_and_are_refused_at_load(parts, value, key):
    doc = _with(parts, value)
    if value is None:
        node: Any = doc
        for part in parts[:-1]:
            node = node[part]
        del node[parts[-1]]
    for validator in VALIDATORS:
        assert [e.message for e in validator.iter_errors(doc)] == []
    assert _loader_key(doc) == key


def _schema_keys(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        found.update(node.get("properties", {}))
        for value in node.values():
            _schema_keys(value, found)
    elif isinstance(node, list):
        for value in node:
            _schema_keys(value, found)
    return found


def test_every_key_of_the_schema_is_in_the_configuration_reference():
    reference = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = sorted(k for k in _schema_keys(SCHEMA, set()) if f"`{k}`" not in reference)
    assert missing == []
    assert "docs/release.schema.json" in reference or "release.schema.json" in reference


FENCE = re.compile(r"^[ \t]*```toml[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)  # indented in a list item, too
RELEASE_TABLE = re.compile(r"^\s*\[(release|variables|roles|report|targets\.[^\]]+|gates\.[^\]]+)\]\s*(#.*)?$", re.M)
WHOLE_FILE = re.compile(r"^\s*\[gates\.[^\]]+\]", re.M)
#: The schema for a part of a file: every table checked, [gates] not required.
FRAGMENT_VALIDATORS = tuple(type(v)({**SCHEMA, "required": []}) for v in VALIDATORS)


def release_toml_examples() -> list[tuple[str, int, str]]:
    """(file, line, text) of every ```toml block in README.md and docs/*.md that holds release.toml tables.

    A block has them when it has a [release], [variables], [roles], [report], [targets.X] or [gates.X] table; one
    whose first line is a comment containing "fragment" is skipped (e.g. a .taplo.toml).
    """
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            block = textwrap.dedent(match.group(1))
            first = block.lstrip().splitlines()[0] if block.strip() else ""
            if first.startswith("#") and "fragment" in first.lower():
                continue
            if RELEASE_TABLE.search(block):
                found.append((path.name, text.count("\n", 0, match.start()) + 1, block))
    return found


def test_the_docs_have_release_toml_examples():
    names = [name for name, _, text in release_toml_examples() if WHOLE_FILE.search(text)]
    assert names.count("configuration.md") >= 2


@pytest.mark.parametrize(("name", "line", "text"), release_toml_examples(),
                         ids=[f"{n}:{line}" for n, line, _ in release_toml_examples()])
def test_every_release_toml_in_the_docs_validates_and_loads(name, line, text):
    """A whole file (it has gates) validates and loads; a part of one validates, minus the required [gates]."""
    data = tomllib.loads(text)
    whole = WHOLE_FILE.search(text) is not None
    for validator in VALIDATORS if whole else FRAGMENT_VALIDATORS:
        assert [f"{schema_key(e)}: {e.message}" for e in validator.iter_errors(data)] == [], f"{name}:{line}"
    if whole:
        parse_config(data, Path(name))
