"""Webhooks to a real receiver on 127.0.0.1: each event once, signed; a dead receiver retried, then failed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from release.config import NotifySettings, Webhook
from release.ledger import Ledger
from release.ledger.records import DeliveryStatus
from release.notify import BackgroundDeliverer, deliver, verify_signature
from tests.conftest import free_port
from tests.integration.release_notify.receiver import Receiver

pytestmark = pytest.mark.integration

SECRET = "hook-key-for-tests-only"
EVENTS = ("candidate.ready", "blocked", "decision.recorded", "waiver.recorded", "promoted", "rolled_back")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def settings(url: str, **retry: float) -> NotifySettings:
    hook = Webhook("board", url, None, "HOOK_SECRET", EVENTS, "json", 2.0)
    return NotifySettings((hook,), int(retry.get("max_attempts", 4)), retry.get("backoff_s", 0.05),
                          retry.get("max_backoff_s", 0.2))


def ledger_with_events(tmp_path: Path) -> Ledger:
    """A ledger subscribed to every event, holding a prepared, blocked candidate's record and a promotion."""
    ledger = Ledger.open(None, tmp_path)
    ledger.notify_routes = (("board", frozenset(EVENTS)),)
    ledger.create_release("1.1.0", preparer="rm@example.org", previous_version="1.0.0", now=T0)
    ledger.add_candidate("1.1.0", rc=1, tag="v1.1.0-rc.1", sha="a" * 40, created_by="rm@example.org", now=T0)
    ledger.add_record_version("1.1.0", data={"version": "1.1.0", "verdict": "BLOCKED"}, content_hash="c" * 64,
                              fingerprint="f" * 64, candidate_sha="a" * 40, verdict="BLOCKED", reason="prepare",
                              actor="rm@example.org", now=T0)
    ledger.append_audit("rm@example.org", "release.promoted", "1.1.0", {"tag": "v1.1.0", "sha": "a" * 40,
                                                                        "client_secret": "never-sent"}, now=T0)
    return ledger


def test_each_event_is_delivered_once_with_a_valid_signature(tmp_path: Path, receiver: Receiver) -> None:
    receiver.posts.clear()
    with ledger_with_events(tmp_path) as ledger:
        report = deliver(ledger, settings(receiver.url), {"HOOK_SECRET": SECRET})
        again = deliver(ledger, settings(receiver.url), {"HOOK_SECRET": SECRET}, wait=True)
        outbox = ledger.outbox()
        assert ledger.verify_audit().ok  # the record version is bound to the chain; the outbox decides nothing
    assert len(report.delivered) == 3 and again.delivered == []
    assert [json.loads(body)["event"] for _, body in receiver.posts] == ["candidate.ready", "blocked", "promoted"]
    assert {d.status for d in outbox} == {DeliveryStatus.DELIVERED}
    ids = [headers["x-release-delivery"] for headers, _ in receiver.posts]
    assert len(set(ids)) == 3 and set(ids) == {d.delivery_id for d in outbox}
    for headers, body in receiver.posts:
        assert verify_signature(SECRET, body, headers["x-release-signature-256"])
        assert not verify_signature("another key", body, headers["x-release-signature-256"])
        assert headers["x-release-event"] == json.loads(body)["event"]
        assert b"never-sent" not in body and b"rows" not in body


def test_a_failing_receiver_is_retried_with_backoff_then_delivered(tmp_path: Path, receiver: Receiver) -> None:
    receiver.posts.clear()
    receiver.answers[:] = [500, 503]
    with ledger_with_events(tmp_path) as ledger:
        report = deliver(ledger, settings(receiver.url), {"HOOK_SECRET": SECRET}, wait=True)
        outbox = ledger.outbox()
    assert sorted(report.delivered) == sorted(d.delivery_id for d in outbox) and report.failed == []
    assert len(receiver.posts) == 5  # two refused attempts, then each of the three once
    assert sorted(d.attempts for d in outbox) in ([1, 1, 3], [1, 2, 2])


def test_a_dead_receiver_is_recorded_as_failed_and_the_event_stands(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    with ledger_with_events(tmp_path) as ledger:
        before = ledger.audit_events()
        report = deliver(ledger, settings(dead, max_attempts=3), {"HOOK_SECRET": SECRET}, wait=True)
        outbox = ledger.outbox()
        assert ledger.audit_events() == before and ledger.verify_audit().ok
        assert ledger.record_version("1.1.0") is not None
        assert ledger.retry_failed_deliveries() == 3  # `release notify retry`, as GitHub's Redeliver
        assert {(d.status, d.attempts) for d in ledger.outbox()} == {(DeliveryStatus.PENDING, 0)}
    assert len(report.failed) == 3 and report.delivered == []
    assert all(d.status is DeliveryStatus.FAILED and d.attempts == 3 for d in outbox)
    assert all("ConnectError" in (d.last_error or "") for d in outbox)


def test_a_missing_key_never_sends_unsigned(tmp_path: Path, receiver: Receiver) -> None:
    receiver.posts.clear()
    with ledger_with_events(tmp_path) as ledger:
        report = deliver(ledger, settings(receiver.url, max_attempts=1), {})
    assert receiver.posts == [] and len(report.failed) == 3
    assert all("HOOK_SECRET" in e for e in report.errors.values())


def test_no_route_no_outbox_row(tmp_path: Path) -> None:
    with Ledger.open(None, tmp_path) as ledger:
        ledger.create_release("1.1.0", preparer="rm@example.org", now=T0)
        ledger.append_audit("rm@example.org", "release.promoted", "1.1.0", {"tag": "v1.1.0"}, now=T0)
        assert ledger.outbox() == []


def test_the_serve_deliverer_sends_in_the_background_when_kicked(tmp_path: Path, receiver: Receiver) -> None:
    receiver.posts.clear()
    with ledger_with_events(tmp_path) as ledger:
        deliverer = BackgroundDeliverer(ledger, settings(receiver.url), {"HOOK_SECRET": SECRET})
        deliverer.kick()
        try:
            assert receiver.wait_for(3)
        finally:
            deliverer.stop()
        assert [json.loads(b)["event"] for _, b in receiver.posts] == ["candidate.ready", "blocked", "promoted"]
