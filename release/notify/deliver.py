"""The deliverer: POST each due outbox row to its webhook, signed, and record the outcome in the ledger.

Delivery is at least once, as GitHub's webhooks are: a row is leased before it is sent and marked delivered after
a 2xx; each POST carries the row's delivery id, so a receiver drops a repeat. A failing receiver is retried with
exponential back-off (Argo Notifications and GitHub both retry a failed hook) up to [notify] max_attempts, then
recorded as failed. Nothing here can change a decision: the outbox is written with the event, and delivery only
reads it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from release.config import NotifySettings, Webhook
from release.ledger import Ledger
from release.ledger.records import DeliveryStatus, OutboxDelivery
from release.notify.events import render_payload

SIGNATURE_HEADER = "X-Release-Signature-256"
EVENT_HEADER = "X-Release-Event"
DELIVERY_HEADER = "X-Release-Delivery"
#: Longest single wait of `deliver --wait` between two attempts, so it notices new rows.
MAX_WAIT_STEP_S = 30.0


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body>`, as GitHub's X-Hub-Signature-256."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """What a receiver checks: the header is the body's signature under the shared key (constant time)."""
    return hmac.compare_digest(signature(secret, body), header or "")


def backoff_delay(failed_attempts: int, settings: NotifySettings) -> float:
    """Seconds before the next attempt after `failed_attempts` failures: doubling from backoff_s, capped."""
    return min(settings.backoff_s * (2 ** max(0, failed_attempts - 1)), settings.max_backoff_s)


@dataclass
class DeliveryReport:
    """What one deliverer run did."""

    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for `release notify deliver --json`."""
        return {"delivered": self.delivered, "retrying": self.retrying, "failed": self.failed, "errors": self.errors}


Sender = Callable[[str, bytes, Mapping[str, str], float], int]


def http_send(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> int:
    """POST body to url and return the HTTP status (redirects are not followed: a hook answers itself)."""
    import httpx

    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        return client.post(url, content=body, headers=dict(headers)).status_code


def _attempt(row: OutboxDelivery, hook: Webhook | None, environ: Mapping[str, str], send: Sender) -> str | None:
    """Send one delivery; None when the receiver took it (2xx), else why not (one line, no secret in it)."""
    import httpx

    if hook is None:
        return f"webhook {row.webhook} is no longer in [notify]"
    url = hook.url or environ.get(hook.url_env or "", "")
    if not url:
        return f"environment variable {hook.url_env} (the webhook's URL) is not set"
    secret = environ.get(hook.secret_env, "")
    if not secret:
        return f"environment variable {hook.secret_env} (the webhook's HMAC key) is not set"
    body = json.dumps(render_payload(row.payload, row.delivery_id, hook.format), sort_keys=True).encode("utf-8")
    from release import __version__

    headers = {"Content-Type": "application/json", "User-Agent": f"crvs-release/{__version__}",
               EVENT_HEADER: row.event, DELIVERY_HEADER: row.delivery_id, SIGNATURE_HEADER: signature(secret, body)}
    try:
        status = send(url, body, headers, hook.timeout_s)
    except httpx.HTTPError as exc:
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else 'no answer'}"
    return None if 200 <= status < 300 else f"HTTP {status}"


def deliver(ledger: Ledger, settings: NotifySettings, environ: Mapping[str, str], *, wait: bool = False,
            send: Sender = http_send, sleep: Callable[[float], None] = time.sleep) -> DeliveryReport:
    """Deliver every due row; with wait, keep going (sleeping out the back-off) until none is pending."""
    hooks = {h.name: h for h in settings.webhooks}
    report = DeliveryReport()
    while True:
        now = datetime.now(UTC)
        lease = max((h.timeout_s for h in hooks.values()), default=5.0) + 5.0
        row = ledger.claim_due_delivery(now, lease)
        if row is None:
            if not wait:
                break
            pending = ledger.outbox(status=DeliveryStatus.PENDING)
            if not pending:
                break
            soonest = min(p.next_attempt_at for p in pending)
            sleep(min(max((soonest - datetime.now(UTC)).total_seconds(), 0.01), MAX_WAIT_STEP_S))
            continue
        error = _attempt(row, hooks.get(row.webhook), environ, send)
        failures = row.attempts + 1
        retry_at = None
        if error is not None and failures < settings.max_attempts:
            retry_at = datetime.now(UTC) + timedelta(seconds=backoff_delay(failures, settings))
        done = ledger.finish_delivery(row.id, delivered=error is None, error=error, retry_at=retry_at)
        bucket = {DeliveryStatus.DELIVERED: report.delivered, DeliveryStatus.FAILED: report.failed,
                  DeliveryStatus.PENDING: report.retrying}[done.status]
        if row.delivery_id in report.retrying:
            report.retrying.remove(row.delivery_id)
        bucket.append(row.delivery_id)
        if error is not None:
            report.errors[row.delivery_id] = error
    report.retrying = list(dict.fromkeys(report.retrying))
    return report
