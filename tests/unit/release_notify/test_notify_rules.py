"""Pure rules of notifications: which audit events announce what, payloads, signatures, back-off and config."""

from __future__ import annotations

from pathlib import Path

import pytest

from release.config import NotifySettings, parse_config
from release.errors import ConfigError
from release.notify.deliver import backoff_delay, signature, verify_signature
from release.notify.events import announce, render_payload, slack_text
from release.web.board import decision_summary

pytestmark = pytest.mark.unit

GATES = {"cab": {"kind": "approval", "role": "board", "quorum": 1}}


@pytest.mark.parametrize(("action", "payload", "events"), [
    ("decision.approval", {"gate": "cab", "sha": "a" * 40}, ["decision.recorded"]),
    ("decision.rejection", {"gate": "cab", "comment": "no"}, ["decision.recorded"]),
    ("waiver.recorded", {"gate": "load", "reason": "r", "expires_at": "2026-03-01"}, ["waiver.recorded"]),
    ("record.rendered", {"reason": "prepare", "verdict": "PROMOTABLE"}, ["candidate.ready"]),
    ("record.rendered", {"reason": "prepare", "verdict": "BLOCKED"}, ["candidate.ready", "blocked"]),
    ("record.rendered", {"reason": "decision", "verdict": "BLOCKED"}, []),
    ("release.promoted", {"tag": "v1.1.0"}, ["promoted"]),
    ("release.rolled_back", {"to": "1.0.0"}, ["rolled_back"]),
    ("gate_run.finished", {"state": "FAILED"}, []),
    ("web_user.added", {"email": "x@example.org"}, []),
])
def test_which_audit_events_announce_what(action: str, payload: dict, events: list[str]) -> None:
    assert [e for e, _ in announce(action, "1.1.0/rc.1/cab", "chair@example.org", payload)] == events


def test_a_payload_names_its_fields_and_never_copies_the_rest() -> None:
    [(_, body)] = announce("decision.approval", "1.1.0/rc.1/cab", "chair@example.org",
                           {"gate": "cab", "sha": "a" * 40, "comment": "x" * 900, "rows": [{"table": "decisions"}],
                            "signature": "-----BEGIN SSH SIGNATURE-----"})
    assert body["release"] == "1.1.0" and body["kind"] == "approval" and body["candidate_sha"] == "a" * 40
    assert "rows" not in body and "signature" not in body and len(body["comment"]) == 503
    assert render_payload(body, "d-1", "json")["delivery"] == "d-1"


def test_slack_text_escapes_its_control_characters() -> None:
    text = slack_text({"event": "decision.recorded", "release": "1.1.0", "actor": "a@example.org",
                       "kind": "rejection", "gate": "cab", "comment": "<!channel> & <http://x|y>"})
    assert "<" not in text and ">" not in text and "&lt;!channel&gt; &amp;" in text
    assert render_payload({"event": "promoted"}, "d", "slack").keys() == {"text"}


def test_a_signature_verifies_only_for_its_body_and_key() -> None:
    header = signature("key", b'{"a":1}')
    assert header.startswith("sha256=") and verify_signature("key", b'{"a":1}', header)
    assert not verify_signature("key", b'{"a":2}', header)
    assert not verify_signature("other", b'{"a":1}', header)
    assert not verify_signature("key", b'{"a":1}', "")


def test_hmac_matches_openssl_for_a_known_vector() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    assert signature("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


@pytest.mark.parametrize(("failures", "delay"), [(1, 2.0), (2, 4.0), (3, 8.0), (6, 64.0), (9, 300.0)])
def test_backoff_doubles_and_is_capped(failures: int, delay: float) -> None:
    assert backoff_delay(failures, NotifySettings((), 6, 2.0, 300.0)) == delay


def _config(notify: dict) -> object:
    return parse_config({"gates": GATES, "roles": {"board": ["a@example.org"]}, "notify": notify},
                        Path("release.toml"))


def test_webhooks_parse_with_defaults() -> None:
    config = _config({"webhook": [{"url": "https://hooks.example.org/x", "secret_env": "HOOK_KEY"},
                                  {"name": "chat", "url_env": "CHAT_URL", "secret_env": "CHAT_KEY",
                                   "events": ["promoted"], "format": "slack"}]})
    first, chat = config.notify.webhooks  # type: ignore[attr-defined]
    assert (first.name, first.url, first.format, len(first.events)) == ("webhook-1", "https://hooks.example.org/x",
                                                                        "json", 8)
    assert (chat.name, chat.url_env, chat.events) == ("chat", "CHAT_URL", ("promoted",))


@pytest.mark.parametrize(("hook", "words"), [
    ({"url": "https://h.example.org", "secret": "x"}, "literal secrets"),
    ({"url": "https://h.example.org"}, "secret_env"),
    ({"url": "https://h.example.org", "url_env": "U", "secret_env": "K"}, "exactly one of url and url_env"),
    ({"secret_env": "K"}, "exactly one of url and url_env"),
    ({"url": "https://h.example.org", "secret_env": "K", "events": ["deployed"]}, "expected a list of events"),
    ({"url": "ftp://h.example.org", "secret_env": "K"}, "http"),
])
def test_bad_webhooks_are_config_errors_naming_the_key(hook: dict, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config({"webhook": [hook]})
    assert words in str(caught.value) and "notify.webhook" in str(caught.value)


def test_two_webhooks_with_one_name_are_refused() -> None:
    hook = {"name": "x", "url": "https://h.example.org", "secret_env": "K"}
    with pytest.raises(ConfigError, match="distinct webhook names"):
        _config({"webhook": [hook, hook]})


def test_the_decision_summary_names_failed_automated_gates_and_decisions() -> None:
    data = {"verdict": "BLOCKED", "blocking_reasons": ["browser: FAILED (1 failed)", "cab: 1 of 2 approvals"],
            "gates": [{"gate": "browser", "kind": "browser", "state": "FAILED", "counts": False,
                       "reasons": ["1 failed"]},
                      {"gate": "load", "kind": "locust", "state": "PASSED", "counts": True, "reasons": []},
                      {"gate": "qa", "kind": "signoff", "state": "PENDING", "counts": False, "reasons": ["waiting"]},
                      {"gate": "cab", "kind": "approval", "state": "PENDING", "counts": False, "reasons": []}],
            "decisions": [{"gate": "cab", "kind": "approval", "actor": "chair@example.org", "at": "t"},
                          {"gate": "acceptance", "kind": "acceptance", "actor": "qa@example.org", "at": "t"}],
            "waivers": []}
    summary = decision_summary(data)
    assert [g["gate"] for g in summary["failed_automated"]] == ["browser"]  # a pending sign-off is not "failed"
    assert [g["gate"] for g in summary["open_gates"]] == ["browser", "qa", "cab"]
    assert summary["decisions"] == [{"gate": "cab", "kind": "approval", "actor": "chair@example.org", "at": "t"}]
    assert summary["blocking"] == data["blocking_reasons"]
    assert decision_summary({**data, "gates": data["gates"][1:2], "verdict": "PROMOTABLE"})["failed_automated"] == []
