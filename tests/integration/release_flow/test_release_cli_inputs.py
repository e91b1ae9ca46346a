"""Bad config, bad versions, unknown releases and other bad input: exit 2, one clear line, no traceback."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration]

COMMANDS = ["prepare", "gate", "sign-off", "approve", "accept", "waive", "status", "promote", "rollback", "demo"]


def one_line_error(res, *needles):
    assert res.exit_code == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_and_json(run_cli, name):
    res = run_cli(name, "--help")
    assert res.exit_code == 0
    text = res.stdout
    if name == "gate":
        text = run_cli("gate", "run", "--help").stdout
    assert "--json" in text


@pytest.mark.slow
@pytest.mark.parametrize(("args", "needles"), [
    (("status", "9.9.9"), ("no release 9.9.9",)),
    (("promote", "9.9.9"), ("no release 9.9.9",)),
    (("approve", "9.9.9", "--as", "chair@example.org"), ("no release 9.9.9",)),
    (("status", "1.x"), ("invalid version",)),
    (("prepare", "--version", "1.x", "--no-deploy", "--no-gates"), ("invalid version",)),
    (("prepare", "--version", "0.9.0", "--no-deploy", "--no-gates"), ("not greater than 1.0.0",)),
    (("gate", "run", "checks", "--candidate", "bogus"), ("invalid candidate",)),
    (("gate", "run", "nope"), ("unknown gate",)),
    (("gate", "run", "qa"), ("decided by people",)),
    (("sign-off", "nope", "1.1.0", "--as", "qa@example.org"), ("unknown gate",)),
    (("accept", "1.1.0", "AC-9", "--as", "registrar-general@example.org"), ("unknown criterion 'AC-9'",)),
    (("waive", "qa", "1.1.0", "--as", "qa@example.org", "--reason", "r", "--expires", "2030-13-45"),
     ("invalid expiry",)),
    (("rollback", "--to", "7.7.7"), ()),
])
def test_bad_input_exits_2_with_one_line(candidate, args, needles):
    refs, rows = candidate.refs(), candidate.ledger_dump()
    res = candidate.cli(*args)
    if args[0] == "rollback":
        assert res.exit_code == 1 and "nothing to roll back" in res.stderr  # checked before --to is read
    else:
        one_line_error(res, *needles)
    assert candidate.refs() == refs and candidate.ledger_dump() == rows


@pytest.mark.slow
def test_bad_config_exits_2_naming_file_and_key(make_release_repo):
    r = make_release_repo()
    text = (r.path / "release.toml").read_text().replace("quorum = 2", "quorum = 0")
    (r.path / "release.toml").write_text(text)
    r.repo.git("commit", "--quiet", "-am", "chore: break the config")
    one_line_error(r.cli("status"), "release.toml", "gates.change-board.quorum")
    (r.path / "release.toml").write_text("[release\n")
    one_line_error(r.cli("prepare", "--dry-run"), "release.toml", "TOML")


@pytest.mark.slow
def test_no_actor_is_a_usage_error(make_release_repo):
    r = make_release_repo()
    env = {"RELEASE_ACTOR": "", "GIT_AUTHOR_EMAIL": ""}
    res = r.cli("approve", "1.1.0", env=env)
    one_line_error(res, "who is acting")
