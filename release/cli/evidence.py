"""`release evidence export|import`: carry gate evidence between ledgers as a signed bundle."""

from __future__ import annotations

import json
from pathlib import Path

import click

from release.evidence_bundle import KEY_ENV


@click.group("evidence")
def command() -> None:
    """Export or import gate evidence as an HMAC-signed bundle."""


@command.command("export")
@click.argument("version")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the bundle (.tar.gz).")
@click.option("--key-env", default=KEY_ENV, show_default=True, help="Env var holding the HMAC signing key.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def export(version: str, out: Path, key_env: str, as_json: bool) -> None:
    """Write VERSION's candidates, gate runs, artifacts and decisions to a signed bundle."""
    from release.evidence_bundle import export_bundle, signing_key
    from release.workflow.context import open_context
    from release.workflow.status import resolve_release

    ctx = open_context()
    key = signing_key(ctx.environ, key_env)
    release = resolve_release(ctx, version)
    manifest = export_bundle(ctx.ledger, release, out, key)
    counts = {"version": release.version, "bundle": str(out), "candidates": len(manifest["candidates"]),
              "gate_runs": len(manifest["gate_runs"]), "decisions": len(manifest["decisions"]),
              "waivers": len(manifest["waivers"])}
    if as_json:
        click.echo(json.dumps(counts, indent=2))
    else:
        click.echo(f"exported {release.version}: {counts['gate_runs']} gate runs, {counts['decisions']} decisions, "
                   f"{counts['waivers']} waivers -> {out}")


@command.command("import")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key-env", default=KEY_ENV, show_default=True, help="Env var holding the HMAC signing key.")
@click.option("--dry-run", is_flag=True, help="Verify the bundle and say what it holds; import nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def import_(bundle: Path, key_env: str, dry_run: bool, as_json: bool) -> None:
    """Verify BUNDLE's signature and hashes, then add its evidence to this ledger (idempotent)."""
    from dataclasses import asdict

    from release.evidence_bundle import import_bundle, read_bundle, signing_key
    from release.workflow.context import open_context

    ctx = open_context(dry_run=dry_run)
    key = signing_key(ctx.environ, key_env)
    if dry_run:
        manifest, _ = read_bundle(bundle, key)
        result = {"version": manifest["release"]["version"], "verified": True, "dry_run": True,
                  "gate_runs": len(manifest["gate_runs"]), "decisions": len(manifest["decisions"]),
                  "waivers": len(manifest["waivers"])}
    else:
        result = {"verified": True, **asdict(import_bundle(ctx, bundle, key))}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        verb = "would import" if dry_run else "imported"
        click.echo(f"bundle verified; {verb} {result['version']}: {result['gate_runs']} gate runs, "
                   f"{result['decisions']} decisions, {result['waivers']} waivers")
