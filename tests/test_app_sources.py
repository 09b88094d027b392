"""AppTest: connecting a database from the Data page, as rows and as aggregates; failures and
secrets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from sloview.ingest import load_requests
from sloview.ingest.table import LATENCY, OK
from sloview.sources.aggregates import LOG_BIN_WIDTH
from tests import servers
from tests.apptest import clean, metric, navigation_like_the_server, run_app, tables
from tests.conftest import require

TIMEOUT = 240
ALIBABA = "alibaba_gentd26_genai_serving/lora_request_trace.csv"

# Imported for its name: every test here runs the app as the server does.
pytestmark = pytest.mark.usefixtures(navigation_like_the_server.__name__)


def _shown_text(at: AppTest) -> str:
    """Every text the page shows (main area and sidebar), for secret scans."""
    parts: list[str] = []
    for kind in ("markdown", "caption", "info", "success", "error", "warning", "code", "title"):
        parts += [str(e.value) for e in at.get(kind)]
        parts += [str(e.value) for e in at.sidebar.get(kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)


def _connect_sql(at: AppTest, url: str, table: str, **fields: object) -> AppTest:
    at.text_input(key="src_sql_url").set_value(url)
    at.text_input(key="src_sql_table").set_value(table)
    if "password" in fields:
        at.text_input(key="src_sql_password").set_value(str(fields["password"]))
    if "limit" in fields:
        at.number_input(key="src_sql_limit").set_value(int(fields["limit"]))  # type: ignore[call-overload]
    if "segments" in fields:
        at.text_input(key="src_sql_segments").set_value(str(fields["segments"]))
    at.run()
    at.button(key="src_connect").click().run()
    return at


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory, sample_path: Path) -> Path:
    """The bundled sample as an SQLite table (epoch ms, HTTP status)."""
    db = tmp_path_factory.mktemp("db") / "requests.db"
    servers.sample_sqlite(db, sample_path)
    return db


def test_a_large_table_is_aggregated_and_every_page_works(
    sample_db: Path, sample_path: Path
) -> None:
    frame = load_requests(sample_path).frame
    at = _connect_sql(
        run_app(TIMEOUT), f"sqlite:///{sample_db}", "requests", limit=1000, segments="endpoint"
    )
    clean(at)
    assert not at.error, [e.value for e in at.error]
    assert metric(at, "requests") == f"{len(frame):,}"
    assert metric(at, "failed requests") == f"{int((~frame[OK]).sum()):,}"
    assert any("Aggregated in the source" in i.value for i in at.info)
    assert any("aggregated per minute" in c.value for c in at.sidebar.caption)

    at.switch_page("pages/2_explore.py").run()
    clean(at)
    table = tables(at)[0].set_index("percentile")
    exact = np.percentile(frame.loc[frame[OK], LATENCY].to_numpy(), 95)
    shown = table.loc["p95", "latency"]
    value, unit = shown.split()
    p95 = float(value) * {"ms": 1.0, "s": 1000.0, "min": 60_000.0}[unit]
    # Within one latency bin, and three significant digits as shown.
    assert p95 == pytest.approx(exact, rel=LOG_BIN_WIDTH + 0.005)
    assert any("Aggregated data" in i.value for i in at.info)

    at.switch_page("pages/3_design.py").run()
    clean(at)
    assert not at.error, [e.value for e in at.error]
    assert any("Computed from aggregates" in i.value for i in at.info)
    kinds = at.radio(key="c_kind").options
    assert "joint" not in kinds  # rows only
    at.button[0].click().run()  # add to the shortlist
    at.switch_page("pages/5_export.py").run()
    clean(at)
    assert not at.error, [e.value for e in at.error]
    assert "kind: SLO" in at.code[0].value
    assert "Download report.html" in [b.label for b in at.get("download_button")]


def test_postgres_rows_with_a_typed_password_that_is_never_shown(realdata: Path) -> None:
    csv = realdata / ALIBABA
    try:
        pg = servers.alibaba_postgres(csv)
    except servers.ServerMissingError as exc:
        require(False, str(exc))
        raise
    at = _connect_sql(
        run_app(TIMEOUT),
        pg.url(password=None),
        servers.ALIBABA_TABLE,
        password=servers.PG_READER_PASSWORD,
    )
    clean(at)
    assert not at.error, [e.value for e in at.error]
    assert metric(at, "valid requests") == f"{load_requests(csv).rows:,}"
    # The mapping form lists the table's own columns, not the sample's.
    latency_choices = next(s.options for s in at.selectbox if s.label == "latency column")
    header = csv.read_text().splitlines()[0].split(",")
    assert set(latency_choices) == {"(detect)", *header}
    for page in ("pages/1_data.py", "pages/2_explore.py", "pages/3_design.py", "pages/5_export.py"):
        at.switch_page(page).run()
        clean(at)
        assert servers.PG_READER_PASSWORD not in _shown_text(at), page


def test_a_wrong_port_is_a_clear_error_and_the_sample_stays(sample_path: Path) -> None:
    port = servers.free_port()
    at = _connect_sql(
        run_app(TIMEOUT), f"postgresql+psycopg://reader:hunter22@127.0.0.1:{port}/logs", "requests"
    )
    clean(at)
    assert len(at.error) == 1
    message = at.error[0].value
    assert "cannot connect" in message
    assert f"127.0.0.1:{port}" in message
    assert "hunter22" not in _shown_text(at)
    assert metric(at, "valid requests") == f"{load_requests(sample_path).rows:,}"


def test_prometheus_histogram_with_a_token_and_snapped_thresholds(realdata: Path) -> None:
    from sloview.sources.prometheus import PrometheusSource

    om = (
        realdata
        / "prometheus_openmetrics_derived"
        / ("alibaba_gentd26_genai_request_duration_seconds.om.txt")
    )
    try:
        prom = servers.shared_prometheus(om)
    except servers.ServerMissingError as exc:
        require(False, str(exc))
        raise
    histogram, start, end = "genai_request_duration_seconds", "2024-11-15", "2024-12-09"
    expected = PrometheusSource(
        prom.url, metric=histogram, status_label="status", start=start, end=end, step="15m"
    ).aggregate()
    at = run_app(TIMEOUT)
    at.radio(key="src_kind").set_value("Prometheus").run()
    at.text_input(key="src_prom_url").set_value(prom.url)
    at.text_input(key="src_prom_token").set_value("tok-app-Zq81")
    at.text_input(key="src_prom_metric").set_value(histogram)
    at.text_input(key="src_prom_step").set_value("15m")
    at.text_input(key="src_prom_label").set_value("status")
    at.text_input(key="src_start").set_value(start)
    at.text_input(key="src_end").set_value(end)
    at.run()
    at.button(key="src_connect").click().run()
    clean(at)
    assert not at.error, [e.value for e in at.error]
    assert metric(at, "requests") == f"{expected.requests:,}"
    assert metric(at, "failed requests") == f"{expected.errors:,}"
    at.switch_page("pages/3_design.py").run()
    clean(at)
    assert not at.error, [e.value for e in at.error]
    info = " ".join(i.value for i in at.info)
    assert "Prometheus buckets" in info
    for page in ("pages/1_data.py", "pages/2_explore.py", "pages/3_design.py"):
        at.switch_page(page).run()
        clean(at)
        assert "tok-app-Zq81" not in _shown_text(at), page


def test_a_prometheus_form_without_a_histogram_names_the_field() -> None:
    at = run_app(TIMEOUT)
    at.radio(key="src_kind").set_value("Prometheus").run()
    at.text_input(key="src_prom_url").set_value("http://127.0.0.1:9")
    at.text_input(key="src_start").set_value("2024-11-15")
    at.text_input(key="src_end").set_value("2024-11-16")
    at.run()
    at.button(key="src_connect").click().run()
    clean(at)
    assert len(at.error) == 1
    message = at.error[0].value
    assert "'latency histogram'" in message
    assert "--" not in message


def test_a_preset_fills_the_prometheus_form() -> None:
    at = run_app(TIMEOUT)
    at.radio(key="src_kind").set_value("Prometheus").run()
    at.selectbox(key="src_prom_preset").set_value("otel-genai").run()
    clean(at)
    assert at.text_input(key="src_prom_metric").value == "gen_ai_server_request_duration_seconds"
    assert at.text_input(key="src_prom_ttft").value == "gen_ai_server_time_to_first_token_seconds"
    assert at.text_input(key="src_prom_tpot").value == "gen_ai_server_time_per_output_token_seconds"
    assert at.text_input(key="src_prom_label").value == "error_type"
    assert any("error_type" in c.value for c in at.caption)
    at.selectbox(key="src_prom_preset").set_value("tgi").run()
    assert at.text_input(key="src_prom_ttft").value == ""
    assert at.text_input(key="src_prom_metric").value == "tgi_request_duration"
