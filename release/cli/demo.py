"""`release demo`: a whole release cycle against bundled sandboxes."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("demo")
@click.option("--workdir", type=click.Path(path_type=Path), help="Where to build the demo (default: a temp folder).")
@click.option("--keep", is_flag=True, help="Also keep the sandboxes' databases and logs.")
@click.option("--load-duration", default=20, show_default=True, type=click.IntRange(5, 300),
              help="Seconds of A/B load per candidate.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(click_ctx: click.Context, workdir: Path | None, keep: bool, load_duration: int, as_json: bool) -> None:
    """Promote one candidate, then watch the next two get blocked: one slows search down (the load gate), the
    other ships a migration that drops the date of death (the migration rehearsal gate).

    Exit 0 when the first release is promoted and both later candidates are blocked by those gates.
    """
    from release.extras import require_extra
    from release.workflow.demo import run_demo
    from release.workflow.progress import printer

    for extra in ("sandbox", "load"):  # its sandboxes and its A/B load gate; exit 2 before anything starts
        require_extra(extra)
    result = run_demo(workdir, keep=keep, load_duration_s=load_duration, progress=printer(quiet=as_json))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        for s in result.steps:
            extra = s.get("message") or s.get("gates") or s.get("url") or ""
            click.echo(f"- {s['step']} {s.get('version', '')}: {extra}")
        click.echo(("DEMO OK: " if result.ok else "DEMO FAILED: ") + result.message)
        click.echo(f"repository, ledger and evidence: {result.repo}")
        for name, path in result.reports.items():
            click.echo(f"report ({name} candidate): {path}")
        click.echo(f"took {result.duration_s:.0f}s")
    click_ctx.exit(0 if result.ok else 1)
