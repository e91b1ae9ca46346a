"""release.toml validation: the design example loads, and each bad value names its exact key path."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from release.config import default_config_text, find_config, load_config, parse_config
from release.errors import ConfigError

pytestmark = pytest.mark.unit

DESIGN_EXAMPLE = '''
[release]
production_branch = "production"      # moved (fast-forward only) on promote
branch = "release/v{version}"
tag = "v{version}"
convention = "conventional"           # Conventional Commits drive --bump auto

[targets.staging]                     # a deployment: three hosts, an identity probe, users by role
gateway = "http://127.0.0.1:7070"     # tRPC /events, /auth, /upload
register = "http://127.0.0.1:7071"    # REST /api/events (optional)
identity = { header = "X-Version", path = "/ping" }
client_id = "6f1c2f0e-3b7a-4c8d-9e2f-1a2b3c4d5e6f"   # a system client (UUID); secrets come from env vars:
client_secret_env = "CRVS_STAGING_SECRET"
users = { local_registrar = { username = "k.mweene", password_env = "CRVS_REGISTRAR_PASSWORD" } }
deploy = "scripts/deploy-staging {version} {commit}"   # optional; only declared variables

[gates.regression]
kind = "pytest"
markers = "not slow"

[gates.load]
kind = "locust"
users = 40
duration = "60s"
slo = { "event.search" = { p95_ms = 150 }, "event.actions.register.request" = { p95_ms = 300 }, errors = 0.001 }
baseline = { against = "production", max_slowdown = 0.10, confidence = 0.95 }

[gates.qa]
kind = "signoff"
role = "qa-lead"

[gates.change-board]
kind = "approval"
role = "change-board"
quorum = 2

[gates.acceptance]
kind = "criteria"
items = [{ id = "AC-1", text = "A registrar can find a record by registration number", verify = "regression/test_search.py::test_by_registration_number" }]

[roles]
qa-lead = ["qa@example.org"]
change-board = ["chair@example.org", "ops@example.org", "registrar-general@example.org"]
'''
BASE = tomllib.loads(DESIGN_EXAMPLE)
DELETE = object()


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "release.toml"
    path.write_text(tomli_w.dumps(doc))
    return path


def _mutated(path_parts: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    node = doc
    for part in path_parts[:-1]:
        node = node.setdefault(part, {})
    if value is DELETE:
        del node[path_parts[-1]]
    else:
        node[path_parts[-1]] = value
    return doc


def test_design_example_loads(tmp_path):
    path = tmp_path / "release.toml"
    path.write_text(DESIGN_EXAMPLE)
    config = load_config(path)
    assert config.release.production_branch == "production" and config.release.remote is None
    assert list(config.gates) == ["regression", "load", "qa", "change-board", "acceptance"]
    staging = config.targets["staging"]
    assert staging.gateway == "http://127.0.0.1:7070" and staging.register == "http://127.0.0.1:7071"
    assert staging.client_secret_env == "CRVS_STAGING_SECRET" and staging.identity.kind == "header"
    assert staging.users["local_registrar"][0].username == "k.mweene"
    assert staging.client_secret({"CRVS_STAGING_SECRET": "s3"}) == "s3"
    assert staging.client_secret({}) is None
    load = config.gates["load"]
    assert load.kind == "locust" and load.automated and load.target == "staging"
    assert load.options["duration"] == 60.0 and load.options["users"] == 40
    assert load.options["slo"]["event.search"]["p95_ms"] == 150
    assert load.options["slo"]["errors"] == 0.001
    assert load.options["baseline"]["mode"] == "evidence"
    board = config.gates["change-board"]
    assert (board.role, board.quorum, board.automated) == ("change-board", 2, False)
    assert config.gates["acceptance"].items[0].verify.endswith("test_by_registration_number")
    assert config.roles["qa-lead"] == ("qa@example.org",)
    assert "{previous_version}" in config.report.backout_plan
    with pytest.raises(TypeError):
        load.options["users"] = 1  # read-only


@pytest.mark.parametrize(("gate_text", "users", "duration"), [
    ('baseline = { against = "production", mode = "ab" }', 20, 120.0),  # an A/B gate's own defaults
    ('users = 8\nduration = "30s"\nbaseline = { against = "production", mode = "ab" }', 8, 30.0),  # as written
    ('baseline = { against = "production" }', 10, 60.0),  # evidence mode keeps the plain defaults
    ("", 10, 60.0),
])
def test_an_ab_load_gate_defaults_to_20_users_for_120_s(gate_text: str, users: int, duration: float) -> None:
    start = DESIGN_EXAMPLE.index("[gates.load]")
    end = DESIGN_EXAMPLE.index("[gates.qa]", start)
    text = DESIGN_EXAMPLE[:start] + f'[gates.load]\nkind = "locust"\n{gate_text}\n\n' + DESIGN_EXAMPLE[end:]
    load = parse_config(tomllib.loads(text), Path("release.toml")).gates["load"]
    assert (load.options["users"], load.options["duration"], load.options["spawn_rate"]) == (users, duration,
                                                                                            float(users))


def test_init_template_loads_cleanly():
    config = parse_config(tomllib.loads(default_config_text()), Path("release.toml"))
    assert {"regression", "load", "qa", "change-board", "acceptance"} <= set(config.gates)


def test_config_hash_changes_with_any_option(tmp_path):
    before = load_config(_write(tmp_path, BASE)).gates["load"]
    same = load_config(_write(tmp_path, copy.deepcopy(BASE))).gates["load"]
    changed = load_config(_write(tmp_path, _mutated(("gates", "load", "users"), 41))).gates["load"]
    slo = load_config(_write(tmp_path, _mutated(("gates", "load", "slo", "event.search"), {"p95_ms": 151})))
    assert before.config_hash() == same.config_hash()
    assert len({before.config_hash(), changed.config_hash(), slo.gates["load"].config_hash()}) == 3
    assert before.config_hash() != load_config(_write(tmp_path, BASE)).gates["regression"].config_hash()


@pytest.mark.parametrize(
    ("parts", "value", "key", "expected"),
    [
        (("gates", "load", "users"), 0, "gates.load.users", "expected a positive integer"),
        (("gates", "load", "users"), "forty", "gates.load.users", "expected a positive integer"),
        (("gates", "load", "duration"), "a minute", "gates.load.duration", "positive duration"),
        (("gates", "load", "slo", "event.search"), {"p95_ms": -1},
         'gates.load.slo."event.search".p95_ms', "positive number of milliseconds"),
        (("gates", "load", "slo", "event.search"), {"p95ms": 1},
         'gates.load.slo."event.search".p95ms', "did you mean 'p95_ms'"),
        (("gates", "load", "slo", "errors"), 2, "gates.load.slo.errors", "fraction between 0 and 1"),
        (("gates", "load", "baseline", "max_slowdown"), 1.5, "gates.load.baseline.max_slowdown", "fraction"),
        (("gates", "load", "baseline", "confidence"), 1, "gates.load.baseline.confidence", "between 0 and 1"),
        (("gates", "load", "baseline", "mode"), "both", "gates.load.baseline.mode", '"ab" or "evidence"'),
        (("gates", "load", "usres"), 3, "gates.load.usres", "did you mean 'users'"),
        (("gates", "load", "allow_non_loopback"), "yes", "gates.load.allow_non_loopback", "true or false"),
        (("gates", "load", "kind"), "lucust", "gates.load.kind", "did you mean 'locust'"),
        (("gates", "regression", "target"), "prod", "gates.regression.target", "[targets]"),
        (("gates", "regression", "paths"), "tests", "gates.regression.paths", "list of non-empty strings"),
        (("gates", "e2e"), {"kind": "command", "junit": "out.xml"}, "gates.e2e.run", "required"),
        (("gates", "e2e"), {"kind": "command", "run": "make e2e"}, "gates.e2e.junit", "required"),
        (("gates", "qa", "role"), "qa-leed", "gates.qa.role", "did you mean 'qa-lead'"),
        (("gates", "qa", "role"), DELETE, "gates.qa.role", "required"),
        (("gates", "change-board", "quorum"), 4, "gates.change-board.quorum", "at most 3"),
        (("gates", "change-board", "quorum"), 0, "gates.change-board.quorum", "positive integer"),
        (("gates", "qa", "quorum"), 1, "gates.qa.quorum", "unknown key"),
        (("gates", "acceptance", "items"), [], "gates.acceptance.items", "non-empty list"),
        (("gates", "acceptance", "items"), [{"id": "AC-1", "text": "a"}, {"id": "AC-1", "text": "b"}],
         "gates.acceptance.items[1].id", "unique ids"),
        (("gates", "acceptance", "items"), [{"id": "AC-1"}], "gates.acceptance.items[0].text", "non-empty string"),
        (("roles", "qa-lead"), ["not-an-email"], "roles.qa-lead[0]", "email address"),
        (("roles", "qa-lead"), "qa@example.org", "roles.qa-lead", "list of email addresses"),
        (("targets", "staging", "gateway"), "ftp://x", "targets.staging.gateway", "http:// or https:// URL"),
        (("targets", "staging", "gateway"), DELETE, "targets.staging.gateway", "required"),
        (("targets", "staging", "url"), "http://127.0.0.1:7070", "targets.staging.url", "use gateway"),
        (("targets", "staging", "client_id"), "release-gate", "targets.staging.client_id", "a UUID"),
        (("targets", "staging", "client_secret_env"), DELETE, "targets.staging.client_secret_env",
         "required with client_id"),
        (("targets", "staging", "users"), {"registrar": {"username": "k.mweene", "password_env": "P"}},
         "targets.staging.users.registrar", "unknown role (did you mean 'local_registrar'?)"),
        (("targets", "staging", "users"), {"local_registrar": {"username": "k.mweene"}},
         "targets.staging.users.local_registrar.password_env", "required"),
        (("targets", "staging", "users"), {"local_registrar": [{"username": "a", "password_env": "P"},
                                                               {"username": "b", "password_env": "not a var"}]},
         "targets.staging.users.local_registrar[1].password_env", "environment variable"),
        (("targets", "staging", "users"), {"local_registrar": {"username": "a", "password": "test"}},
         "targets.staging.users.local_registrar.password", "literal passwords are not allowed"),
        (("targets", "staging", "two_fa"), True, "targets.staging.login_code_env", "required when two_fa = true"),
        (("targets", "staging", "two_fa"), "yes", "targets.staging.two_fa", "true or false"),
        (("targets", "staging", "identity"), {"header": "X-Version", "json": "/x"}, "targets.staging.identity",
         "exactly one of"),
        (("targets", "staging", "identity"), {"json": "/version", "path": "/x"}, "targets.staging.identity.path",
         "expected only json, key, timeout_s"),
        (("targets", "staging", "identity"), {"header": "X-Version", "path": "ping"},
         "targets.staging.identity.path", 'starting with "/"'),
        (("targets", "staging", "locations"), {"hospital": "Klow Village Hospital"},
         "targets.staging.locations.hospital", "expected one of administrative_area, health_facility"),
        (("targets", "staging", "register"), "gateway.example.org", "targets.staging.register", "URL"),
        (("targets", "staging", "client_secret_env"), "not a var", "targets.staging.client_secret_env",
         "environment variable"),
        (("release", "tag"), "release", "release.tag", "{version}"),
        (("release", "convention"), "angular", "release.convention", "conventional"),
        (("release", "prodution_branch"), "main", "release.prodution_branch", "did you mean 'production_branch'"),
        (("report", "risk"), "Risk for {version} on {host}", "report.risk", "unknown placeholder {host}"),
        (("gatess",), {}, "gatess", "did you mean 'gates'"),
        (("gates",), {}, "gates", "at least one"),
    ],
)
def test_invalid_value_names_exact_key(tmp_path, parts, value, key, expected):
    path = _write(tmp_path, _mutated(parts, value))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == key
    assert expected in info.value.expected
    assert str(info.value).endswith(f": {key}: {info.value.expected}")
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("parts", "key"),
    [
        (("targets", "staging", "client_secret"), "targets.staging.client_secret"),
        (("targets", "staging", "password"), "targets.staging.password"),
        (("gates", "regression", "token"), "gates.regression.token"),
    ],
)
def test_literal_secret_refused(tmp_path, parts, key):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, _mutated(parts, "hunter2")))
    assert info.value.key == key
    assert "use client_secret_env" in info.value.expected
    assert "hunter2" not in str(info.value)


def test_toml_syntax_error_names_file(tmp_path):
    path = tmp_path / "release.toml"
    path.write_text("[release\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "(syntax)" and "valid TOML" in info.value.expected


def test_find_config_walks_up_to_git_root(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "release.toml").write_text(DESIGN_EXAMPLE)
    deep = root / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == (root / "release.toml").resolve()
    (tmp_path / "release.toml").write_text(DESIGN_EXAMPLE)  # above the git root: never used
    (root / "release.toml").unlink()
    with pytest.raises(ConfigError, match="release init"):
        find_config(deep)


def test_criteria_gate_may_name_who_attests(tmp_path):
    from release.config import parse_config

    data = {"targets": {"staging": {"gateway": "http://127.0.0.1:7070"}},
            "gates": {"acceptance": {"kind": "criteria", "role": "qa-lead",
                                     "items": [{"id": "AC-1", "text": "t"}]}},
            "roles": {"qa-lead": ["qa@example.org"]}}
    assert parse_config(data, tmp_path / "release.toml").gates["acceptance"].role == "qa-lead"
    data["gates"]["acceptance"]["role"] = "nobody"
    with pytest.raises(ConfigError, match=r"gates\.acceptance\.role"):
        parse_config(data, tmp_path / "release.toml")


# ------------------------------------------------------------------------------------------- targets


def _target(tmp_path, table):
    doc = copy.deepcopy(BASE)
    doc["targets"]["staging"] = table
    return load_config(_write(tmp_path, doc)).targets["staging"]


FARAJALAND = {
    "gateway": "https://gateway.qa.example.org", "register": "https://register.qa.example.org",
    "config": "https://countryconfig.qa.example.org",
    "client_id": "6F1C2F0E-3B7A-4C8D-9E2F-1A2B3C4D5E6F", "client_secret_env": "CRVS_QA_CLIENT_SECRET",
    "client_scopes": ["record.create", "record.search"],
    "users": {"hospital_clerk": {"username": "k.bwalya", "password_env": "CRVS_QA_CLERK_PASSWORD"},
              "local_registrar": [{"username": "k.mweene", "password_env": "CRVS_QA_REGISTRAR_PASSWORD"},
                                  {"username": "k.mwale", "password_env": "CRVS_QA_REGISTRAR2_PASSWORD"}]},
    "two_fa": True, "login_code_env": "CRVS_QA_LOGIN_CODE",
    "locations": {"health_facility": "Klow Village Hospital"},
}


def test_profile_is_the_wire_contract_hand_over_with_env_var_names_only(tmp_path):
    profile = _target(tmp_path, FARAJALAND).profile()
    assert profile == {
        "name": "staging", "gateway": "https://gateway.qa.example.org",
        "register": "https://register.qa.example.org", "config": "https://countryconfig.qa.example.org",
        "identity": {"header": "X-Version", "path": "/ping"},
        "client": {"id": "6F1C2F0E-3B7A-4C8D-9E2F-1A2B3C4D5E6F", "secret_env": "CRVS_QA_CLIENT_SECRET",
                   "scopes": ["record.create", "record.search"]},
        "users": {"hospital_clerk": [{"username": "k.bwalya", "password_env": "CRVS_QA_CLERK_PASSWORD"}],
                  "local_registrar": [{"username": "k.mweene", "password_env": "CRVS_QA_REGISTRAR_PASSWORD"},
                                      {"username": "k.mwale", "password_env": "CRVS_QA_REGISTRAR2_PASSWORD"}]},
        "two_fa": True, "login_code_env": "CRVS_QA_LOGIN_CODE",
        "locations": {"office": None, "health_facility": "Klow Village Hospital", "administrative_area": None},
    }


@pytest.mark.parametrize(("identity", "expected"), [
    ({"json": "https://countryconfig.qa.example.org/version", "key": "build.version"},
     {"json": "https://countryconfig.qa.example.org/version", "key": "build.version"}),
    ({"json": "/api/build"}, {"json": "/api/build", "key": "version"}),
    ({"command": "scripts/which-build qa"}, {"command": "scripts/which-build qa"}),
    ({"header": "X-Build", "path": "/health"}, {"header": "X-Build", "path": "/health"}),
])
def test_identity_specs(tmp_path, identity, expected):
    assert _target(tmp_path, {**FARAJALAND, "identity": identity}).profile()["identity"] == expected


def test_missing_secret_names_the_file_and_key_only_when_asked(tmp_path):
    target = _target(tmp_path, FARAJALAND)  # loading never needs the secrets (release version works without)
    env = {"CRVS_QA_CLIENT_SECRET": "s", "CRVS_QA_CLERK_PASSWORD": "p", "CRVS_QA_REGISTRAR_PASSWORD": "p",
           "CRVS_QA_LOGIN_CODE": "123456"}
    with pytest.raises(ConfigError) as info:
        target.require_secrets(env)
    assert info.value.path.endswith("release.toml")
    assert info.value.key == "targets.staging.users.local_registrar[1].password_env"
    assert "CRVS_QA_REGISTRAR2_PASSWORD" in info.value.expected and info.value.exit_code == 2
    target.require_secrets({**env, "CRVS_QA_REGISTRAR2_PASSWORD": "p"})
    with pytest.raises(ConfigError) as info:
        target.require_secrets({})
    assert info.value.key == "targets.staging.client_secret_env"
    assert "also unset: CRVS_QA_CLERK_PASSWORD, CRVS_QA_LOGIN_CODE, CRVS_QA_REGISTRAR2_PASSWORD" in info.value.expected


def test_a_change_to_the_deployment_changes_the_gate_hash_but_not_a_secret_env_name(tmp_path):
    def load_hash(table):
        doc = copy.deepcopy(BASE)
        doc["targets"]["staging"] = table
        return load_config(_write(tmp_path, doc)).gates["load"].config_hash()

    base = load_hash(FARAJALAND)
    assert load_hash({**FARAJALAND, "register": "https://register2.qa.example.org"}) != base
    assert load_hash({**FARAJALAND, "users": {"hospital_clerk": {"username": "x.y",
                                                                 "password_env": "CRVS_QA_CLERK_PASSWORD"}}}) != base
    assert load_hash({**FARAJALAND, "client_secret_env": "OTHER_SECRET"}) == base
