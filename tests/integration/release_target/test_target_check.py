"""`release target check` against a real sandbox: green as configured, and it names what is missing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from release.config import load_config
from sandbox.process import SandboxProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NARROW_CLIENT = "7d0c3a52-1e4b-4f8a-9b6c-2d5e8f1a3b7c"


def target_toml(profile: dict[str, Any], **override: Any) -> str:
    """A [targets.NAME] table written from a deployment profile, the way a team would write it by hand."""
    p = {**profile, **override}
    lines = [f"[targets.{p['name']}]", f'gateway = "{p["gateway"]}"']
    lines += [f'{k} = "{p[k]}"' for k in ("register", "config") if p.get(k)]
    client = p["client"]
    lines += [f'client_id = "{client["id"]}"', f'client_secret_env = "{client["secret_env"]}"',
              f"client_scopes = {json.dumps(client['scopes'])}", f"two_fa = {str(p['two_fa']).lower()}"]
    if p.get("login_code_env"):
        lines.append(f'login_code_env = "{p["login_code_env"]}"')
    for role, accounts in p["users"].items():
        lines.append(f"users.{role} = [" + ", ".join(
            f'{{ username = "{a["username"]}", password_env = "{a["password_env"]}" }}' for a in accounts) + "]")
    return "\n".join(lines) + "\n"


def write_config(folder: Path, profile: dict[str, Any], **override: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "release.toml"
    path.write_text(target_toml(profile, **override) + '\n[gates.checks]\nkind = "command"\ntarget = "'
                    + profile["name"] + '"\nrun = "true"\njunit = "junit.xml"\n')
    return path


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxProcess]:
    with SandboxProcess(version="1.2.0-rc.1",
                        extra_args=["--client", f"{NARROW_CLIENT}:narrow-secret:record.read"]) as sb:
        yield sb


def check(run_cli, path: Path, env: dict[str, str], *extra: str):
    return run_cli("target", "check", "sandbox", "--config", str(path), *extra, env=env, cwd=path.parent)


def test_the_config_written_from_the_sandbox_profile_hands_the_same_profile_over(sandbox, tmp_path):
    path = write_config(tmp_path, sandbox.profile("sandbox"))
    assert load_config(path).targets["sandbox"].profile() == sandbox.profile("sandbox")


def test_green_on_the_sandbox_with_every_user_logged_in_once_and_locations_listed(sandbox, run_cli, tmp_path):
    profile = sandbox.profile("sandbox")
    path = write_config(tmp_path, profile)
    res = check(run_cli, path, sandbox.profile_env(), "--json")
    data = json.loads(res.stdout)
    assert res.exit_code == 0, json.dumps(data, indent=1)
    assert data["ok"] is True and data["version"] == "1.2.0-rc.1" and data["failed"] == []
    results = {c["check"]: c["result"] for c in data["checks"]}
    assert results["gateway"] == results["register"] == results["country config"] == results["identity"] == "ok"
    usernames = [a["username"] for accounts in profile["users"].values() for a in accounts]
    assert all(results[next(k for k in results if k.startswith(f"login {u} "))] == "ok" for u in usernames)
    for role in ("hospital_clerk", "registration_agent", "local_registrar"):
        first = profile["users"][role][0]["username"]
        assert results[f"permissions {first}"] == "ok" and results[f"search as {first}"] == "ok"
    assert results["permissions system client"] == "ok" and results["search as system client"] == "ok"
    assert {k: bool(v and v["id"]) for k, v in data["locations"].items()} == {
        "office": True, "health_facility": True, "administrative_area": True}
    text = check(run_cli, path, sandbox.profile_env())
    assert text.exit_code == 0 and "all checks passed" in text.stdout
    assert "CHECK" in text.stdout and "RESULT" in text.stdout


def test_a_system_client_without_a_scope_is_named_with_the_fix(sandbox, run_cli, tmp_path):
    profile = sandbox.profile("sandbox")
    narrow = {**profile["client"], "id": NARROW_CLIENT, "secret_env": "NARROW_SECRET", "scopes": ["record.read"]}
    path = write_config(tmp_path, profile, client=narrow)
    res = check(run_cli, path, {**sandbox.profile_env(), "NARROW_SECRET": "narrow-secret"}, "--json")
    assert res.exit_code == 1, res.stdout + res.stderr
    checks = {c["check"]: c for c in json.loads(res.stdout)["checks"]}
    perms = checks["permissions system client"]
    assert perms["result"] == "FAIL"
    for scope in ("record.create", "record.search", "record.notify"):
        assert scope in perms["detail"]
    assert "record.read" not in perms["detail"].split("missing scope")[1].split("(")[0]
    assert NARROW_CLIENT in perms["fix"] and "NATIONAL_SYSTEM_ADMIN" in perms["fix"]
    assert checks["search as system client"]["result"] == "FAIL"
    assert "403" in checks["search as system client"]["detail"]


def test_a_register_url_given_as_the_gateway_is_said_so(sandbox, run_cli, tmp_path):
    profile = sandbox.profile("sandbox")
    # No users: only the hosts matter here, and logins count against the 10-a-minute limit.
    same = check(run_cli, write_config(tmp_path / "same", profile, register=profile["gateway"], users={}),
                 sandbox.profile_env(), "--json")
    assert same.exit_code == 1
    register = next(c for c in json.loads(same.stdout)["checks"] if c["check"] == "register")
    assert register["result"] == "FAIL" and "register URL is the gateway" in register["detail"]
    # The same server under another name: caught by how it answers, not by the string.
    alias = profile["gateway"].replace("127.0.0.1", "localhost")
    text = check(run_cli, write_config(tmp_path / "alias", profile, register=alias, users={}),
                 sandbox.profile_env())
    assert text.exit_code == 1
    assert "answers /ping like the gateway: the register URL was given as the gateway" in text.stdout
    assert "fix: set register to the register (client) host" in text.stdout


def test_an_unset_password_env_var_is_a_config_error_naming_file_and_key(sandbox, run_cli, tmp_path):
    path = write_config(tmp_path, sandbox.profile("sandbox"))
    env = {k: v for k, v in sandbox.profile_env().items() if "PASSWORD" not in k}
    res = check(run_cli, path, env)
    assert res.exit_code == 2 and res.stdout == ""
    assert "release.toml" in res.stderr and "targets.sandbox.users.hospital_clerk[0].password_env" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_wrong_password_and_a_wrong_role_are_reported_per_user(sandbox, run_cli, tmp_path):
    profile = sandbox.profile("sandbox")
    users = {**profile["users"], "hospital_clerk": [{"username": "k.mweene", "password_env": "CRVS_SANDBOX_PASSWORD"}],
             "registration_agent": [{"username": "f.katongo", "password_env": "WRONG_PASSWORD"}]}
    res = check(run_cli, write_config(tmp_path, profile, users=users),
                {**sandbox.profile_env(), "WRONG_PASSWORD": "not-it"}, "--json")
    assert res.exit_code == 1
    checks = {c["check"]: c for c in json.loads(res.stdout)["checks"]}
    assert "is a LOCAL_REGISTRAR, not a HOSPITAL_CLERK" in checks["login k.mweene (hospital_clerk)"]["detail"]
    wrong = checks["login f.katongo (registration_agent)"]
    assert wrong["result"] == "FAIL" and "WRONG_PASSWORD" in wrong["fix"]


def test_a_402_from_the_login_rate_limit_is_reported_with_its_fix(tmp_path):
    from release.workflow.target_check import check_target

    with SandboxProcess(extra_args=["--auth-rate-limit", "1"]) as sb:
        profile = sb.profile("sandbox")
        users = {"local_registrar": profile["users"]["local_registrar"][:1]}
        target = load_config(write_config(tmp_path, profile, users=users)).targets["sandbox"]
        first = {c.check: c for c in check_target(target, sb.profile_env()).checks}
        assert first["login k.mweene (local_registrar)"].result == "ok"
        again = check_target(target, sb.profile_env())
        login = next(c for c in again.checks if c.check == "login k.mweene (local_registrar)")
        assert again.exit_code == 1 and login.result == "FAIL"
        assert "402" in login.detail and "wait a minute" in login.fix


def test_an_unreachable_deployment_fails_on_its_hosts_and_skips_the_logins(tmp_path):
    from release.workflow.target_check import check_target
    from tests.conftest import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    profile = {"name": "sandbox", "gateway": dead, "register": None, "config": None,
               "client": {"id": NARROW_CLIENT, "secret_env": "S", "scopes": []}, "two_fa": False, "users": {}}
    report = check_target(load_config(write_config(tmp_path, profile)).targets["sandbox"], {"S": "x"}, timeout=1)
    results = {c.check: c.result for c in report.checks}
    assert report.exit_code == 1 and results["gateway"] == "FAIL" and results["identity"] == "FAIL"
    assert results["logins"] == "skip" and not any(k.startswith("login ") for k in results)
