"""`release report VERSION --format html|pdf|md [--out PATH]`: render the change record."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("report")
@click.argument("version")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "md"]), default="html", show_default=True,
              help="html (one standalone file with inline SVG charts), pdf (WeasyPrint) or md (for a ticket).")
@click.option("--out", type=click.Path(path_type=Path), help="Write here (default: .release/reports/<tag>/).")
@click.option("--json", "as_json", is_flag=True,
              help="Print {path, format, content_hash, verdict, record} as JSON (record: the stored version).")
def command(version: str, fmt: str, out: Path | None, as_json: bool) -> None:
    """Render the change record of VERSION's newest candidate."""
    from release.report.record import change_record_data, render_record
    from release.workflow.context import open_context
    from release.workflow.snapshots import snapshot

    ctx = open_context()
    data = change_record_data(ctx, version)
    stored = snapshot(ctx, data["version"], "report", data)  # the version `approve --record HASH` can pin
    if ctx.ledger.audit_head() != data["audit_head"]:
        data = change_record_data(ctx, version)  # a version was stored: the record names the audit head after it
    body = render_record(data, fmt)
    if out is None:
        tag = (data.get("candidate") or {}).get("tag") or data["tag"]
        out = ctx.reports_dir / tag / f"change-record.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(body)
    if as_json:
        click.echo(json.dumps({"path": str(out), "format": fmt, "version": data["version"],
                               "verdict": data["verdict"], "content_hash": data["content_hash"],
                               "audit_head": data["audit_head"],
                               "record": {"n": stored.n, "hash": stored.record_hash}}))
    else:
        click.echo(f"wrote {out} ({data['verdict']}; change record {stored.n} {stored.record_hash})")
