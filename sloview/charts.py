"""Plotly figures from typed results, shared by the app pages and the report.

Figures only draw: every number comes computed from `sloview.explore`, `sloview.simulate`
or `sloview.design`. Styling is tuned for a projector: large fonts, few colours, labels
that say what the axis means.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sloview.design import Sweep
from sloview.simulate import Simulation
from sloview.units import format_ms
from sloview.wording import percent

GOOD = "#2e7d32"
BAD = "#c62828"
ACCENT = "#1f5fa8"
MUTED = "#9e9e9e"
PALETTE = ("#1f5fa8", "#e07b00", "#2e7d32", "#8e24aa", "#c62828", "#00838f", "#6d4c41")
SEVERITY_COLOURS = {"page": "#c62828", "ticket": "#e07b00"}
MAX_POINTS = 3000


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.0, "font": {"size": 18}},
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        font={"size": 14},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def latency_histogram(
    sorted_values: np.ndarray, label: str, threshold: float | None = None, bins: int = 80
) -> go.Figure:
    """Histogram of latencies on a log axis, with the candidate threshold marked."""
    fig = go.Figure()
    positive = sorted_values[sorted_values > 0]
    if positive.size:
        edges = np.geomspace(positive[0], positive[-1] * 1.0001, bins + 1)
        counts = np.histogram(positive, bins=edges)[0]
        centers = np.sqrt(edges[:-1] * edges[1:])
        fig.add_bar(
            x=centers,
            y=counts,
            width=np.diff(edges),
            marker_color=ACCENT,
            name=label,
            hovertemplate="%{x:.4g} ms: %{y} requests<extra></extra>",
        )
    if threshold is not None:
        fig.add_vline(
            x=threshold,
            line_color=BAD,
            line_dash="dash",
            annotation_text=f"threshold {format_ms(threshold)}",
        )
    fig.update_xaxes(type="log", title=f"{label} (ms, log scale)")
    fig.update_yaxes(title="requests")
    return _layout(fig, f"Distribution of {label}")


def ecdf(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], label: str, threshold: float | None = None
) -> go.Figure:
    """Overlaid empirical CDFs (share of requests at or under each latency)."""
    fig = go.Figure()
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
        fig.add_vline(
            x=threshold,
            line_color=BAD,
            line_dash="dash",
            annotation_text=f"threshold {format_ms(threshold)}",
        )
    fig.update_xaxes(type="log", title=f"{label} (ms, log scale)")
    fig.update_yaxes(title="share of requests at or under", tickformat=".0%", range=[0, 1.01])
    return _layout(fig, f"Cumulative distribution of {label}")


def percentiles_over_time(
    frame: pd.DataFrame, label: str, threshold: float | None = None
) -> go.Figure:
    """Percentile lines per time slice (exact, linear)."""
    fig = go.Figure()
    columns = [c for c in frame.columns if c.startswith("p")]
    for i, column in enumerate(columns):
        fig.add_scatter(
            x=frame["start"],
            y=frame[column],
            mode="lines",
            name=column,
            line={"color": PALETTE[i % 7], "width": 1.5},
        )
    if threshold is not None:
        fig.add_hline(
            y=threshold,
            line_color=BAD,
            line_dash="dash",
            annotation_text=f"threshold {format_ms(threshold)}",
        )
    fig.update_yaxes(type="log", title=f"{label} (ms, log scale)")
    fig.update_xaxes(title="time (UTC)")
    return _layout(fig, f"{label}: percentiles over time")


def heatmap(
    starts: pd.DatetimeIndex, edges: np.ndarray, counts: np.ndarray, label: str
) -> go.Figure:
    """Requests per time slice and latency bucket."""
    centers = np.sqrt(edges[:-1] * edges[1:])
    fig = go.Figure(
        go.Heatmap(
            x=starts,
            y=centers,
            z=np.log10(counts.T + 1),
            colorscale="Blues",
            colorbar={"title": "log10(requests+1)"},
            hovertemplate="%{x}<br>~%{y:.4g} ms<extra></extra>",
        )
    )
    fig.update_yaxes(type="log", title=f"{label} (ms, log scale)")
    fig.update_xaxes(title="time (UTC)")
    return _layout(fig, f"{label}: requests by time and latency", height=420)


def rates(frame: pd.DataFrame) -> go.Figure:
    """Throughput (requests/s) and error rate per slice on two axes."""
    fig = go.Figure()
    fig.add_scatter(
        x=frame["start"], y=frame["requests_per_s"], name="requests/s", line={"color": ACCENT}
    )
    fig.add_scatter(
        x=frame["start"], y=frame["error_rate"], name="error rate", line={"color": BAD}, yaxis="y2"
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
    fig.update_xaxes(title="time (UTC)")
    return _layout(fig, "Throughput and error rate")


def period_attainment(sim: Simulation) -> go.Figure:
    """Attainment of every period against the target (green met, red missed, grey partial)."""
    p = sim.periods
    att = p.attainment
    colours = [
        MUTED if partial else (GOOD if met else BAD)
        for met, partial in zip(p.met.tolist(), p.partial.tolist(), strict=True)
    ]
    ends = pd.DatetimeIndex(p.end_ns.view("datetime64[ns]")).tz_localize("UTC")
    fig = go.Figure()
    fig.add_bar(
        x=ends,
        y=att,
        marker_color=colours,
        name="attainment",
        hovertemplate="period ending %{x}<br>%{y:.3%}<extra></extra>",
    )
    fig.add_hline(
        y=sim.slo.objective.target,
        line_color="black",
        line_dash="dash",
        annotation_text=f"target {percent(sim.slo.objective.target)}",
    )
    finite = att[np.isfinite(att)]
    low = float(min(finite.min(), sim.slo.objective.target)) if finite.size else 0.0
    pad = max((1 - low) * 0.15, 1e-4)
    fig.update_yaxes(title="attainment", tickformat=".2%", range=[max(0, low - pad), 1 + pad / 4])
    fig.update_xaxes(title="period end (UTC)")
    title = f"Per-period compliance: {sim.periods_met} of {sim.periods_with_data} met"
    return _layout(fig, title)


def budget_burndown(sim: Simulation) -> go.Figure:
    """Error budget remaining over time (not clamped: below zero means overspent)."""
    b = sim.budget
    fig = go.Figure()
    fig.add_scatter(
        x=b.times,
        y=b.values,
        mode="lines",
        name="budget remaining",
        line={"color": ACCENT},
        fill="tozeroy",
        fillcolor="rgba(31,95,168,0.12)",
    )
    fig.add_hline(y=0, line_color=BAD)
    fig.update_yaxes(title="error budget remaining", tickformat=".0%")
    fig.update_xaxes(title="time (UTC)")
    return _layout(fig, "Error budget burndown")


def burn_rates(sim: Simulation) -> go.Figure:
    """Burn rate of each alert's long window with its threshold, and when alerts fired."""
    fig = go.Figure()
    for i, (series, rule) in enumerate(zip(sim.burn[::2], sim.slo.alert_windows, strict=False)):
        x, y = _thin(series.times_ns, series.values)
        colour = PALETTE[i % 7]
        fig.add_scatter(
            x=_times(x),
            y=y,
            mode="lines",
            name=series.name.replace(" long", ""),
            line={"color": colour, "width": 1.2},
        )
        fig.add_hline(y=rule.burn_rate, line_color=colour, line_dash="dot", line_width=1)
    # One layout update for all shapes: add_vrect per firing is quadratic in plotly.
    fig.update_layout(
        shapes=[
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": f.start,
                "x1": f.end,
                "y0": 0,
                "y1": 1,
                "fillcolor": SEVERITY_COLOURS.get(f.rule.severity, MUTED),
                "opacity": 0.15,
                "line": {"width": 0},
            }
            for f in sim.firings
        ]
    )
    fig.update_yaxes(title="burn rate (x budget pace)", type="log")
    fig.update_xaxes(title="time (UTC)")
    return _layout(fig, "Burn rate over each alert's long window (shaded: alert firing)")


def alert_timeline(sim: Simulation) -> go.Figure:
    """When each alert rule would have fired, against the violations found in the data."""
    fig = go.Figure()
    rows = [rule.label() for rule in sim.slo.alert_windows]
    for rule, label in zip(sim.slo.alert_windows, rows, strict=True):
        xs: list[object] = []
        texts: list[str] = []
        for f in (f for f in sim.firings if f.rule == rule):
            spent = percent(f.budget_spent, 1) if math.isfinite(f.budget_spent) else "n/a"
            text = f"{label}<br>{f.start:%Y-%m-%d %H:%M} to {f.end:%H:%M}<br>budget spent {spent}"
            xs += [f.start, f.end, None]
            texts += [text, text, ""]
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
    fig.update_layout(
        shapes=[
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": v.start,
                "x1": v.end,
                "y0": 0,
                "y1": 1,
                "fillcolor": GOOD if v.caught_by else BAD,
                "opacity": 0.12,
                "line": {"width": 0},
            }
            for v in sim.violations
        ]
    )
    fig.update_yaxes(categoryorder="array", categoryarray=rows[::-1], type="category")
    fig.update_xaxes(title="time (UTC)")
    caught = sum(1 for v in sim.violations if v.caught_by)
    title = (
        f"Alert backtest: {len(sim.firings)} firings; {caught} of {len(sim.violations)} "
        "violations caught (green: caught, red: missed)"
    )
    return _layout(fig, title, height=max(260, 80 + 45 * len(rows)))


def sweep_curve(
    sweep: Sweep, recommended: float | None, current: float | None, label: str
) -> go.Figure:
    """Attainment and share of periods met against the threshold, recommendation marked."""
    fig = go.Figure()
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
    fig.add_hline(
        y=sweep.target,
        line_color="black",
        line_dash="dash",
        annotation_text=f"target {percent(sweep.target)}",
    )
    if recommended is not None:
        fig.add_vline(
            x=recommended, line_color=GOOD, annotation_text=f"recommended {format_ms(recommended)}"
        )
    if current is not None:
        fig.add_vline(
            x=current,
            line_color=BAD,
            line_dash="dash",
            annotation_text=f"candidate {format_ms(current)}",
            annotation_position="bottom right",
        )
    fig.update_xaxes(type="log", title=f"{label} threshold (ms, log scale)")
    fig.update_yaxes(title="share", tickformat=".0%", range=[0, 1.02])
    return _layout(fig, "What each threshold would have achieved")


def _thin(times_ns: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_POINTS points, keeping each block's peak so no spike disappears."""
    n = values.size
    if n <= MAX_POINTS:
        return times_ns, values
    step = -(-n // MAX_POINTS)
    m = n // step * step
    blocks = values[:m].reshape(-1, step)
    idx = np.arange(0, m, step) + blocks.argmax(axis=1)
    return times_ns[idx], values[idx]


def _times(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")


def compare_budgets(sims: dict[str, Simulation]) -> go.Figure:
    """Error budget remaining over time for several candidates on one chart."""
    fig = go.Figure()
    for i, (name, sim) in enumerate(sims.items()):
        fig.add_scatter(
            x=sim.budget.times,
            y=sim.budget.values,
            mode="lines",
            name=name,
            line={"color": PALETTE[i % 7]},
        )
    fig.add_hline(y=0, line_color=BAD)
    fig.update_yaxes(title="error budget remaining", tickformat=".0%")
    fig.update_xaxes(title="time (UTC)")
    return _layout(fig, "Error budget remaining, candidate by candidate")


def compare_margins(sims: dict[str, Simulation]) -> go.Figure:
    """Each period's attainment minus the candidate's own target (above 0: met)."""
    fig = go.Figure()
    for i, (name, sim) in enumerate(sims.items()):
        p = sim.periods
        ends = pd.DatetimeIndex(p.end_ns.view("datetime64[ns]")).tz_localize("UTC")
        fig.add_scatter(
            x=ends,
            y=p.attainment - sim.slo.objective.target,
            mode="lines+markers",
            name=name,
            line={"color": PALETTE[i % 7]},
            marker={"size": 5},
        )
    fig.add_hline(y=0, line_color="black", line_dash="dash", annotation_text="target")
    fig.update_yaxes(title="attainment minus target (points)", tickformat="+.2%")
    fig.update_xaxes(title="period end (UTC)")
    return _layout(fig, "Margin over target per period")
