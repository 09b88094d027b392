"""AppTest: stray timestamps on the Data page, and data too long for one analysis."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from sloview.ingest.span import MAX_SPAN_DAYS
from sloview.ingest.table import STRAY_TIMESTAMP
from tests.apptest import clean, metric, navigation_like_the_server, run_app, tables

pytestmark = pytest.mark.usefixtures(navigation_like_the_server.__name__)
EHRBASE = "ehrbase_jmeter_nightly/result_2022-05-16_828624a9.jtl"


def hostile_csv(realdata: Path) -> bytes:
    """2,001 rows of a real run; the last one has a default-zero time."""
    rows = pd.read_csv(realdata / EHRBASE, nrows=2000)
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(rows["timeStamp"], unit="ms", utc=True).dt.strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            ),
            "latency_ms": rows["elapsed"],
            "status": rows["responseCode"],
        }
    )
    frame.loc[len(frame)] = ["1970-01-01T00:00:00Z", 42, 200]
    return frame.to_csv(index=False).encode()


def upload(at: AppTest, name: str, data: bytes) -> None:
    at.file_uploader[0].set_value((name, data, "text/csv")).run()


def excluded_rows(at: AppTest) -> dict[str, tuple[str, str]]:
    """The 'Rows excluded, by reason' table: reason -> (rows, first one)."""
    for frame in tables(at):
        if "reason" in frame.columns and "first one" in frame.columns:
            return {
                str(r): (str(n), str(f))
                for r, n, f in zip(
                    frame["reason"], frame["rows left out"], frame["first one"], strict=True
                )
            }
    return {}


def test_a_stray_row_is_set_apart_and_kept_on_request(realdata: Path) -> None:
    at = run_app()
    upload(at, "hostile.csv", hostile_csv(realdata))
    clean(at)
    assert not at.error
    assert metric(at, "valid requests") == "2,000"
    assert metric(at, "rows excluded") == "1"
    assert metric(at, "time span") == "0.0 days"
    reasons = excluded_rows(at)
    assert reasons[STRAY_TIMESTAMP][0] == "1"
    assert "row 2,001" in reasons[STRAY_TIMESTAMP][1]

    # Keeping it: 52 years are too long for one analysis; the view narrows, the app says so.
    toggle = next(t for t in at.toggle if t.label == "Keep rows far from the rest in time")
    toggle.set_value(True).run()
    clean(at)
    assert not at.error
    assert metric(at, "valid requests") == "2,001"
    warnings = [w.value for w in at.sidebar.warning]
    assert any("52.4 years" in w and f"last {MAX_SPAN_DAYS} days" in w for w in warnings)
    assert any("Showing 2,000 requests" in c.value for c in at.sidebar.caption)

    # Every page still works on the narrowed view.
    at.switch_page("pages/3_design.py").run()
    clean(at)
    assert not at.error


def test_years_of_data_open_on_the_latest_year(tmp_path: Path) -> None:
    n = 3000
    ts = pd.Timestamp("2021-01-01", tz="UTC") + pd.to_timedelta(
        np.linspace(0, 3 * 365 * 86400, n), unit="s"
    )
    frame = pd.DataFrame(
        {"timestamp": ts, "latency_ms": np.random.default_rng(1).lognormal(5, 0.4, n)}
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    at = run_app()
    at.file_uploader[0].set_value(("years.parquet", buffer.getvalue(), "application/octet-stream"))
    at.run()
    clean(at)
    assert not at.error
    assert metric(at, "valid requests") == f"{n:,}"
    assert any("3.0 years" in w.value for w in at.sidebar.warning)
    at.switch_page("pages/2_explore.py").run()
    clean(at)
    assert not at.error
