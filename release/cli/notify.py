"""`release notify deliver|list|retry`: the webhook outbox (docs/notifications.md)."""

from __future__ import annotations

import json

import click


@click.group("notify")
def command() -> None:
    """Deliver, list or retry webhook notifications waiting in the ledger's outbox."""


@command.command("deliver")
@click.option("--wait", is_flag=True, help="Keep retrying (with back-off) until nothing is pending.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def deliver(wait: bool, as_json: bool) -> None:
    """Send every due delivery; exit 1 when one was recorded as failed in this run."""
    from release.notify import deliver as run
    from release.workflow.context import open_context

    ctx = open_context()
    report = run(ctx.ledger, ctx.config.notify, ctx.environ, wait=wait)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(f"delivered {len(report.delivered)}, retrying {len(report.retrying)}, failed {len(report.failed)}")
        for delivery, error in report.errors.items():
            click.echo(f"  {delivery}: {error}")
    if report.failed:
        raise SystemExit(1)


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_outbox(as_json: bool) -> None:
    """Every delivery in the outbox with its status and attempts."""
    from release.gates import iso_utc
    from release.safe_text import one_line
    from release.workflow.context import open_context

    rows = open_context().ledger.outbox()
    if as_json:
        click.echo(json.dumps([{"delivery": r.delivery_id, "webhook": r.webhook, "event": r.event,
                                "subject": r.subject, "status": r.status.value, "attempts": r.attempts,
                                "last_error": r.last_error, "created_at": iso_utc(r.created_at)} for r in rows],
                              indent=2))
        return
    for r in rows:
        click.echo(one_line(f"{r.delivery_id} {r.webhook} {r.event} {r.subject} {r.status.value} "
                                 f"attempts={r.attempts}" + (f" ({r.last_error})" if r.last_error else "")))


@command.command("retry")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def retry(as_json: bool) -> None:
    """Make failed deliveries pending again (as GitHub's Redeliver), then run `release notify deliver`."""
    from release.workflow.context import open_context

    count = open_context().ledger.retry_failed_deliveries()
    if as_json:
        click.echo(json.dumps({"pending_again": count}))
    else:
        click.echo(f"{count} failed deliver{'y' if count == 1 else 'ies'} pending again")
