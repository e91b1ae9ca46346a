"""The statement a person signs: its canonical bytes, what changes them, parsing, the time window, the armor."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from release.errors import InputError
from release.gates import Decision, DecisionKind
from release.signing import (
    NAMESPACE,
    SIGNATURE_WINDOW,
    DecisionStatement,
    SignatureRefused,
    allowed_signers_path,
    check_time,
    normalise_signature,
    signing_time,
    statement_of,
)

pytestmark = pytest.mark.unit

AT = datetime(2026, 3, 2, 10, 15, 30, tzinfo=UTC)
STATEMENT = DecisionStatement(release="1.1.0", gate="change-board", kind="approval", candidate_sha="a" * 40,
                              record_hash="b" * 64, actor="chair@example.org", comment="change record read", at=AT)
ARMOR = ("-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg\nAAAA==\n"
         "-----END SSH SIGNATURE-----\n")


def test_the_signed_bytes_are_canonical_json_and_one_newline():
    payload = STATEMENT.payload()
    assert payload.endswith(b"}\n") and payload.count(b"\n") == 1
    doc = json.loads(payload)
    assert doc == {"v": 1, "namespace": NAMESPACE, "release": "1.1.0", "gate": "change-board", "kind": "approval",
                   "candidate_sha": "a" * 40, "record_hash": "b" * 64, "criterion": None,
                   "comment": "change record read", "actor": "chair@example.org", "at": "2026-03-02T10:15:30.000000+00:00"}
    assert payload == (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode()


#: Every field the signature must bind: changing any one changes the bytes (so a signature cannot be replayed).
CHANGES: dict[str, Any] = {"release": "1.2.0", "gate": "qa", "kind": "rejection", "candidate_sha": "c" * 40, "record_hash": "d" * 64,
           "actor": "ops@example.org", "comment": "", "at": AT + timedelta(seconds=1), "criterion": "AC-2"}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_every_field_is_in_the_bytes(field):
    changed = dataclasses.replace(STATEMENT, **{field: CHANGES[field]})
    assert changed.payload() != STATEMENT.payload()
    if field != "at":
        assert [d.split(" is ")[0] for d in STATEMENT.differences(changed)] == [field]


def test_the_same_instant_in_another_timezone_gives_the_same_bytes():
    other = dataclasses.replace(STATEMENT, at=AT.astimezone(ZoneInfo("Africa/Lusaka")))
    assert other.payload() == STATEMENT.payload()


def test_a_printed_statement_parses_back_to_itself():
    assert DecisionStatement.parse(STATEMENT.payload()) == STATEMENT
    unicode = dataclasses.replace(STATEMENT, comment="revu: ça va \u2013 ok")
    assert DecisionStatement.parse(unicode.payload()).comment == unicode.comment


BAD_PAYLOADS = {
    "not json": b"approve 1.1.0\n",
    "not utf-8": b"\xff\xfe{}\n",
    "a list": b"[]\n",
    "a key missing": json.dumps({k: v for k, v in STATEMENT.to_json().items() if k != "actor"}).encode(),
    "a key added": (json.dumps({**STATEMENT.to_json(), "extra": 1}, sort_keys=True, separators=(",", ":"))
                    + "\n").encode(),
    "another namespace": (json.dumps({**STATEMENT.to_json(), "namespace": "git"}, sort_keys=True,
                                     separators=(",", ":")) + "\n").encode(),
    "another version": (json.dumps({**STATEMENT.to_json(), "v": 2}, sort_keys=True, separators=(",", ":"))
                        + "\n").encode(),
    "a number for a string": (json.dumps({**STATEMENT.to_json(), "gate": 7}, sort_keys=True, separators=(",", ":"))
                              + "\n").encode(),
    "a naive time": (json.dumps({**STATEMENT.to_json(), "at": "2026-03-02T10:15:30"}, sort_keys=True,
                                separators=(",", ":")) + "\n").encode(),
    "not a time": (json.dumps({**STATEMENT.to_json(), "at": "yesterday"}, sort_keys=True, separators=(",", ":"))
                   + "\n").encode(),
    "pretty-printed": (json.dumps(STATEMENT.to_json(), sort_keys=True, indent=2) + "\n").encode(),
    "no newline": STATEMENT.payload().rstrip(b"\n"),
    "a time written another way": STATEMENT.payload().replace(b"10:15:30.000000+00:00", b"10:15:30+00:00"),
}


@pytest.mark.parametrize("name", sorted(BAD_PAYLOADS))
def test_only_an_exact_canonical_statement_is_read(name):
    with pytest.raises(InputError):
        DecisionStatement.parse(BAD_PAYLOADS[name], "decision.json")


def test_the_signing_time_is_utc_to_the_second():
    moment = datetime(2026, 3, 2, 12, 15, 30, 987654, tzinfo=ZoneInfo("Africa/Lusaka"))
    assert signing_time(moment) == AT


@pytest.mark.parametrize("offset", [timedelta(0), SIGNATURE_WINDOW, -SIGNATURE_WINDOW, timedelta(seconds=-90)])
def test_a_time_within_the_window_is_accepted(offset):
    check_time(AT, AT + offset)


@pytest.mark.parametrize("offset", [SIGNATURE_WINDOW + timedelta(seconds=1), -SIGNATURE_WINDOW - timedelta(seconds=1),
                                    timedelta(days=1)])
def test_a_stale_or_post_dated_statement_is_refused(offset):
    with pytest.raises(SignatureRefused, match="more than 5 minutes"):
        check_time(AT, AT + offset)


def test_the_armor_is_normalised():
    crlf = ARMOR.replace("\n", "\r\n")
    assert normalise_signature("  \n" + crlf + "\n\n") == ARMOR


@pytest.mark.parametrize("text", ["", "hello", ARMOR.replace("BEGIN", "START"), ARMOR.replace("AAAA==", "AA AA"),
                                  ARMOR.replace("AAAA==", "<script>"), "-----BEGIN SSH SIGNATURE-----\n"
                                  "-----END SSH SIGNATURE-----\n", ARMOR[:-1] + "A" * 20000 + "\n"])
def test_anything_but_an_armored_ssh_signature_is_refused(text):
    with pytest.raises(SignatureRefused):
        normalise_signature(text)


@pytest.mark.parametrize("path", ["/etc/allowed_signers", "../signers", "keys/../../signers", ""])
def test_the_allowed_signers_path_stays_in_the_repository(path):
    with pytest.raises(InputError):
        allowed_signers_path(path)


def test_a_stored_decision_rebuilds_its_statement():
    decision = Decision(kind=DecisionKind.ACCEPTANCE, gate="acceptance", actor="registrar-general@example.org",
                        role="release-manager", candidate_sha="a" * 40, comment="notes read", at=AT,
                        report_hash="b" * 64, criterion="AC-2", signature=ARMOR)
    built = statement_of("1.1.0", decision)
    assert built == DecisionStatement(release="1.1.0", gate="acceptance", kind="acceptance", candidate_sha="a" * 40,
                                      record_hash="b" * 64, actor="registrar-general@example.org",
                                      comment="notes read", at=AT, criterion="AC-2")


def test_text_without_a_utf_8_form_cannot_be_signed():
    with pytest.raises(InputError, match="not valid Unicode"):
        dataclasses.replace(STATEMENT, comment="caf\udce9").payload()
