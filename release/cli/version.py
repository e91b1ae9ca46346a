"""`release version`: a read-only preview of the next version and the candidate tag.

Exit 0 with the plan, or with "nothing to release" (a quiet week must not turn a CI schedule red; --json then
says ``"released": false``). Exit 2 where the version cannot be right: a shallow clone, version tags without
a production branch, a version whose final tag exists (docs/versioning.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("version")
@click.option("--bump", type=click.Choice(["auto", "major", "minor", "patch"]), default="auto", show_default=True,
              help="Force a bump instead of reading Conventional Commits.")
@click.option("--version", "explicit", metavar="X.Y.Z", help="Use this exact version.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="release.toml (default: found upwards).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(bump: str, explicit: str | None, config_path: Path | None, as_json: bool) -> None:
    """Preview the next version, why, and the rc tag `prepare` would create."""
    from release.config import find_config, load_config
    from release.gitproject import GitProject
    from release.planning import NothingToPlan, plan_version

    project = GitProject(Path.cwd())
    config = load_config(config_path or find_config(Path.cwd()))
    try:
        plan = plan_version(config, project, bump=bump, explicit=explicit)
    except NothingToPlan as nothing:
        _note(nothing.baseline.production_note)
        click.echo(json.dumps(nothing.to_json(), indent=2) if as_json else nothing.line())
        return
    _note(plan.production_note)
    if as_json:
        click.echo(json.dumps(plan.to_json(), indent=2))
        return
    previous = f"{plan.last_version} ({plan.last_tag}) on {plan.production_ref}" if plan.last_version \
        else "none (first release)"
    click.echo(f"production: {previous}")
    click.echo(f"next:       {plan.next_version} ({plan.bump} bump)")
    if plan.bump_note:
        click.echo(f"            {plan.bump_note}")
    for c in plan.reasons:
        scope = f"({c.scope})" if c.scope else ""
        mark = "!" if c.breaking else ""
        part = f" (squashed commit {c.squash_part})" if c.squash_part else ""
        click.echo(f"  because {c.short_sha}{part} {c.type}{scope}{mark}: {c.subject}")
    state = "existing, at HEAD" if plan.rc_reused else "would create"
    click.echo(f"candidate:  {plan.rc_tag} ({state}) on {plan.branch} at {plan.head[:7]}")


def _note(text: str | None) -> None:
    """A note on stderr (so --json stays parseable), e.g. that production was read from origin/<branch>."""
    if text:
        click.echo(f"note: {text}", err=True)
