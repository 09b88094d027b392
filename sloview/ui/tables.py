"""Tables the pages show, in words and units: a column says what it holds ("error rate", "in
ms"), a cell is a formatted figure ("0.46%", "1.2 s"), never a raw name or a bare float.

Pure functions of computed results (no Streamlit here), so a test can read what the room reads.
"""

from __future__ import annotations

from html import escape

import pandas as pd

from sloview import formatting as fmt
from sloview.design import Recommendation, TargetSweep
from sloview.report.inputs import verdict
from sloview.report.text import VERDICTS
from sloview.session import Candidate
from sloview.simulate import CompositeSimulation, SegmentResult, Simulation

VERDICT_WORDS = {"met": "met", "missed": "missed", "failing": "fails too often", "n/a": "n/a"}


def firings(sim: Simulation) -> pd.DataFrame:
    """One row per alert firing: rule, when, how long, budget spent, what it caught."""
    return pd.DataFrame(
        [
            {
                "alert": f.rule.label(),
                "started": fmt.when(f.start),
                "lasted": fmt.span(f.duration_s),
                "budget spent when it fired": fmt.budget(f.budget_spent)
                if f.budget_spent == f.budget_spent
                else "unknown (less than a window of data)",
                "during a violation": "yes" if f.violation is not None else "no",
                "after the violation began": fmt.span(f.delay_s) if f.delay_s is not None else "",
            }
            for f in sim.firings
        ]
    )


def segments(
    results: list[SegmentResult], target: float, recs: dict[str, Recommendation]
) -> pd.DataFrame:
    """The candidate on each segment value: attainment, failures, periods, verdict, advice."""
    return pd.DataFrame(
        [
            {
                r.column.replace("_", " "): r.value,
                "requests": fmt.count(r.requests),
                "error rate": fmt.percent(r.error_rate, 2, fixed=True),
                "attainment (95% CI)": f"{fmt.attainment(r.overall.attainment, target)} "
                f"({fmt.ci_range(r.overall.ci_low, r.overall.ci_high, target)})",
                "periods met": fmt.periods_met(r.periods_met, r.periods),
                "verdict": VERDICT_WORDS[r.verdict(target)],
                "tightest threshold / highest target": f"{_threshold(recs.get(r.value))} / "
                f"{_target(recs.get(r.value))}",
            }
            for r in results
        ]
    )


def targets(sweep: TargetSweep) -> pd.DataFrame:
    """Share of complete periods each target would have met."""
    return pd.DataFrame(
        {
            "target": [fmt.percent(t) for t in sweep.targets],
            "whole periods met": [fmt.percent(x, 1) for x in sweep.periods_met_share],
        }
    )


def _threshold(rec: Recommendation | None) -> str:
    return fmt.MISSING if rec is None or rec.threshold is None else fmt.ms(rec.threshold)


def _target(rec: Recommendation | None) -> str:
    return fmt.MISSING if rec is None else fmt.percent(rec.target)


def goodput_by_segment(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Goodput per segment value (from `generative.goodput_by_segment`), in words and units."""
    return pd.DataFrame(
        {
            column.replace("_", " "): frame[column],
            "requests": frame["requests"].map(fmt.count),
            "good in every way": frame["good"].map(fmt.count),
            "good share": frame["good_share"].map(lambda x: fmt.percent(float(x), 2)),
            "throughput": frame["requests_per_s"].map(lambda x: fmt.rate(float(x))),
            "goodput": frame["goodput_per_s"].map(lambda x: fmt.rate(float(x), "good req")),
        }
    )


# Tables that wrap their text and fit their width: on a projector a sideways scroll hides
# the columns the room decides on (a canvas data grid cannot wrap).
TABLE_CSS = (
    "<style>.sv-table{width:100%;border-collapse:collapse;table-layout:auto;font-size:0.95rem}"
    ".sv-table th,.sv-table td{border-bottom:1px solid #e6e6e6;padding:5px 8px;"
    "text-align:left;vertical-align:top}"
    ".sv-table td{overflow-wrap:break-word}.sv-table th{font-weight:600;color:#444;"
    "overflow-wrap:normal;hyphens:auto}.sv-table td.num{text-align:right}"
    ".sv-table .met{color:#2e7d32;font-weight:600}.sv-table .missed{color:#c62828;"
    "font-weight:600}.sv-table .other{color:#9a5b00;font-weight:600}</style>"
)
VERDICT_CLASS = {
    "met-every-period": "met",
    "met-most-periods": "met",
    "missed-too-often": "missed",
    "not-judged": "other",
    "no-data": "other",
}


def decision_table(items: list[Candidate], sims: dict[str, Simulation], share: float = 0.9) -> str:
    """The shortlist's decision columns as an HTML table (every text escaped): candidate and
    promise, attainment with its CI, whole periods met, budget left, alerts, verdict."""
    rows = []
    for item in items:
        sim = sims.get(item.slo.name)
        if sim is None:
            continue
        target, o = item.slo.objective.target, sim.overall
        pages = sum(1 for f in sim.firings if f.rule.severity == "page")
        code = verdict(sim, share)
        agreed = " <strong>(agreed)</strong>" if item.agreed else ""
        rows.append(
            "<tr>"
            f"<td><strong>{escape(item.slo.name)}</strong>{agreed}<br>{escape(sim.statement)}</td>"
            f"<td>{escape(fmt.attainment(o.attainment, target))}<br>"
            f"<small>{escape(fmt.ci_range(o.ci_low, o.ci_high, target))}</small></td>"
            f'<td class="num">{escape(fmt.periods_met(sim.periods_met, sim.periods_judged))}</td>'
            f'<td class="num">{escape(fmt.budget(sim.error_budget_remaining))}</td>'
            f'<td class="num">{len(sim.firings)}<br><small>{pages} pages, '
            f"{len(sim.firings) - pages} tickets</small></td>"
            f'<td class="{VERDICT_CLASS[code]}">{escape(VERDICTS[code])}</td>'
            "</tr>"
        )
    head = (
        "<tr><th>candidate and promise</th><th>attainment</th><th>whole periods met</th>"
        "<th>budget left</th><th>alerts fired</th><th>verdict</th></tr>"
    )
    return (
        f'{TABLE_CSS}<table class="sv-table sv-decisions"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def composites(sims: dict[str, CompositeSimulation]) -> pd.DataFrame:
    """Composite SLOs side by side: promise, weights, periods met under the weighted budget,
    periods every objective met, budget left, alerts."""
    return pd.DataFrame(
        [
            {
                "composite": name,
                "promise": sim.statement,
                "weights": ", ".join(
                    f"{o.name} x{w:g}"
                    for o, w in zip(sim.composite.objectives, sim.weights, strict=True)
                ),
                "whole periods met (weighted budget)": fmt.periods_met(
                    sim.periods_met, sim.periods_with_data
                ),
                "every objective met": f"{int(sim.all_met.sum())} of {sim.periods_with_data}",
                "budget left (latest period)": fmt.budget(sim.error_budget_remaining),
                "alerts fired": fmt.count(len(sim.firings)),
            }
            for name, sim in sims.items()
        ]
    )


def html(frame: pd.DataFrame) -> str:
    """A table of formatted cells as HTML (every text escaped): it wraps to its width."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return (
        f'{TABLE_CSS}<table class="sv-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def percentiles(frame: pd.DataFrame) -> pd.DataFrame:
    """Percentiles with their 95% CI (from `explore.percentile_table`)."""
    return pd.DataFrame(
        {
            "percentile": frame["percentile"],
            "latency": frame["value_ms"].map(fmt.ms),
            "95% CI": [
                f"{fmt.ms(lo)} to {fmt.ms(hi)}" if lo == lo and hi == hi else "too few requests"
                for lo, hi in zip(frame["ci_low_ms"], frame["ci_high_ms"], strict=True)
            ],
        }
    )


def segment_latency(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Requests, error rate and latency percentiles per segment value (Explore)."""
    out = pd.DataFrame(
        {
            column.replace("_", " "): frame[column],
            "requests": frame["requests"].map(fmt.count),
            "error rate": frame["error_rate"].map(lambda x: fmt.percent(float(x), 2, fixed=True)),
        }
    )
    for q in ("50", "90", "95", "99"):
        out[f"p{q}"] = frame[f"p{q}_ms"].map(fmt.ms)
    return out


def segment_targets(frame: pd.DataFrame, column: str, target: float) -> pd.DataFrame:
    """Each segment value against one threshold and target (from `segment_attainment`)."""
    return pd.DataFrame(
        {
            column.replace("_", " "): frame[column],
            "requests": frame["requests"].map(fmt.count),
            "error rate": frame["error_rate"].map(lambda x: fmt.percent(float(x), 2, fixed=True)),
            "within the threshold": [fmt.attainment(float(a), target) for a in frame["attainment"]],
            "95% CI": [
                fmt.ci_range(float(lo), float(hi), target)
                for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)
            ],
            "verdict": frame["verdict"].map(VERDICT_WORDS),
            "tightest threshold": [
                f"{fmt.ms(t)} ({fmt.ms(lo)} to {fmt.ms(hi)})" if lo == lo else fmt.ms(t)
                for t, lo, hi in zip(
                    frame["tightest_threshold_ms"],
                    frame["tightest_ci_low_ms"],
                    frame["tightest_ci_high_ms"],
                    strict=True,
                )
            ],
        }
    )


def length_bands(frame: pd.DataFrame) -> pd.DataFrame:
    """Latency per output-length band (from `generative.length_trend`)."""
    return pd.DataFrame(
        {
            "output tokens": frame["band"],
            "requests": frame["requests"].map(fmt.count),
            "median tokens": frame["tokens_p50"].map(
                lambda x: fmt.MISSING if x != x else f"{x:,.0f}"
            ),
            "median latency": frame["latency_p50_ms"].map(fmt.ms),
            "p95 latency": frame["latency_p95_ms"].map(fmt.ms),
            "median per token": frame["ms_per_token_p50"].map(fmt.ms),
        }
    )


def error_classes(frame: pd.DataFrame, rules: dict[str, str]) -> pd.DataFrame:
    """Failed requests per class, what they count as, and the rule that puts them there."""
    return pd.DataFrame(
        {
            "class": frame["label"],
            "requests": frame["requests"].map(fmt.count),
            "share of all": frame["share"].map(lambda x: fmt.percent(float(x), 3)),
            "counts as": frame["counts_as_bad"].map(lambda b: "bad" if b else "good"),
            "recognised by": frame["error_class"].map(rules),
        }
    )


def preview(frame: pd.DataFrame, rows: int = 12) -> pd.DataFrame:
    """The first requests of the canonical table, each cell as short text (derived columns
    such as the output-length band and empty ones left out, so it fits the page)."""
    head = frame.head(rows)
    out = pd.DataFrame(index=range(len(head)))
    for column in head.columns:
        values = head[column]
        if column in ("output_length",) or values.isna().all():
            continue
        if column == "ts":
            out["time (UTC)"] = [pd.Timestamp(v).strftime("%m-%d %H:%M:%S") for v in values]
        elif column == "ok":
            out["succeeded"] = ["yes" if v else "no" for v in values]
        elif column.endswith("_ms"):
            name = {"latency_ms": "latency", "ttft_ms": "TTFT", "tpot_ms": "TPOT"}.get(
                column, column.removesuffix("_ms")
            )
            out[f"{name} (ms)"] = ["" if v != v else f"{v:,.0f}" for v in values.astype(float)]
        else:
            out[column.replace("_", " ")] = ["" if pd.isna(v) else str(v) for v in values]
    return out
