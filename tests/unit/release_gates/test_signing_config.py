"""release.toml's signature keys: [signatures] allowed_signers and require_signature, and what `release init` writes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from release.config import default_config_text, parse_config
from release.errors import ConfigError

pytestmark = pytest.mark.unit

GATES = '''
[gates.qa]
kind = "signoff"
role = "qa-lead"
{qa}
[gates.change-board]
kind = "approval"
role = "change-board"
{board}
[gates.acceptance]
kind = "criteria"
items = [{{ id = "AC-2", text = "Certificates print" }}]
{acceptance}
[roles]
qa-lead = ["qa@example.org"]
change-board = ["chair@example.org"]
{tail}'''


def doc(*, qa: str = "", board: str = "", acceptance: str = "", tail: str = "") -> dict[str, Any]:
    return tomllib.loads(GATES.format(qa=qa, board=board, acceptance=acceptance, tail=tail))


def load(data: dict[str, Any]):
    return parse_config(data, Path("release.toml"))


def refused(data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(data)
    return info.value


SIGNERS = '[signatures]\nallowed_signers = ".allowed_signers"\n'


def test_signatures_are_off_unless_asked_for():
    config = load(doc())
    assert config.signatures.allowed_signers is None
    assert not any(g.require_signature for g in config.gates.values())


@pytest.mark.parametrize("gate", ["qa", "board", "acceptance"])
def test_each_people_gate_may_require_signatures(gate):
    config = load(doc(**{gate: "require_signature = true"}, tail=SIGNERS))
    name = {"qa": "qa", "board": "change-board", "acceptance": "acceptance"}[gate]
    assert [g.name for g in config.gates.values() if g.require_signature] == [name]
    assert config.signatures.allowed_signers == ".allowed_signers"


def test_requiring_signatures_does_not_change_the_gates_config_hash():
    plain, signed = load(doc(tail=SIGNERS)), load(doc(board="require_signature = true", tail=SIGNERS))
    assert plain.gates["change-board"].config_hash() == signed.gates["change-board"].config_hash()


def test_require_signature_without_an_allowed_signers_file_is_refused():
    error = refused(doc(board="require_signature = true"))
    assert error.key == "gates.change-board.require_signature" and "[signatures]" in error.expected


@pytest.mark.parametrize(("tail", "key", "words"), [
    ("[signatures]\n", "signatures.allowed_signers", "required"),
    ('[signatures]\nallowed_signers = "/etc/ssh/allowed_signers"\n', "signatures.allowed_signers", "inside"),
    ('[signatures]\nallowed_signers = "../keys"\n', "signatures.allowed_signers", "inside"),
    ('[signatures]\nallowed_signers = "~/.ssh/allowed_signers"\n', "signatures.allowed_signers", "inside"),
    ('[signatures]\nallowed_signers = ""\n', "signatures.allowed_signers", "non-empty"),
    ('[signatures]\nallowed_signers = ".allowed_signers"\nnamespace = "git"\n', "signatures.namespace", "unknown"),
    ('[signatures]\nallowed_signers = ".allowed_signers"\nprivate_key = "x"\n', "signatures.private_key", "secrets"),
])
def test_a_bad_signatures_table_names_its_key(tail, key, words):
    error = refused(doc(tail=tail))
    assert error.key == key and words in error.expected


def test_require_signature_is_a_boolean():
    error = refused(doc(board='require_signature = "yes"', tail=SIGNERS))
    assert error.key == "gates.change-board.require_signature" and "true or false" in error.expected


def test_release_init_asks_for_signatures_on_the_change_board():
    config = parse_config(tomllib.loads(default_config_text()), Path("release.toml"))
    assert config.gates["change-board"].require_signature is True
    assert config.signatures.allowed_signers == ".allowed_signers"
