"""Plotly figures from typed results, shared by the app pages and the report.

Figures only draw: every number comes computed from `sloview.explore`, `sloview.simulate`
or `sloview.design`. Styling is tuned for a projector: large fonts, few colours, labels
that say what the axis means.

Speed matters here as much as in the engine (a slider move redraws every chart): times go
to plotly as epoch milliseconds on date axes (datetime objects serialise one by one), long
series are thinned to what a chart can show, and reference lines are layout shapes added
in one update (plotly's add_hline/add_vline copy the layout each time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sloview import formatting as fmt
from sloview.design import JointDesign, Sweep
from sloview.generative import LengthTrend
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.simulate import SegmentResult, Series, Simulation
from sloview.wording import METRIC_ABBREVIATIONS

GOOD = "#2e7d32"
BAD = "#c62828"
ACCENT = "#1f5fa8"
MUTED = "#9e9e9e"
PALETTE = ("#1f5fa8", "#e07b00", "#2e7d32", "#8e24aa", "#c62828", "#00838f", "#6d4c41")
SEVERITY_COLOURS = {"page": "#c62828", "ticket": "#e07b00"}
MAX_POINTS = 1500
# Points per series in the report: enough for a page's width, few enough for a small file.
REPORT_POINTS = 240
GRID = "#e6e6e6"
WARN = "#e07b00"
VERDICT_COLOURS = {"met": GOOD, "missed": BAD, "failing": WARN, "n/a": MUTED}
# Date ticks as precise as the zoom needs: seconds for a 7-second run, months for a year
# (plotly's own choice reads "23:59:59.9996" on a span of seconds).
TIME_TICKS = [
    {"dtickrange": [None, 1000], "value": "%H:%M:%S.%L"},
    {"dtickrange": [1000, 60_000], "value": "%H:%M:%S"},
    {"dtickrange": [60_000, 86_400_000], "value": "%H:%M<br>%b %d"},
    {"dtickrange": [86_400_000, "M1"], "value": "%b %d"},
    {"dtickrange": ["M1", "M12"], "value": "%b %Y"},
    {"dtickrange": ["M12", None], "value": "%Y"},
]

if TYPE_CHECKING:  # the review module pulls in the registry's database layer
    from sloview.review import TrendPoint

Decoration = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def epoch_ms(times: Any) -> np.ndarray:
    """Times (UTC ns integers, DatetimeIndex or datetime Series) as epoch milliseconds."""
    if isinstance(times, pd.Series):
        times = pd.DatetimeIndex(times)
    if isinstance(times, pd.DatetimeIndex):
        ns = times.as_unit("ns").asi8
    else:
        ns = np.asarray(times, dtype=np.int64)
    return ns / 1e6


def _ms(ts: pd.Timestamp) -> float:
    return float(ts.value) / 1e6


def _new() -> tuple[go.Figure, Decoration]:
    return go.Figure(), ([], [])


def _hline(
    deco: Decoration,
    y: float,
    colour: str,
    text: str = "",
    dash: str = "dash",
    width: float = 1.5,
) -> None:
    """A horizontal reference line on a linear y axis (see `_ref` for log axes)."""
    pos = y
    deco[0].append(
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "yref": "y",
            "y0": pos,
            "y1": pos,
            "line": {"color": colour, "dash": dash, "width": width},
        }
    )
    if text:
        deco[1].append(
            {
                "xref": "paper",
                "x": 1,
                "yref": "y",
                "y": pos,
                "text": text,
                "showarrow": False,
                "xanchor": "right",
                "yanchor": "bottom",
                "font": {"color": colour, "size": 12},
                "bgcolor": "rgba(255,255,255,0.7)",
            }
        )


def _ref(
    fig: go.Figure,
    x: list[float],
    y: list[float],
    colour: str,
    text: str = "",
    dash: str = "dash",
    width: float = 1.5,
) -> None:
    """A reference line drawn as a trace: on log axes plotly.js 4 and earlier versions read
    layout shapes differently (log10 or data units), a trace is in data units everywhere."""
    fig.add_scatter(
        x=x,
        y=y,
        mode="lines+text" if text else "lines",
        line={"color": colour, "dash": dash, "width": width},
        text=[text, ""] if text else None,
        textposition="top right",
        textfont={"color": colour, "size": 12},
        showlegend=False,
        hoverinfo="skip",
    )


def _band(deco: Decoration, x0: float, x1: float, colour: str, opacity: float) -> None:
    deco[0].append(
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": x0,
            "x1": x1,
            "y0": 0,
            "y1": 1,
            "fillcolor": colour,
            "opacity": opacity,
            "line": {"width": 0},
            "layer": "below",
        }
    )


def _layout(
    fig: go.Figure, title: str, deco: Decoration | None = None, height: int = 380
) -> go.Figure:
    # The legend sits between the title and the plot (never on an axis title), with room
    # reserved for two rows of it; titles stay short enough for a 560-pixel column.
    legend = (
        any(getattr(trace, "showlegend", None) is not False for trace in fig.data)
        and len(fig.data) > 1
    )
    fig.update_layout(
        title={
            "text": title,
            "x": 0.0,
            "xanchor": "left",
            "y": 0.98,
            "yanchor": "top",
            "font": {"size": 18},
        },
        # A plain layout instead of the "plotly_white" template: applying a template deep-copies
        # and validates hundreds of properties, most of a figure's build time.
        template="none",
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=list(PALETTE),
        height=height + (40 if legend else 0),
        margin={"l": 60, "r": 20, "t": 110 if legend else 60, "b": 50},
        font={"size": 14},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "xanchor": "left"},
        shapes=deco[0] if deco else [],
        annotations=deco[1] if deco else [],
    )
    fig.update_xaxes(gridcolor=GRID, linecolor=GRID, zeroline=False, automargin=True)
    fig.update_yaxes(gridcolor=GRID, linecolor=GRID, zeroline=False, automargin=True)
    fig.update_xaxes(tickformatstops=TIME_TICKS, selector={"type": "date"})
    return fig


def latency_histogram(
    edges: np.ndarray, counts: np.ndarray, label: str, threshold: float | None = None
) -> go.Figure:
    """Histogram of latencies on log-spaced bins, with the candidate threshold marked."""
    fig, deco = _new()
    top = 1.0
    if counts.size:
        centers = np.sqrt(edges[:-1] * edges[1:])
        top = float(counts.max())
        fig.add_bar(
            x=centers,
            y=counts,
            width=np.diff(edges),
            marker_color=ACCENT,
            name=label,
            hovertemplate="%{x:.4g} ms: %{y} requests<extra></extra>",
        )
    if threshold is not None:
        _ref(fig, [threshold, threshold], [top, 0.0], BAD, f"threshold {fmt.ms(threshold)}")
    fig.update_xaxes(type="log", title=f"{label} (ms, log scale)")
    fig.update_yaxes(title="requests")
    return _layout(fig, f"Distribution of {label}", deco)


def ecdf(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], label: str, threshold: float | None = None
) -> go.Figure:
    """Overlaid empirical CDFs (share of requests at or under each latency)."""
    fig, deco = _new()
    for i, (name, (x, y)) in enumerate(curves.items()):
        fig.add_scatter(
            x=x,
            y=y,
            mode="lines",
            name=name,
            line={"color": PALETTE[i % 7]},
            hovertemplate="%{y:.2%} at or under %{x:.4g} ms<extra>" + name + "</extra>",
        )
    if threshold is not None:
        _ref(fig, [threshold, threshold], [1.0, 0.0], BAD, f"threshold {fmt.ms(threshold)}")
    fig.update_xaxes(type="log", title=f"{label} (ms, log scale)")
    fig.update_yaxes(title="share of requests at or under", tickformat=".0%", range=[0, 1.01])
    return _layout(fig, f"Cumulative distribution of {label}", deco)


def percentiles_over_time(
    frame: pd.DataFrame, label: str, threshold: float | None = None
) -> go.Figure:
    """Percentile lines per time slice (exact, linear)."""
    fig, deco = _new()
    x = epoch_ms(frame["start"])
    for i, column in enumerate(c for c in frame.columns if c.startswith("p")):
        fig.add_scatter(
            x=x,
            y=frame[column].to_numpy(),
            mode="lines",
            name=column,
            line={"color": PALETTE[i % 7], "width": 1.5},
        )
    if threshold is not None and x.size:
        _ref(
            fig,
            [float(x[0]), float(x[-1])],
            [threshold, threshold],
            BAD,
            f"threshold {fmt.ms(threshold)}",
        )
    fig.update_yaxes(type="log", title=f"{label} (ms, log scale)")
    fig.update_xaxes(type="date", title="time (UTC)")
    return _layout(fig, f"{label}: percentiles over time", deco)


def heatmap(
    starts: pd.DatetimeIndex, edges: np.ndarray, counts: np.ndarray, label: str
) -> go.Figure:
    """Requests per time slice and latency bucket."""
    centers = np.sqrt(edges[:-1] * edges[1:])
    fig = go.Figure(
        go.Heatmap(
            x=epoch_ms(starts),
            y=centers,
            z=np.log10(counts.T + 1),
            colorscale="Blues",
            colorbar={"title": "log10(requests+1)"},
            hovertemplate="%{x}<br>~%{y:.4g} ms<extra></extra>",
        )
    )
    fig.update_yaxes(type="log", title=f"{label} (ms, log scale)")
    fig.update_xaxes(type="date", title="time (UTC)")
    return _layout(fig, f"{label}: requests by time and latency", height=420)


def rates(frame: pd.DataFrame) -> go.Figure:
    """Throughput (requests/s) and error rate per slice on two axes."""
    fig = go.Figure()
    x = epoch_ms(frame["start"])
    fig.add_scatter(
        x=x, y=frame["requests_per_s"].to_numpy(), name="requests/s", line={"color": ACCENT}
    )
    fig.add_scatter(
        x=x, y=frame["error_rate"].to_numpy(), name="error rate", line={"color": BAD}, yaxis="y2"
    )
    fig.update_layout(
        yaxis={"title": "requests per second"},
        yaxis2={
            "title": "error rate",
            "overlaying": "y",
            "side": "right",
            "tickformat": ".1%",
            "rangemode": "tozero",
        },
    )
    fig.update_xaxes(type="date", title="time (UTC)")
    return _layout(fig, "Throughput and error rate")


def period_attainment(sim: Simulation) -> go.Figure:
    """Attainment of every period against the target (green met, red missed, grey partial)."""
    fig, deco = _new()
    p = sim.periods
    att = p.attainment
    colours = [
        MUTED if partial else (GOOD if met else BAD)
        for met, partial in zip(p.met.tolist(), p.partial.tolist(), strict=True)
    ]
    target = sim.slo.objective.target
    verdicts = [
        "partial: not judged" if x is None else ("met" if x else "missed")
        for x in (q.met for q in p)
    ]
    fig.add_bar(
        x=p.end_ns / 1e6,
        y=att,
        marker_color=colours,
        name="attainment",
        customdata=[[fmt.attainment(a, target), v] for a, v in zip(att, verdicts, strict=True)],
        hovertemplate="period ending %{x}<br>%{customdata[0]} (%{customdata[1]})<extra></extra>",
    )
    _hline(deco, target, "black", f"target {fmt.percent(target)}")
    finite = att[np.isfinite(att)]
    low = float(min(finite.min(), target)) if finite.size else 0.0
    pad = max((1 - low) * 0.15, 1e-4)
    fig.update_yaxes(title="attainment", tickformat=".2%", range=[max(0, low - pad), 1 + pad / 4])
    fig.update_xaxes(type="date", title="period end (UTC)")
    title = (
        f"Per-period compliance: {sim.periods_met} of {sim.periods_judged} whole periods met"
        if sim.periods_met is not None
        else "Per-period attainment (no whole period in the data: none judged)"
    )
    return _layout(fig, title, deco)


def budget_burndown(sim: Simulation, points: int = MAX_POINTS) -> go.Figure:
    """Error budget remaining over time (not clamped: below zero means overspent)."""
    fig, deco = _new()
    b = sim.budget
    x, y = _thin(b.times_ns, b.values, np.argmin, points)
    fig.add_scatter(
        x=x / 1e6,
        y=y,
        mode="lines",
        name="budget remaining",
        line={"color": ACCENT},
        fill="tozeroy",
        fillcolor="rgba(31,95,168,0.12)",
    )
    _hline(deco, 0.0, BAD, dash="solid")
    fig.update_yaxes(title="error budget remaining", tickformat=".0%")
    fig.update_xaxes(type="date", title="time (UTC)")
    return _layout(fig, "Error budget burndown", deco)


def report_budget_burndown(sim: Simulation) -> go.Figure:
    """`budget_burndown` with the report's fewer points (every dip kept)."""
    return budget_burndown(sim, points=REPORT_POINTS)


def smoothed_burn_rates(sim: Simulation) -> go.Figure:
    """`burn_rates` for reading rather than zooming (the report): each series averaged over
    blocks of at most REPORT_POINTS points, so the line shows the pace, not every spike."""
    return burn_rates(sim, points=REPORT_POINTS, smooth=True)


def burn_rates(sim: Simulation, points: int = MAX_POINTS, smooth: bool = False) -> go.Figure:
    """Burn rate of each alert's long window with its threshold, and when alerts fired."""
    fig, deco = _new()
    for i, (series, rule) in enumerate(zip(sim.burn[::2], sim.slo.alert_windows, strict=False)):
        if smooth:
            x, y = _mean_blocks(series.times_ns, series.values, points)
        else:
            x, y = _thin(series.times_ns, series.values, np.argmax)
        colour = PALETTE[i % 7]
        # A log axis cannot show 0 (no bad events): draw those as gaps.
        fig.add_scatter(
            x=x / 1e6,
            y=np.where(y > 0, y, np.nan),
            mode="lines",
            name=series.name.replace(" long", ""),
            line={"color": colour, "width": 1.2},
        )
        if x.size:
            _ref(
                fig,
                [float(x[0]) / 1e6, float(x[-1]) / 1e6],
                [rule.burn_rate, rule.burn_rate],
                colour,
                dash="dot",
                width=1,
            )
    for f in sim.firings:
        _band(
            deco,
            f.start_ns / 1e6,
            f.end_ns / 1e6 + sim.cell_s * 1e3,  # until it resolves, one evaluation later
            SEVERITY_COLOURS.get(f.rule.severity, MUTED),
            0.15,
        )
    fig.update_yaxes(title="burn rate (x budget pace)", type="log")
    fig.update_xaxes(type="date", title="time (UTC)")
    return _layout(fig, "Burn rate over each alert's long window", deco)


def alert_timeline(sim: Simulation) -> go.Figure:
    """When each alert rule would have fired, against the violations found in the data."""
    fig, deco = _new()
    rows = [rule.label() for rule in sim.slo.alert_windows]
    for rule, label in zip(sim.slo.alert_windows, rows, strict=True):
        xs: list[float | None] = []
        texts: list[str] = []
        for f in (f for f in sim.firings if f.rule == rule):
            spent = fmt.percent(f.budget_spent, 1) if math.isfinite(f.budget_spent) else "n/a"
            text = f"{label}<br>{f.start:%Y-%m-%d %H:%M} to {f.end:%H:%M}<br>budget spent {spent}"
            # Drawn until it resolves, one evaluation after its last firing minute.
            xs += [f.start_ns / 1e6, f.end_ns / 1e6 + sim.cell_s * 1e3, None]
            texts += [text, text, ""]
        # Every rule gets its row, and the axis spans the whole history, firings or not.
        span = sim.budget.times_ns
        if span.size:
            fig.add_scatter(
                x=[span[0] / 1e6, span[-1] / 1e6],
                y=[label, label],
                mode="markers",
                marker={"opacity": 0},
                showlegend=False,
                hoverinfo="skip",
            )
        fig.add_scatter(
            x=xs,
            y=[label if x is not None else None for x in xs],
            mode="lines+markers",
            line={"color": SEVERITY_COLOURS.get(rule.severity, MUTED), "width": 10},
            name=label,
            showlegend=False,
            text=texts,
            hovertemplate="%{text}<extra></extra>",
        )
    for v in sim.violations:
        _band(deco, _ms(v.start), _ms(v.end), GOOD if v.caught_by else BAD, 0.15)
    fig.update_yaxes(categoryorder="array", categoryarray=rows[::-1], type="category")
    fig.update_xaxes(type="date", title="time (UTC)")
    caught = sum(1 for v in sim.violations if v.caught_by)
    title = f"Alert backtest: {caught} of {len(sim.violations)} violations caught"
    return _layout(fig, title, deco, height=max(260, 80 + 45 * len(rows)))


def sweep_curve(
    sweep: Sweep, recommended: float | None, current: float | None, label: str
) -> go.Figure:
    """Attainment and share of periods met against the threshold, recommendation marked."""
    fig, deco = _new()
    fig.add_scatter(
        x=sweep.thresholds,
        y=sweep.attainment,
        name="attainment (all history)",
        line={"color": ACCENT},
    )
    fig.add_scatter(
        x=sweep.thresholds,
        y=sweep.periods_met_share,
        name="share of periods met",
        line={"color": GOOD, "dash": "dash"},
    )
    fig.add_scatter(
        x=sweep.thresholds,
        y=sweep.worst_period,
        name="worst period",
        line={"color": BAD, "dash": "dot"},
    )
    _hline(deco, sweep.target, "black", f"target {fmt.percent(sweep.target)}")
    if recommended is not None:
        _ref(
            fig,
            [recommended, recommended],
            [1.0, 0.0],
            GOOD,
            f"recommended {fmt.ms(recommended)}",
            dash="solid",
        )
    if current is not None:
        _ref(fig, [current, current], [0.0, 1.0], BAD, f"candidate {fmt.ms(current)}")
    fig.update_xaxes(type="log", title=f"{label} threshold (ms, log scale)")
    fig.update_yaxes(title="share", tickformat=".0%", range=[0, 1.02])
    return _layout(fig, "What each threshold would have achieved", deco)


def compare_budgets(sims: dict[str, Simulation]) -> go.Figure:
    """Error budget remaining over time for several candidates on one chart."""
    return budget_lines(
        {name: sim.budget for name, sim in sims.items()},
        "Error budget left, candidate by candidate",
    )


def budget_lines(budgets: dict[str, Series], title: str) -> go.Figure:
    """Error budget remaining series (candidates, composites) on one chart."""
    fig, deco = _new()
    for i, (name, budget) in enumerate(budgets.items()):
        x, y = _thin(budget.times_ns, budget.values, np.argmin)
        fig.add_scatter(x=x / 1e6, y=y, mode="lines", name=name, line={"color": PALETTE[i % 7]})
    _hline(deco, 0.0, BAD, dash="solid")
    fig.update_yaxes(title="error budget remaining", tickformat=".0%")
    fig.update_xaxes(type="date", title="time (UTC)")
    return _layout(fig, title, deco)


def compare_margins(sims: dict[str, Simulation]) -> go.Figure:
    """Each period's attainment minus the candidate's own target (above 0: met)."""
    fig, deco = _new()
    for i, (name, sim) in enumerate(sims.items()):
        p = sim.periods
        fig.add_scatter(
            x=p.end_ns / 1e6,
            y=p.attainment - sim.slo.objective.target,
            mode="lines+markers",
            name=name,
            line={"color": PALETTE[i % 7]},
            marker={"size": 5},
        )
    _hline(deco, 0.0, "black", "target")
    fig.update_yaxes(title="attainment minus target (points)", tickformat="+.2%")
    fig.update_xaxes(type="date", title="period end (UTC)")
    return _layout(fig, "Margin over target per period", deco)


def joint_heatmap(
    design: JointDesign, current: tuple[float, float] | None = None, value: str = "attainment"
) -> go.Figure:
    """Attainment (or share of periods met) per threshold pair, iso-line and pair marked."""
    if value not in ("attainment", "periods_met_share"):
        raise ValueError(f"value must be attainment or periods_met_share, not {value!r}")
    name_a, name_b = (METRIC_ABBREVIATIONS.get(m, m) for m in design.metrics)
    z = design.attainment if value == "attainment" else design.periods_met_share
    what = "attainment" if value == "attainment" else "share of periods met"
    fig, deco = _new()
    fig.add_heatmap(
        x=design.thresholds_a,
        y=design.thresholds_b,
        z=z.T,
        zmin=float(np.nanmin(z)) if np.isfinite(z).any() else 0.0,
        zmax=1.0,
        colorscale="Blues",
        colorbar={"title": what, "tickformat": ".1%"},
        hovertemplate=f"{name_a} <= %{{x:.4g}} ms<br>{name_b} <= %{{y:.4g}} ms<br>"
        f"{what} %{{z:.3%}}<extra></extra>",
    )
    on_line = np.isfinite(design.iso_b)
    if on_line.any():
        fig.add_scatter(
            x=design.thresholds_a[on_line],
            y=design.iso_b[on_line],
            mode="lines",
            line={"color": "black", "width": 2, "shape": "hv"},
            name=f"tightest {name_b} meeting {fmt.percent(design.target)} in "
            f"{design.desired_share:.0%} of periods",
            hovertemplate=f"{name_a} <= %{{x:.4g}} ms, {name_b} <= %{{y:.4g}} ms<extra></extra>",
        )
    if design.recommended is not None:
        a, b = design.recommended
        fig.add_scatter(
            x=[a],
            y=[b],
            mode="markers+text",
            marker={"color": GOOD, "size": 14, "symbol": "star", "line": {"color": "white"}},
            text=[f"recommended {fmt.ms(a)} / {fmt.ms(b)}"],
            textposition="top right",
            textfont={"color": GOOD, "size": 13},
            name="recommended pair",
        )
    if current is not None:
        fig.add_scatter(
            x=[current[0]],
            y=[current[1]],
            mode="markers",
            marker={"color": BAD, "size": 12, "symbol": "x"},
            name=f"candidate {fmt.ms(current[0])} / {fmt.ms(current[1])}",
        )
    fig.update_xaxes(type="log", title=f"{LATENCY_COLUMNS[design.metrics[0]]} threshold (ms)")
    fig.update_yaxes(type="log", title=f"{LATENCY_COLUMNS[design.metrics[1]]} threshold (ms)")
    return _layout(fig, f"Joint SLI: {what} at each pair of thresholds", deco, height=480)


def goodput(frame: pd.DataFrame, min_rate: float | None = None) -> go.Figure:
    """Throughput and goodput (requests/s) per slice, from `generative.goodput_over_time`."""
    fig, deco = _new()
    x = epoch_ms(frame["start"])
    for column, name, colour in (
        ("requests_per_s", "throughput (all requests)", MUTED),
        ("goodput_per_s", "goodput (good in every way)", GOOD),
    ):
        tx, ty = _thin(x, frame[column].to_numpy(dtype=np.float64), np.argmax)
        fig.add_scatter(x=tx, y=ty, mode="lines", name=name, line={"color": colour, "width": 1.5})
    if min_rate is not None and x.size:
        _hline(deco, min_rate, BAD, f"goodput objective {min_rate:g}/s")
    fig.update_yaxes(title="requests per second", rangemode="tozero")
    fig.update_xaxes(type="date", title="time (UTC)")
    return _layout(fig, "Goodput beside throughput", deco)


def latency_vs_tokens(trend: LengthTrend) -> go.Figure:
    """Latency against output tokens (a deterministic sample), the fit and band medians."""
    fig, deco = _new()
    sample = trend.sample
    fig.add_scattergl(
        x=sample["output_tokens"].to_numpy(),
        y=sample["latency_ms"].to_numpy(),
        mode="markers",
        marker={"color": ACCENT, "size": 4, "opacity": 0.25},
        name=f"requests (sample of {len(sample):,})",
        hovertemplate="%{x} tokens: %{y:.4g} ms<extra></extra>",
    )
    if sample.size and math.isfinite(trend.ms_per_token):
        top = float(sample["output_tokens"].max())
        xs = np.array([0.0, top])
        fig.add_scatter(
            x=xs,
            y=trend.predict(xs),
            mode="lines",
            line={"color": BAD, "width": 2},
            name=f"fit: {fmt.ms(trend.intercept_ms)} + {trend.ms_per_token:.3g} ms/token "
            f"(R² {trend.r_squared:.2f})",
        )
    bands = trend.bands[trend.bands["requests"] > 0]
    fig.add_scatter(
        x=bands["tokens_p50"].to_numpy(),
        y=bands["latency_p50_ms"].to_numpy(),
        mode="markers+text",
        marker={"color": "black", "size": 10, "symbol": "diamond"},
        text=[
            f"{b}: p50 {fmt.ms(v)}"
            for b, v in zip(bands["band"], bands["latency_p50_ms"], strict=True)
        ],
        textposition="top right",
        name="band median",
    )
    fig.update_xaxes(title="output tokens", rangemode="tozero")
    fig.update_yaxes(title="end-to-end latency (ms)", rangemode="tozero")
    return _layout(fig, "Latency grows with the answer's length", deco, height=440)


def _block_step(n: int, points: int) -> int:
    """Values per block so that n values draw as at most `points` (1: draw them all)."""
    return 1 if n <= points else -(-n // points)


def _mean_blocks(
    times_ns: np.ndarray, values: np.ndarray, points: int
) -> tuple[np.ndarray, np.ndarray]:
    """At most `points` points: the mean of each block, at the block's last time."""
    step = _block_step(values.size, points)
    if step == 1:
        return np.asarray(times_ns, dtype=np.float64), values
    m = values.size // step * step
    blocks = values[:m].reshape(-1, step)
    finite = np.isfinite(blocks)
    counts = finite.sum(axis=1)
    sums = np.where(finite, blocks, 0.0).sum(axis=1)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return np.asarray(times_ns[step - 1 : m : step], dtype=np.float64), means


def _thin(
    times_ns: np.ndarray, values: np.ndarray, pick: Any = np.argmax, points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """At most `points` points, keeping each block's extreme so no spike disappears."""
    step = _block_step(values.size, points)
    if step == 1:
        return np.asarray(times_ns, dtype=np.float64), values
    m = values.size // step * step
    blocks = np.nan_to_num(
        values[:m].reshape(-1, step), nan=-np.inf if pick is np.argmax else np.inf
    )
    idx = np.arange(0, m, step) + pick(blocks, axis=1)
    return np.asarray(times_ns[idx], dtype=np.float64), values[idx]


def segment_attainment(results: Sequence[SegmentResult], target: float) -> go.Figure:
    """Attainment per segment value with its 95% CI, against the target; the colour is the
    verdict, which weighs failures too (a segment failing beyond the budget is never green)."""
    fig, deco = _new()
    names = [r.value for r in results]
    att = np.array([r.overall.attainment for r in results])
    lo = np.array([r.overall.ci_low for r in results])
    hi = np.array([r.overall.ci_high for r in results])
    verdicts = [r.verdict(target) for r in results]
    fig.add_bar(
        x=names,
        y=att,
        marker_color=[VERDICT_COLOURS[v] for v in verdicts],
        name="attainment",
        error_y={"type": "data", "symmetric": False, "array": hi - att, "arrayminus": att - lo},
        customdata=[
            [fmt.attainment(r.overall.attainment, target), fmt.percent(r.error_rate, 2), v]
            for r, v in zip(results, verdicts, strict=True)
        ],
        hovertemplate="%{x}: %{customdata[0]}, errors %{customdata[1]} (%{customdata[2]})"
        "<extra></extra>",
    )
    _hline(deco, target, "black", f"target {fmt.percent(target)}")
    finite = att[np.isfinite(att)]
    low = float(min(finite.min(), target)) if finite.size else 0.0
    pad = max((1 - low) * 0.15, 1e-4)
    fig.update_yaxes(
        title="attainment (95% CI)", tickformat=".2%", range=[max(0.0, low - pad), 1 + pad / 4]
    )
    fig.update_xaxes(title=results[0].column if results else "segment", type="category")
    return _layout(fig, "The same candidate on each segment", deco)


def segment_targets(frame: pd.DataFrame, column: str, target: float, label: str) -> go.Figure:
    """Attainment per segment value (95% CI) at one threshold, from `segment_attainment`."""
    fig, deco = _new()
    att = frame["attainment"].to_numpy(dtype=float)
    lo = frame["ci_low"].to_numpy(dtype=float)
    hi = frame["ci_high"].to_numpy(dtype=float)
    fig.add_bar(
        x=[str(v) for v in frame[column]],
        y=att,
        marker_color=[VERDICT_COLOURS[str(v)] for v in frame["verdict"]],
        error_y={"type": "data", "symmetric": False, "array": hi - att, "arrayminus": att - lo},
        customdata=[
            [fmt.attainment(a, target), fmt.percent(e, 2), str(v)]
            for a, e, v in zip(att, frame["error_rate"], frame["verdict"], strict=True)
        ],
        hovertemplate="%{x}: %{customdata[0]}, errors %{customdata[1]} (%{customdata[2]})"
        "<extra></extra>",
        name="attainment",
    )
    _hline(deco, target, "black", f"target {fmt.percent(target)}")
    fig.update_yaxes(title=f"share within the {label} threshold", tickformat=".0%", range=[0, 1.02])
    fig.update_xaxes(title=column, type="category")
    return _layout(fig, f"{label}: each {column} against one threshold", deco)


def review_trend(points: Sequence[TrendPoint]) -> go.Figure:
    """Attainment per review (95% CI) against the target agreed at the time, oldest first."""
    fig, deco = _new()
    # Numbered: two reviews of the same days must stay two points on a category axis.
    labels = [
        f"{n}. {p.label}<br>v{p.version}{' (this review)' if p.current else ''}"
        for n, p in enumerate(points, start=1)
    ]
    att = np.array([np.nan if p.attainment is None else p.attainment for p in points])
    lo = np.array([np.nan if p.ci_low is None else p.ci_low for p in points])
    hi = np.array([np.nan if p.ci_high is None else p.ci_high for p in points])
    verdicts = ["n/a" if p.met is None else ("met" if p.met else "missed") for p in points]
    targets = [p.target for p in points]
    # The target may change between versions: a step line, not one reference line.
    fig.add_scatter(
        x=labels,
        y=targets,
        mode="lines",
        line={"color": "black", "dash": "dash", "width": 1.5, "shape": "hvh"},
        name="target agreed",
        hovertemplate="target %{y:.3%}<extra></extra>",
    )
    fig.add_scatter(
        x=labels,
        y=att,
        mode="markers+lines",
        line={"color": MUTED, "width": 1},
        marker={"color": [VERDICT_COLOURS[v] for v in verdicts], "size": 14},
        error_y={"type": "data", "symmetric": False, "array": hi - att, "arrayminus": att - lo},
        name="attainment (95% CI)",
        customdata=[
            [fmt.attainment(p.attainment, p.target), fmt.ci_range(p.ci_low, p.ci_high, p.target), v]
            for p, v in zip(points, verdicts, strict=True)
        ],
        hovertemplate="%{x}: %{customdata[0]} (95% CI %{customdata[1]}), %{customdata[2]}"
        "<extra></extra>",
    )
    finite = np.concatenate([lo[np.isfinite(lo)], att[np.isfinite(att)], np.array(targets)])
    low = float(finite.min()) if finite.size else 0.0
    pad = max((1 - low) * 0.15, 1e-4)
    fig.update_yaxes(title="attainment", tickformat=".2%", range=[max(0.0, low - pad), 1 + pad / 4])
    fig.update_xaxes(title="period reviewed", type="category")
    missed = verdicts.count("missed")
    title = f"{len(points)} review{'s' if len(points) != 1 else ''}: {missed} missed"
    return _layout(fig, title, deco)
