"""Latency charts for the change record, drawn by matplotlib's SVG backend and returned as inline <svg> text.

The charts take plain numbers (no ledger, no files) so they can be tested on their own. Each returns one
standalone `<svg ...>...</svg>` element with no XML prolog, no DOCTYPE and no external reference, so the
HTML record stays a single file and WeasyPrint draws the same SVG into the PDF.

matplotlib (with numpy, some 170 MB) is the [charts] extra, imported only when a chart is drawn. Without it
the HTML record says where its charts would be and how to get them; the numbers are in the table above them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


def latency_bar_chart(bars: Sequence[LatencyBar], *, percentile: str = "p95", title: str | None = None) -> str:
    """A grouped bar chart: per procedure, candidate vs baseline latency, with the SLO as a red tick."""
    if not bars:
        raise ValueError("a latency bar chart needs at least one procedure")
    fig = _figure(7.0, 0.9 + 0.55 * len(bars))
    ax = fig.add_subplot()
    height = 0.38
    names = [_plain(b.procedure) for b in bars]
    ys = list(range(len(bars)))
    ax.barh([y - height / 2 for y in ys], [b.candidate_ms for b in bars], height=height,
            color=CANDIDATE_COLOUR, label="candidate")
    base_y = [y + height / 2 for y, b in zip(ys, bars, strict=True) if b.baseline_ms is not None]
    base_v = [b.baseline_ms for b in bars if b.baseline_ms is not None]
    if base_v:
        ax.barh(base_y, base_v, height=height, color=BASELINE_COLOUR, label="baseline (production)")
    slo_drawn = False
    for y, b in zip(ys, bars, strict=True):
        if b.slo_ms is not None:
            ax.plot([b.slo_ms, b.slo_ms], [y - 0.45, y + 0.45], color=SLO_COLOUR, linewidth=2,
                    label=None if slo_drawn else "SLO")
            slo_drawn = True
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
    if slo_ms is not None:
        ax.axvline(slo_ms, color=SLO_COLOUR, linestyle="--", linewidth=1.2, label=f"SLO {slo_ms:g} ms")
    ax.axhline(0.95, color="#555555", linestyle=":", linewidth=0.8)
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


def record_charts(evidence: Sequence[Mapping[str, object]]) -> dict[str, dict[str, object]]:
    """SVG charts for each load evidence block of the change record: {gate: {"bars": svg|None, "cdfs": [svg]}}.

    Without the [charts] extra each block gets CHARTS_MISSING_NOTE instead of its bars and no CDFs.
    """
    out: dict[str, dict[str, object]] = {}
    drawable = has_extra("charts")
    for block in evidence:
        load = block.get("load")
        if not isinstance(load, Mapping) or not load.get("available"):
            continue
        if not drawable:
            out[str(block.get("gate"))] = {"bars": CHARTS_MISSING_NOTE, "cdfs": []}
            continue
        rows = [r for r in load.get("procedures", ()) if isinstance(r, Mapping) and r.get("p95_ms") is not None]
        bars = latency_bar_chart([LatencyBar(str(r["procedure"]), float(r["p95_ms"]),
                                             r.get("baseline_p95_ms"), r.get("slo_p95_ms")) for r in rows],
                                 title=f"p95 latency per procedure: {block.get('gate')}") if rows else None
        cdfs = [latency_cdf_chart(str(c["procedure"]), c["series"], slo_ms=c.get("slo_p95_ms"))
                for c in load.get("cdfs", ()) if isinstance(c, Mapping)]
        out[str(block.get("gate"))] = {"bars": bars, "cdfs": cdfs}
    return out
