"""The change record service: gather a release's facts and evidence, build the data, render html, md or pdf."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from release.errors import UsageError
from release.report.changes import changelog_view
from release.report.sections import (
    content_hash,
    criteria_section,
    evidence_section,
    plans_section,
    scope_section,
)
from release.report.summary import summary_section

if TYPE_CHECKING:
    from release.workflow.context import Context

RECORD_FORMATS = ("html", "md", "pdf")


def record_sections(data: Mapping[str, Any], *, changelog: Any | None, settings: Any,
                    files: Mapping[str, Mapping[str, Any]], gate_options: Mapping[str, Mapping[str, Any]],
                    criteria: list[dict[str, Any]], problems: list[str],
                    people: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The sections added to build_report_data's output (pure): scope, plans, evidence, criteria, hash, summary.

    `people` maps each sign-off and approval gate to {role, quorum, members}, for the summary's "who may still
    decide". The summary and the changelog view are derived from the rest, so the content hash leaves them out.
    """
    cand = data.get("candidate") or {}
    extra: dict[str, Any] = {
        "scope": scope_section(changelog),
        "plans": plans_section(settings, version=data["version"], previous_version=data.get("previous_version"),
                               tag=cand.get("tag") or data["tag"], commit=cand.get("sha") or "(no candidate)"),
        "evidence": evidence_section(data.get("gates", ()), files, gate_options),
        "criteria": criteria_section(criteria, data.get("gates", ()), files),
        "evidence_problems": list(problems),
    }
    extra["content_hash"] = content_hash({**data, **extra})
    extra["changelog_view"] = changelog_view(extra["scope"])
    extra["people"] = {gate: dict(spec) for gate, spec in (people or {}).items()}
    extra["summary"] = summary_section({**data, **extra})
    return extra


def _changelog(ctx: Context, version: str, previous: str | None, sha: str) -> Any | None:
    """The structured changelog of the candidate since the production tag (None when git cannot say)."""
    from release.changelog import build_changelog
    from release.versioning import format_ref

    since = None
    if previous:
        tag = format_ref(ctx.config.release.tag, previous)
        since = tag if ctx.git.tag_sha(tag) else None
    if not ctx.git.resolve(sha):
        return None
    return build_changelog(version, previous, ctx.git.commits_between(since, sha), ctx.now().date())


def change_record_data(ctx: Context, version: str | None) -> dict[str, Any]:
    """Everything the change record shows for a release's newest candidate, as plain data."""
    from release.changelog import render_changelog
    from release.report import build_report_data
    from release.report.evidence import read_gate_files
    from release.workflow.status import evaluate_release

    view = evaluate_release(ctx, version)
    cand = view.candidate
    changelog = _changelog(ctx, view.release.version, view.release.previous_version, cand.sha) if cand else None
    head = ctx.ledger.audit_checkpoint()
    data = build_report_data(view, changelog=render_changelog(changelog) if changelog else "",
                             audit_head=head.hash, audit_head_seq=head.seq, generated_at=ctx.now(),
                             tag_format=ctx.config.release.tag)
    files, problems = read_gate_files(ctx.ledger.evidence_root, data["gates"])
    criteria = [{"gate": g.name, "id": c.id, "text": c.text, "verify": c.verify}
                for g in ctx.config.gates.values() for c in g.items]
    options = {g.name: g.options for g in ctx.config.gates.values()}
    people = {g.name: {"role": g.role, "quorum": g.quorum, "members": list(ctx.config.members(g.role))}
              for g in ctx.config.gates.values() if g.kind in ("approval", "signoff") and g.role}
    data.update(record_sections(data, changelog=changelog, settings=ctx.config.report, files=files,
                                gate_options=options, criteria=criteria, problems=problems, people=people))
    return data


def render_record(data: Mapping[str, Any], fmt: str) -> bytes:
    """The change record as html, md (UTF-8) or pdf bytes; the PDF is WeasyPrint over the same HTML."""
    from release.report import render

    if fmt not in RECORD_FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; expected one of {', '.join(RECORD_FORMATS)}")
    if fmt == "md":
        return render(data, "md").encode("utf-8")
    if fmt == "pdf":
        from release.extras import require_extra

        require_extra("pdf")  # exit 2 naming pip install 'crvs-release[pdf]' before anything is drawn
    from release.report.charts import record_charts

    html = render({**data, "charts": record_charts(data.get("evidence", ()))}, "html")
    if fmt == "pdf":
        from release.report.pdf import html_to_pdf

        return html_to_pdf(html)
    return html.encode("utf-8")
