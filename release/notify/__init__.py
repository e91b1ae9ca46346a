"""Webhook notifications: an outbox in the ledger, filled in the transaction of each event, and a deliverer.

See docs/notifications.md. `attach` routes a project's [[notify.webhook]] subscriptions into its ledger, so each
write that announces an event (release.notify.events.announce) also writes one outbox row per subscribed webhook.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from release.config import NotifySettings
from release.ledger import Ledger
from release.ledger.records import DeliveryStatus
from release.notify.deliver import MAX_WAIT_STEP_S, DeliveryReport, deliver, signature, verify_signature

if TYPE_CHECKING:
    from release.workflow.context import Context


def attach(ctx: Context) -> None:
    """Make the context's ledger write outbox rows for the webhooks its release.toml subscribes."""
    ctx.ledger.notify_routes = tuple((h.name, frozenset(h.events)) for h in ctx.config.notify.webhooks)


def deliver_now(ctx: Context) -> DeliveryReport | None:
    """One best-effort pass after a command (no waiting): due rows are sent, failures wait in the outbox.

    A receiver that is down, or a ledger error while delivering, never fails the command that made the event.
    """
    from release.errors import ReleaseError

    if not ctx.config.notify.webhooks or ctx.dry_run:
        return None
    try:
        return deliver(ctx.ledger, ctx.config.notify, ctx.environ)
    except ReleaseError:
        return None


class BackgroundDeliverer:
    """One daemon thread that delivers for a long-running process (`release serve`): kicked after each decision,
    and woken when the next retry is due, so a slow or dead receiver never holds a web request."""

    def __init__(self, ledger: Ledger, settings: NotifySettings, environ: Mapping[str, str]) -> None:
        """Deliver from ledger's outbox to settings' webhooks, with the keys in environ."""
        self.ledger, self.settings, self.environ = ledger, settings, environ
        self._kick = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def kick(self) -> None:
        """Deliver soon (starts the thread on first use; nothing when no webhook is configured)."""
        if not self.settings.webhooks:
            return
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="notify-deliverer", daemon=True)
                self._thread.start()
        self._kick.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after the delivery in hand (the outbox keeps the rest)."""
        self._stopped.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _next_wait(self) -> float:
        pending = self.ledger.outbox(status=DeliveryStatus.PENDING)
        if not pending:
            return MAX_WAIT_STEP_S
        soonest = min(p.next_attempt_at for p in pending)
        return min(max((soonest - datetime.now(UTC)).total_seconds(), 0.05), MAX_WAIT_STEP_S)

    def _run(self) -> None:
        from release.errors import ReleaseError

        while not self._stopped.is_set():
            try:
                self._kick.wait(timeout=self._next_wait())
                self._kick.clear()
                if self._stopped.is_set():
                    break
                deliver(self.ledger, self.settings, self.environ)
            except ReleaseError:
                self._kick.wait(timeout=MAX_WAIT_STEP_S)  # the ledger is unavailable: try again later


__all__ = ["BackgroundDeliverer", "DeliveryReport", "attach", "deliver", "deliver_now", "signature",
           "verify_signature"]
