"""Latency charts for the change record, drawn by matplotlib's SVG backend and returned as inline <svg> text.

The charts take plain numbers (no ledger, no files) so they can be tested on their own. Each returns one
standalone `<svg ...>...</svg>` element with no XML prolog, no DOCTYPE and no external reference, so the
HTML record stays a single file and WeasyPrint draws the same SVG into the PDF.

matplotlib (with numpy, some 170 MB) is the [charts] extra, imported only when a chart is drawn. Without it
the HTML record says where its charts would be and how to get them; the numbers are in the table above them.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from release.extras import has_extra, install_line

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CANDIDATE_COLOUR = "#1f5fa8"
BASELINE_COLOUR = "#9aa5b1"
SLO_COLOUR = "#c0392b"
_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


@dataclass(frozen=True)
class LatencyBar:
    """One procedure's p95 for the candidate, the baseline (None if unmeasured) and its SLO (None if unset)."""

    procedure: str
    candidate_ms: float
    baseline_ms: float | None = None
    slo_ms: float | None = None


def _plain(text: str) -> str:
    """A label drawn as written: matplotlib parses text between two `$` as mathtext (and raises on bad mathtext);
    an escaped `\\$` is a literal dollar sign. The SVG writer escapes <, > and & itself."""
    return str(text).replace("$", r"\$")


def _figure(width: float, height: float) -> Figure:
    """A matplotlib figure on the Agg backend (set before anything could pick a display backend)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _svg(fig: Figure, salt: str) -> str:
    """Serialise a figure as one inline <svg> element with deterministic ids unique to `salt`."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight",
                    metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = _METADATA.sub("", _PROLOG.sub("", buffer.getvalue(), count=1))
    # matplotlib names elements patch_1, line2d_1, ... in every figure; prefix them so two charts
    # inlined in one page never share an id.
    prefix = re.sub(r"[^A-Za-z0-9]", "-", salt)
    text = re.sub(r'id="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r'url\(#([^)]+)\)', rf'url(#{prefix}-\1)', text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)
    return text.strip()


@dataclass(frozen=True)
class SlowdownPoint:
    """One procedure's candidate/baseline latency ratio, its interval and the load gate's verdict on it."""

    procedure: str
    ratio: float
    ci_low: float | None = None
    ci_high: float | None = None
    verdict: str | None = None


def _scale(values: Sequence[float], slo: float | None, *, headroom: float = 1.15) -> tuple[float, bool]:
    """The axis end for `values`, and whether an SLO fits on it without squashing the data to a sliver.

    The SLO joins the axis when it is at most twice the largest value; further out it is noted, not drawn, so
    a 24 -> 178 ms regression is not a sliver next to a 5,000 ms SLO (the table keeps every number).
    """
    top = max([v for v in values if v is not None] or [1.0])
    if slo is not None and slo <= 2 * top:
        return max(top, slo) * headroom, True
    return top * headroom, False


def slowdown_chart(points: Sequence[SlowdownPoint], *, max_slowdown: float | None, confidence: float | None = None,
                   title: str | None = None) -> str:
    """The board's main picture: per procedure the slowdown ratio with its interval, the no-change line and the
    budget line (1 + max_slowdown), in the spirit of Kayenta's per-metric canary judgement. A log axis keeps a
    x11 regression and a x0.9 improvement readable side by side."""
    if not points:
        raise ValueError("a slowdown chart needs at least one procedure")
    fig = _figure(7.0, 1.0 + 0.42 * len(points))
    ax = fig.add_subplot()
    ys = list(range(len(points)))
    budget = 1.0 + max_slowdown if max_slowdown is not None else None
    highs = [p.ci_high if p.ci_high is not None else p.ratio for p in points]
    lows = [p.ci_low if p.ci_low is not None else p.ratio for p in points]
    span_hi = max([*highs, budget or 1.0, 1.0]) * 1.6  # room for the label right of the dot
    span_lo = min([*lows, 1.0]) / 1.25
    for y, p in zip(ys, points, strict=True):
        colour = SLO_COLOUR if p.verdict == "FAIL" else CANDIDATE_COLOUR
        if p.ci_low is not None and p.ci_high is not None:
            ax.plot([p.ci_low, p.ci_high], [y, y], color=colour, linewidth=3, alpha=0.45, solid_capstyle="butt")
        ax.plot([p.ratio], [y], marker="o", color=colour, markersize=6)
        ax.annotate(f"x{p.ratio:.2f}" + (" FAIL" if p.verdict == "FAIL" else ""), (p.ratio, y),
                    xytext=(6, 5), textcoords="offset points", fontsize="small", color=colour)
    ax.axvline(1.0, color="#555555", linewidth=0.9, label="no change (x1)")
    if budget is not None:
        ax.axvline(budget, color=SLO_COLOUR, linestyle="--", linewidth=1.3, label=f"budget (x{budget:g})")
    if span_hi / span_lo > 4:
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

        ax.set_xscale("log")
        ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500) if span_lo <= t <= span_hi]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
    else:
        from matplotlib.ticker import FuncFormatter
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"x{v:g}"))
    ax.set_xlim(span_lo, span_hi)
    ax.set_yticks(ys, [_plain(p.procedure) for p in points])
    ax.set_ylim(len(points) - 0.5, -0.7)
    level = f"{confidence * 100:g}% " if confidence else ""
    ax.set_xlabel(f"candidate / baseline median latency (dot), {level}interval (bar)")
    ax.set_title(_plain(title or "Slowdown per procedure"))
    ax.grid(axis="x", alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize="small")
    return _svg(fig, f"slowdown-{title or ''}")


def latency_bar_chart(bars: Sequence[LatencyBar], *, percentile: str = "p95", title: str | None = None) -> str:
    """A grouped bar chart: per procedure, candidate vs baseline latency, on an axis scaled to the data; an SLO
    in range is a red tick, one far off the scale is named in the legend instead."""
    if not bars:
        raise ValueError("a latency bar chart needs at least one procedure")
    fig = _figure(7.0, 1.1 + 0.55 * len(bars))
    ax = fig.add_subplot()
    height = 0.38
    names = [_plain(b.procedure) for b in bars]
    ys = list(range(len(bars)))
    values = [b.candidate_ms for b in bars] + [b.baseline_ms for b in bars if b.baseline_ms is not None]
    slos = [b.slo_ms for b in bars if b.slo_ms is not None]
    limit, _ = _scale(values, None)
    off_scale = sorted({s for s in slos if s > 2 * max(values)})
    if slos and not off_scale:
        limit = max(limit, max(slos) * 1.1)
    ax.barh([y - height / 2 for y in ys], [b.candidate_ms for b in bars], height=height,
            color=CANDIDATE_COLOUR, label="candidate")
    base_y = [y + height / 2 for y, b in zip(ys, bars, strict=True) if b.baseline_ms is not None]
    base_v = [b.baseline_ms for b in bars if b.baseline_ms is not None]
    if base_v:
        ax.barh(base_y, base_v, height=height, color=BASELINE_COLOUR, label="baseline (production)")
    slo_drawn = False
    for y, b in zip(ys, bars, strict=True):
        if b.slo_ms is not None and b.slo_ms not in off_scale:
            ax.plot([b.slo_ms, b.slo_ms], [y - 0.45, y + 0.45], color=SLO_COLOUR, linewidth=2,
                    label=None if slo_drawn else "SLO")
            slo_drawn = True
    if off_scale:
        ax.plot([], [], " ", label="SLO " + ", ".join(f"{s:g}" for s in off_scale) + " ms: off this scale")
    ax.set_xlim(0, limit)
    ax.set_yticks(ys, names)
    ax.invert_yaxis()
    ax.set_xlabel(f"{percentile} latency (ms)")
    ax.set_title(_plain(title or f"{percentile} latency per procedure"))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return _svg(fig, f"bars-{percentile}")


def _cdf(values_ms: Sequence[float], counts: Sequence[float]) -> tuple[list[float], list[float]]:
    """Cumulative fraction at each latency value of a histogram."""
    pairs = sorted((float(v), int(c)) for v, c in zip(values_ms, counts, strict=True) if int(c) > 0)
    total = sum(c for _, c in pairs)
    xs, ys, running = [], [], 0
    for v, c in pairs:
        running += c
        xs.append(v)
        ys.append(running / total)
    return xs, ys


def _quantile(xs: Sequence[float], ys: Sequence[float], q: float) -> float:
    """The first latency whose cumulative fraction reaches q."""
    return next((x for x, y in zip(xs, ys, strict=True) if y >= q), xs[-1])


def latency_cdf_chart(procedure: str, series: Mapping[str, Mapping[str, Sequence[float]]],
                      *, slo_ms: float | None = None) -> str:
    """A step CDF of one procedure's latency, one line per series (e.g. candidate, baseline).

    `series` maps a label to a histogram `{"values_ms": [...], "counts": [...]}` as in histograms.json.
    """
    drawn = {label: _cdf(h.get("values_ms", ()), h.get("counts", ())) for label, h in series.items()}
    drawn = {label: xy for label, xy in drawn.items() if xy[0]}
    if not drawn:
        raise ValueError(f"no latency samples for {procedure}")
    fig = _figure(7.0, 3.2)
    ax = fig.add_subplot()
    colours = {"candidate": CANDIDATE_COLOUR, "baseline": BASELINE_COLOUR}
    for label, (xs, ys) in drawn.items():
        ax.step(xs, ys, where="post", label=_plain(label), color=colours.get(label.split()[0]), linewidth=1.6)
    # The axis ends past the slowest series' 99th percentile, so one outlier does not flatten every line.
    limit, slo_in_range = _scale([_quantile(xs, ys, 0.99) for xs, ys in drawn.values()], slo_ms, headroom=1.3)
    if slo_ms is not None and slo_in_range:
        ax.axvline(slo_ms, color=SLO_COLOUR, linestyle="--", linewidth=1.2, label=f"SLO {slo_ms:g} ms")
    elif slo_ms is not None:
        ax.plot([], [], " ", label=f"SLO {slo_ms:g} ms: off this scale")
    ax.axhline(0.95, color="#555555", linestyle=":", linewidth=0.8)
    ax.set_xlim(0, limit)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of requests")
    ax.set_title(_plain(f"Latency CDF: {procedure}"))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return _svg(fig, f"cdf-{procedure}")


#: What the HTML record shows in place of the charts when matplotlib is not installed (constant, trusted HTML).
CHARTS_MISSING_NOTE = ('<p class="charts-missing"><em>Latency charts are not drawn: this install has no '
                       f"matplotlib. Run <code>{install_line('charts')}</code> and render the record again; "
                       "the table above holds the same numbers.</em></p>")


def _figure_of(svg: str, alt: str) -> dict[str, str]:
    """A chart with its alt text: the <svg> labelled for screen readers (role=img), the text kept for a caption."""
    from markupsafe import escape

    labelled = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(alt)}" ', 1)
    return {"svg": labelled, "alt": alt}


def _slowdown_alt(rows: Sequence[Mapping[str, Any]], max_slowdown: float | None) -> str:
    """What the slowdown picture shows, in words: the budget, the slowest procedure and any over budget."""
    failed = [str(r["procedure"]) for r in rows if r.get("verdict") == "FAIL"]
    budget = f"budget x{1 + max_slowdown:g}" if max_slowdown is not None else "no budget set"
    worst = max(rows, key=lambda r: float(r["ratio"]))
    over = f"; over budget: {', '.join(failed)}" if failed else ""
    return (f"Slowdown ratio per procedure with its interval; {budget}; slowest {worst['procedure']} "
            f"x{float(worst['ratio']):.2f}{over}.")


def record_charts(evidence: Sequence[Mapping[str, object]]) -> dict[str, dict[str, object]]:
    """SVG charts for each load evidence block of the change record.

    {gate: {"slowdown": figure | None, "bars": figure | None, "cdfs": [figure], "missing": html | None}}, where a
    figure is {"svg", "alt"}. Without the [charts] extra each block gets CHARTS_MISSING_NOTE and no figures.
    """
    out: dict[str, dict[str, object]] = {}
    drawable = has_extra("charts")
    for block in evidence:
        load = block.get("load")
        if not isinstance(load, Mapping) or not load.get("available"):
            continue
        gate = str(block.get("gate"))
        if not drawable:
            out[gate] = {"slowdown": None, "bars": None, "cdfs": [], "missing": CHARTS_MISSING_NOTE}
            continue
        out[gate] = _gate_charts(gate, json.dumps(load, sort_keys=True, default=str))
    return out


@lru_cache(maxsize=16)
def _gate_charts(gate: str, load_json: str) -> dict[str, object]:
    """One load block's figures. Drawing is the record's slowest step (about a second a chart) and every decision
    renders a new record version of the same evidence, so figures are kept per (gate, numbers): same numbers,
    same SVG. Callers only read the result."""
    load = json.loads(load_json)
    rows = [r for r in load.get("procedures", ()) if isinstance(r, Mapping)]
    ratios = [r for r in rows if isinstance(r.get("ratio"), int | float)]
    slowdown = None
    if ratios:
        max_slowdown = load.get("max_slowdown")
        budget = float(max_slowdown) if isinstance(max_slowdown, int | float) else None
        confidence = load.get("confidence")
        svg = slowdown_chart([SlowdownPoint(str(r["procedure"]), float(r["ratio"]), r.get("ci_low"),
                                            r.get("ci_high"), r.get("verdict")) for r in ratios],
                             max_slowdown=budget,
                             confidence=float(confidence) if isinstance(confidence, int | float) else None,
                             title=f"Slowdown per procedure: {gate}")
        slowdown = _figure_of(svg, _slowdown_alt(ratios, budget))
    p95 = [r for r in rows if isinstance(r.get("p95_ms"), int | float)]
    bars = None
    if p95:
        svg = latency_bar_chart([LatencyBar(str(r["procedure"]), float(r["p95_ms"]), r.get("baseline_p95_ms"),
                                            r.get("slo_p95_ms")) for r in p95],
                                title=f"p95 latency per procedure: {gate}")
        bars = _figure_of(svg, f"p95 latency per procedure, candidate against baseline, for {len(p95)} "
                               "procedures; the numbers are in the table above.")
    cdfs = [_figure_of(latency_cdf_chart(str(c["procedure"]), c["series"], slo_ms=c.get("slo_p95_ms")),
                       f"Latency distribution (CDF) of {c['procedure']}, candidate against baseline.")
            for c in load.get("cdfs", ()) if isinstance(c, Mapping)]
    return {"slowdown": slowdown, "bars": bars, "cdfs": cdfs, "missing": None}
