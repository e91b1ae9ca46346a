"""Deployment profiles: parsed once, every error names the key, secrets come from the environment."""

from __future__ import annotations

import json

import pytest

from crvs_client import Deployment, DeploymentError

pytestmark = pytest.mark.unit

CLIENT_ID = "6f1c2f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"
ENV = {"CLIENT_SECRET": "s3cret", "PW_REG": "pw-reg", "PW_REG2": "pw-reg2", "PW_CLERK": "pw-clerk", "CODE": "123456"}


def profile(**changes):
    base = {
        "name": "staging",
        "gateway": "https://gateway.staging.example.org/",
        "register": "https://register.staging.example.org",
        "config": None,
        "client": {"id": CLIENT_ID, "secret_env": "CLIENT_SECRET", "scopes": ["type=record.create"]},
        "users": {"local_registrar": [{"username": "k.mweene", "password_env": "PW_REG"},
                                      {"username": "k.mwale", "password_env": "PW_REG2"}],
                  "hospital_clerk": [{"username": "k.bwalya", "password_env": "PW_CLERK"}]},
        "two_fa": False,
        "login_code_env": None,
        "locations": {"office": None, "health_facility": "Klow Village Hospital", "administrative_area": None},
    }
    base.update(changes)
    return base


def test_a_full_profile_parses_with_three_hosts_and_secrets_from_env():
    dep = Deployment.from_profile(profile(), ENV)
    assert dep.gateway == "https://gateway.staging.example.org"
    assert dep.rest_base == "https://register.staging.example.org/api"
    assert dep.client.id == CLIENT_ID and dep.client.secret == "s3cret" and dep.client.scopes == ("type=record.create",)
    assert [a.username for a in dep.accounts("local_registrar")] == ["k.mweene", "k.mwale"]
    assert dep.account("local_registrar", 3).username == "k.mwale"  # round-robin over the pool
    assert dep.locations.health_facility == "Klow Village Hospital" and dep.locations.office is None
    assert dep.login_code == "000000"  # OpenCRVS's fixed code with TWO_FA_ENABLED off
    assert "s3cret" not in repr(dep) and "pw-reg" not in repr(dep)


def test_rest_goes_through_the_gateway_without_a_register_host():
    assert Deployment.from_profile(profile(register=None), ENV).rest_base == "https://gateway.staging.example.org"


@pytest.mark.parametrize(("changes", "key", "words"), [
    ({"client": {"id": "release-gate", "secret_env": "CLIENT_SECRET"}}, "client.id", "UUID"),
    ({"client": {"id": CLIENT_ID, "secret_env": "MISSING_SECRET"}}, "client.secret_env", "MISSING_SECRET is not set"),
    ({"users": {"local_registrar": [{"username": "x", "password_env": "CRVS_X"}]}},
     "users.local_registrar[0].password_env", "CRVS_X is not set"),
    ({"users": {"field_agent": [{"username": "x", "password_env": "PW_REG"}]}}, "users.field_agent", "unknown role"),
    ({"two_fa": True}, "login_code_env", "two_fa is true"),
    ({"two_fa": True, "login_code_env": "NO_CODE"}, "login_code_env", "NO_CODE is not set"),
    ({"gateway": "gateway.example.org"}, "gateway", "http(s) URL"),
    ({"gateway": None}, "gateway", "required"),
    ({"locations": {"hospital": "x"}}, "locations.hospital", "unknown key"),
    ({"identity": {"path": "ping"}}, "identity.path", "starting with /"),
])
def test_bad_profiles_name_the_key(changes, key, words):
    with pytest.raises(DeploymentError) as caught:
        Deployment.from_profile(profile(**changes), ENV)
    assert caught.value.key == key
    assert words in str(caught.value) and str(caught.value).startswith(key)


def test_two_fa_reads_the_code_from_its_env_var():
    dep = Deployment.from_profile(profile(two_fa=True, login_code_env="CODE"), ENV)
    assert dep.two_fa and dep.login_code == "123456"
    assert set(dep.env_names()) == {"CLIENT_SECRET", "PW_REG", "PW_REG2", "PW_CLERK", "CODE"}


def test_from_file_names_the_file(tmp_path):
    path = tmp_path / "staging.json"
    path.write_text(json.dumps(profile(client={"id": "nope", "secret_env": "CLIENT_SECRET"})))
    with pytest.raises(DeploymentError) as caught:
        Deployment.from_file(path, ENV)
    assert caught.value.key == "client.id" and str(path) in str(caught.value)
    missing = tmp_path / "missing.json"
    with pytest.raises(DeploymentError, match="cannot read"):
        Deployment.from_file(missing, ENV)


def test_from_env_needs_crvs_target_file(tmp_path):
    with pytest.raises(DeploymentError) as caught:
        Deployment.from_env({})
    assert caught.value.key == "CRVS_TARGET_FILE"
    path = tmp_path / "t.json"
    path.write_text(json.dumps(profile()))
    assert Deployment.from_env({**ENV, "CRVS_TARGET_FILE": str(path)}).name == "staging"


def test_missing_roles_lists_what_the_suite_needs():
    dep = Deployment.from_profile(profile(), ENV)
    assert dep.missing_roles() == ["registration_agent"]
    with pytest.raises(DeploymentError, match=r"users\.registration_agent"):
        dep.account("registration_agent")
