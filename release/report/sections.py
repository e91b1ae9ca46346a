"""The change record's longer sections, built by pure functions from plain data.

scope (changelog grouped, breaking first), risk and plans (config texts filled with real versions),
test evidence (regression per marker, browser screenshots, load percentiles vs SLO and baseline), acceptance
criteria with how each was verified, and the content hash a board member approves. File reading lives in
release.report.evidence; chart drawing happens at render time from the numbers kept here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from release.gates.canonical import canonical_hash

#: Procedures whose latency distribution is drawn as a CDF: the search and the registration paths.
CDF_PROCEDURES = ("event.search", "event.actions.register.request")
PERCENTILES = ("p50_ms", "p95_ms", "p99_ms")
#: Keys of the report data that change as people decide or time passes; the content hash leaves them out,
#: so a second approval does not invalidate the page the first member approved.
VOLATILE_KEYS = frozenset({"generated_at", "audit_head", "audit_head_seq", "audit_witness", "decisions", "verdict",
                           "blocking_reasons", "totals", "state", "approvals", "content_hash", "gates", "evaluated",
                           "summary", "changelog_view", "charts", "people"})
#: A level written at the start of the configured [report] risk text ("Medium: ..."). The record derives its level
#: from facts (release.report.risk); a fixed word in the config would contradict it, so it is left out.
_FIXED_LEVEL = re.compile(r"^\s*(?:risk\s*:?\s*)?(?:low|medium|moderate|high)(?:\s*:|\s+[-\u2013\u2014]\s)\s*", re.IGNORECASE)
MAX_CDF_POINTS = 400


def scope_section(changelog: Any | None) -> dict[str, Any]:
    """The changelog as groups (a release.changelog.ChangelogData); breaking changes come first."""
    if changelog is None:
        return {"groups": [], "breaking": [], "entries": 0}
    groups = []
    for section in changelog.sections:
        groups.append({"title": section.title, "entries": [
            {"subject": e.subject, "scope": e.scope, "sha": e.short_sha, "refs": list(e.issue_refs)}
            for e in section.entries]})
    groups.sort(key=lambda g: 0 if g["title"].lower().startswith("breaking") else 1)  # stable otherwise
    breaking = [e for g in groups if g["title"].lower().startswith("breaking") for e in g["entries"]]
    return {"groups": groups, "breaking": breaking, "entries": sum(len(g["entries"]) for g in groups)}


def plans_section(settings: Any, *, version: str, previous_version: str | None, tag: str,
                  commit: str) -> dict[str, str]:
    """Risk notes, impact, implementation and backout texts from [report], filled with the real versions.

    A risk text that opens with a fixed level ("Medium: ...") keeps its notes without the level: the record's level
    is derived from facts and shown with its rule.
    """
    texts = {name: settings.render(name, version=version, previous_version=previous_version, tag=tag, commit=commit)
             for name in ("risk", "impact", "implementation_plan", "backout_plan")}
    notes = _FIXED_LEVEL.sub("", texts["risk"], count=1)
    texts["risk"] = notes[:1].upper() + notes[1:]
    return texts


def _as_map(value: Any) -> Mapping[str, Any]:
    """value when it is a mapping, else an empty one (evidence files are untrusted input)."""
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def regression_evidence(summary: Mapping[str, Any] | None) -> dict[str, Any]:
    """Counts, per-marker counts, failures and flaky tests of a regression-summary.json (counts and ids only)."""
    if not isinstance(summary, Mapping):
        return {"available": False, "status": None, "counts": {}, "markers": [], "failures": [], "flaky": []}
    counts = _as_map(summary.get("counts"))
    markers = _as_map(summary.get("markers"))
    rows = []
    for name in sorted(markers):
        m = _as_map(markers[name])
        row = {"marker": name, **{k: _int(m.get(k)) for k in ("passed", "failed", "skipped", "flaky")}}
        if any(row[k] for k in ("passed", "failed", "skipped", "flaky")):
            rows.append(row)
    failures = [{"nodeid": str(f.get("nodeid", "")), "reason": str(f.get("reason", ""))[:300]}
                for f in summary.get("failures") or [] if isinstance(f, Mapping)]
    flaky = [{"nodeid": str(f.get("nodeid", "")), "reruns": _int(f.get("reruns"))}
             for f in summary.get("flaky") or [] if isinstance(f, Mapping)]
    return {"available": True, "status": summary.get("status"),
            "counts": {k: _int(counts.get(k)) for k in ("total", "passed", "failed", "errors", "skipped", "flaky")},
            "markers": rows, "failures": failures, "flaky": flaky}


def _thin(values: Sequence[Any], counts: Sequence[Any]) -> dict[str, list[Any]]:
    """A histogram reduced to at most MAX_CDF_POINTS buckets (merging neighbours keeps the CDF's shape)."""
    pairs = [(float(v), int(c)) for v, c in zip(values, counts, strict=False)
             if _num(v) is not None and isinstance(c, int) and c > 0]
    pairs.sort()
    if len(pairs) <= MAX_CDF_POINTS:
        return {"values_ms": [v for v, _ in pairs], "counts": [c for _, c in pairs]}
    step = -(-len(pairs) // MAX_CDF_POINTS)
    out_v, out_c = [], []
    for i in range(0, len(pairs), step):
        chunk = pairs[i:i + step]
        out_v.append(chunk[-1][0])
        out_c.append(sum(c for _, c in chunk))
    return {"values_ms": out_v, "counts": out_c}


def _procedures(doc: Mapping[str, Any] | None) -> Mapping[str, Any]:
    procs = doc.get("procedures") if isinstance(doc, Mapping) else None
    return _as_map(procs)


def load_evidence(files: Mapping[str, Any], slo: Mapping[str, Any] | None) -> dict[str, Any]:
    """Per procedure p50/p95/p99 vs SLO and vs baseline, with ratio, interval and verdict, plus CDF data.

    `files` holds parsed documents: stats, histograms, comparison, baseline_stats, baseline_histograms
    (any may be missing). `slo` is the gate's `slo` table ({procedure: {p95_ms: ...}, errors: ...}).
    """
    stats, comparison = _procedures(files.get("stats")), _procedures(files.get("comparison"))
    base_stats = _procedures(files.get("baseline_stats"))
    hists, base_hists = _procedures(files.get("histograms")), _procedures(files.get("baseline_histograms"))
    slo = slo or {}
    rows = []
    for name in sorted(set(stats) | set(comparison)):
        s = _as_map(stats.get(name))
        b = _as_map(base_stats.get(name))
        c = _as_map(comparison.get(name))
        limits = _as_map(slo.get(name))
        row: dict[str, Any] = {"procedure": name, "count": _int(s.get("count")), "failures": _int(s.get("failures"))}
        for p in PERCENTILES:
            row[p] = _num(s.get(p))
            row[f"baseline_{p}"] = _num(b.get(p))
            row[f"slo_{p}"] = _num(limits.get(p))
        row["slo_ok"] = all(row[p] is not None and row[p] <= row[f"slo_{p}"]
                            for p in PERCENTILES if row[f"slo_{p}"] is not None)
        row["baseline_median_ms"] = _num(c.get("median_baseline_ms"))
        row["ratio"], row["ci_low"], row["ci_high"] = _num(c.get("ratio")), _num(c.get("ci_low")), _num(c.get("ci_high"))
        row["verdict"] = str(c["verdict"]) if c.get("verdict") is not None else None
        rows.append(row)
    cdfs = []
    for name in CDF_PROCEDURES:
        series = {}
        for label, source in (("candidate", hists), ("baseline", base_hists)):
            h = source.get(name)
            if isinstance(h, Mapping) and isinstance(h.get("values_ms"), list) and isinstance(h.get("counts"), list):
                thinned = _thin(h["values_ms"], h["counts"])
                if thinned["values_ms"]:
                    series[label] = thinned
        if series:
            limits = _as_map(slo.get(name))
            cdfs.append({"procedure": name, "series": series, "slo_p95_ms": _num(limits.get("p95_ms"))})
    comp = _as_map(files.get("comparison"))
    return {"available": bool(rows), "procedures": rows, "cdfs": cdfs,
            "stats_verdict": (files.get("stats") or {}).get("verdict") if isinstance(files.get("stats"), Mapping) else None,
            "comparison_verdict": comp.get("verdict"), "max_slowdown": _num(comp.get("max_slowdown")),
            "confidence": _num(comp.get("confidence"))}


def evidence_section(gates: Sequence[Mapping[str, Any]], files: Mapping[str, Mapping[str, Any]],
                     gate_options: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One evidence block per automated gate that has evidence, in checklist order.

    `files[gate]` holds what release.report.evidence read for that gate's run: `summary`, `screenshots`
    ([{name, sha256, data_uri}]) and the load documents; `gate_options[gate]` is the gate's config options.
    """
    blocks = []
    for g in gates:
        ev = g.get("evidence")
        if not ev:
            continue
        kind = g.get("kind")
        got = files.get(g["gate"], {})
        block: dict[str, Any] = {
            "gate": g["gate"], "kind": kind, "state": g.get("state"), "run_id": ev.get("run_id"),
            "commit": ev.get("commit"), "target_url": ev.get("target_url"), "target_version": ev.get("target_version"),
            "artifacts": list(ev.get("artifacts") or []), "regression": None, "screenshots": [], "load": None}
        if kind in ("pytest", "browser", "command"):
            block["regression"] = regression_evidence(got.get("summary"))
            block["screenshots"] = [dict(s) for s in got.get("screenshots", ())]
        if kind == "locust":
            block["load"] = load_evidence(got, (gate_options.get(g["gate"]) or {}).get("slo"))
        blocks.append(block)
    return blocks


def criteria_section(criteria: Sequence[Mapping[str, Any]], gates: Sequence[Mapping[str, Any]],
                     files: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each acceptance criterion with how it was verified: a passing test in the evidence, or who attested it.

    `criteria` is [{gate, id, text, verify}]; a test counts only if a regression summary of some gate's current
    evidence lists it as passed (and none lists it as failed).
    """
    passed: set[str] = set()
    failed: set[str] = set()
    for g in gates:
        summary = (files.get(g["gate"]) or {}).get("summary")
        if not g.get("evidence") or not isinstance(summary, Mapping):
            continue
        failed.update(str(f.get("nodeid")) for f in summary.get("failures") or [] if isinstance(f, Mapping))
        if g.get("state") != "PASSED":
            continue  # a pass counts only from current, passing evidence (not STALE, ERROR or INCONCLUSIVE)
        passed.update(str(n) for n in summary.get("passed_nodeids") or [])
    attest = {(g["gate"], d.get("criterion")): d for g in gates for d in g.get("decisions", ())
              if d.get("kind") == "acceptance"}
    rows = []
    for c in criteria:
        verify = c.get("verify")
        if verify:
            def matches(nodeid: str, verify: str = str(verify)) -> bool:
                return nodeid == verify or nodeid.endswith("/" + verify)
            hit, miss = any(matches(n) for n in passed), any(matches(n) for n in failed)
            status = "failed" if miss else ("verified" if hit else "not verified")
            how = f"test {verify}"
        else:
            d = attest.get((c["gate"], c["id"]))
            status = "attested" if d else "not attested"
            how = f"attested by {d['actor']} at {d['at']}" if d else "to be attested by hand"
        rows.append({"gate": c["gate"], "id": c["id"], "text": c["text"], "verify": verify, "status": status,
                     "how": how})
    return rows


def content_hash(data: Mapping[str, Any]) -> str:
    """sha256 of what a board member reads and approves: everything except decisions and derived states."""
    stable = {k: v for k, v in data.items() if k not in VOLATILE_KEYS}
    stable["gate_evidence"] = [{"gate": g.get("gate"), "evidence": g.get("evidence"), "waiver": g.get("waiver")}
                               for g in data.get("gates", ())]
    return canonical_hash(stable)
