"""`sloview` on database and Prometheus SOURCEs, through `main([...])` against real servers.

The PostgreSQL and Prometheus servers are those of tests/servers.py (the same as the source
tests use). Every expected figure comes from the Alibaba trace read as a file, or from the
OpenMetrics file Prometheus was backfilled from, computed here with numpy. Failures must be
one line on stderr (exit 2) naming the source and what to check, and no password or token may
appear in anything the command prints, writes or logs.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sloview.cli import main
from sloview.errors import SourceError
from sloview.ingest.table import RequestTable, times_ns
from sloview.sources.aggregates import LOG_BIN_WIDTH, from_requests
from sloview.sources.open import (
    SourceOptions,
    describe_source,
    open_source,
    parse_matcher,
    source_kind,
)
from sloview.summary import summarize_aggregates
from tests import servers

ALIBABA = "alibaba_gentd26_genai_serving/lora_request_trace.csv"
OM = "prometheus_openmetrics_derived/alibaba_gentd26_genai_request_duration_seconds.om.txt"
METRIC = "genai_request_duration_seconds"
TABLE = servers.ALIBABA_TABLE
START, END = "2024-11-15", "2024-12-09"
DAY_S = 86_400
TOKEN = "tok-cli-Vb72Lp"
SECRETS = (*servers.SECRETS, TOKEN)
_LINE = re.compile(r'^(\w+)_bucket\{status="(\w+)",le="([^"]+)"\} (\S+) (\d+)$')
DAILY = ["--calendar", "day", "--json"]


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No secrets file or SLOVIEW_* variable of the machine running the tests takes part."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("SLOVIEW_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def expected_days(
    om_path: Path, prom: servers.Prometheus
) -> dict[tuple[str, float], dict[int, float]]:
    """Per (status, le): requests per UTC day, from consecutive sample differences of the file
    (the step's requests counted in the minute that ends at the later sample); on
    VictoriaMetrics the first sample counts too (its counters start from 0)."""
    series: dict[tuple[str, float], list[tuple[int, float]]] = defaultdict(list)
    for line in om_path.read_text().splitlines():
        m = _LINE.match(line)
        if m:
            le = math.inf if m.group(3) == "+Inf" else float(m.group(3))
            series[(m.group(2), le)].append((int(m.group(5)), float(m.group(4))))
    out: dict[tuple[str, float], dict[int, float]] = {}
    for key, points in series.items():
        points.sort()
        per_day: dict[int, float] = defaultdict(float)
        if isinstance(prom, servers.VictoriaMetrics):
            per_day[(points[0][0] - 60) // DAY_S] += points[0][1]
        for (_, before), (stamp, after) in itertools.pairwise(points):
            per_day[(stamp - 60) // DAY_S] += after - before
        out[key] = {d: v for d, v in per_day.items() if v}
    return out


# -- helpers -----------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse refuses a bad flag value by exiting
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, *argv, "--json")
    assert (code, err) == (0, ""), err
    result: dict[str, Any] = json.loads(out)
    return result


def scan(*texts: str) -> None:
    """No password or token given to any source appears in these texts."""
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"a secret leaked into: {text[:300]}"


def prom_requests(server: servers.Prometheus) -> int:
    """The trace's 26,790 finished requests as the backend counts them: one finished before
    the first scrape, which Prometheus takes as the baseline and VictoriaMetrics counts."""
    return 26_790 if isinstance(server, servers.VictoriaMetrics) else 26_789


def prom_source(server: servers.Prometheus) -> str:
    return "prometheus+" + server.url


def prom_flags(*extra: str) -> list[str]:
    return [
        "--histogram",
        METRIC,
        "--status-label",
        "status",
        "--start",
        START,
        "--end",
        END,
        "--step",
        "15m",
        *extra,
    ]


def day_of(iso: str) -> int:
    return int(pd.Timestamp(iso).value // (DAY_S * 10**9))


def periods_by_day(entry: dict[str, Any]) -> dict[int, tuple[int, int]]:
    """{UTC day: (good, total)} of a daily simulation's periods with requests."""
    return {
        day_of(p["start"]): (round(p["good"]), round(p["total"]))
        for p in entry["periods"]
        if p["total"]
    }


def file_days(table: RequestTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(UTC day, ok, latency ms) of each request of the file."""
    frame = table.frame
    return (
        times_ns(frame) // (DAY_S * 10**9),
        frame["ok"].to_numpy(),
        frame["latency_ms"].to_numpy(dtype=np.float64, na_value=np.nan),
    )


def counts_by_day(
    days: np.ndarray, good: np.ndarray, total: np.ndarray
) -> dict[int, tuple[int, int]]:
    """{UTC day: (good, total)} counted from the file's requests."""
    out = {}
    for d in np.unique(days[total]):
        out[int(d)] = (int((good & (days == d)).sum()), int((total & (days == d)).sum()))
    return out


# -- PostgreSQL as rows: the file's numbers --------------------------------------------------


def test_summarize_rows_from_postgres_equal_the_file(
    capsys: pytest.CaptureFixture[str], pg: servers.Postgres, csv_path: Path
) -> None:
    got = run_json(capsys, "summarize", pg.url(), "--table", TABLE)
    expected = run_json(capsys, "summarize", str(csv_path))
    assert got.pop("source") == f"postgresql+psycopg://127.0.0.1:{pg.port}/sloview, table {TABLE}"
    assert got.pop("format") != expected.pop("format")
    expected.pop("source")
    assert got == expected
    assert (got["rows"], got["errors"]) == (26_790, 398)
    assert got["exactness"].startswith("exact")
    code, text, err = run(capsys, "summarize", pg.url(), "--table", TABLE)
    _, file_text, _ = run(capsys, "summarize", str(csv_path))
    assert (code, err) == (0, "")
    # Only the source line differs.
    assert text.splitlines()[1:] == file_text.splitlines()[1:]
    scan(text)
    # A URL without a driver gets psycopg 3, the driver sloview installs.
    plain = pg.url().replace("postgresql+psycopg://", "postgresql://")
    assert run_json(capsys, "summarize", plain, "--table", TABLE)["rows"] == 26_790


@pytest.mark.parametrize(
    "flags",
    [
        ["--sli", "availability", "--target", "0.99"],
        ["--threshold-ms", "60000", "--target", "0.95"],
    ],
    ids=["availability", "latency"],
)
def test_simulate_rows_from_postgres_equal_the_file(
    capsys: pytest.CaptureFixture[str],
    pg: servers.Postgres,
    csv_path: Path,
    flags: list[str],
) -> None:
    got = run_json(capsys, "simulate", pg.url(), "--table", TABLE, *flags, *DAILY)
    expected = run_json(capsys, "simulate", str(csv_path), *flags, *DAILY)
    assert got == expected
    assert len(got["slos"][0]["periods"]) >= 24


# -- PostgreSQL aggregates: availability exact, latency within the bins ----------------------


def test_summarize_aggregates_from_postgres(
    capsys: pytest.CaptureFixture[str], pg: servers.Postgres, csv_path: Path
) -> None:
    got = run_json(capsys, "summarize", pg.url(), "--table", TABLE, "--row-limit", "0")
    expected = run_json(capsys, "summarize", str(csv_path))
    for key in ("rows", "rows_read", "errors", "error_rate", "dropped", "status_policy"):
        assert got[key] == expected[key], key
    # The database reports whole minutes for the first request.
    gap = pd.Timestamp(expected["start"]) - pd.Timestamp(got["start"])
    assert pd.Timedelta(0) <= gap < pd.Timedelta(minutes=1)
    assert got["format"] == "SQL, aggregated in the database"
    assert got["exactness"].startswith("bucket-approximate")
    for key, exact in expected["latency_ms"].items():
        assert abs(got["latency_ms"][key] - exact) <= LOG_BIN_WIDTH * exact, key
    # The percentiles themselves come from percentile_cont: exact.
    for key in ("p50", "p90", "p95", "p99", "p99.9"):
        assert got["latency_ms"][key] == pytest.approx(expected["latency_ms"][key]), key
    assert any("percentile_cont" in n for n in got["notes"])
    # The max is the upper edge of its bin: at or above the true max, within one bin.
    assert expected["latency_ms"]["max"] <= got["latency_ms"]["max"]
    code, text, _ = run(capsys, "summarize", pg.url(), "--table", TABLE, "--row-limit", "0")
    assert code == 0
    assert "Exactness    bucket-approximate" in text
    assert "inside latency bins" in text


def test_summarize_aggregates_per_segment(
    capsys: pytest.CaptureFixture[str], pg: servers.Postgres, csv_path: Path
) -> None:
    flags = ["--segment", "predict_type"]
    got = run_json(capsys, "summarize", pg.url(), "--table", TABLE, "--row-limit", "0", *flags)
    expected = run_json(capsys, "summarize", str(csv_path), *flags)

    def groups(result: dict[str, Any]) -> dict[str, tuple[int, int]]:
        return {g["value"]: (g["rows"], g["errors"]) for g in result["segments"]["predict_type"]}

    assert groups(got) == groups(expected)
    # Most requests first.
    assert got["segments"]["predict_type"][0]["value"] == "TXT_2_IMG"


def test_simulate_aggregates_from_postgres(
    capsys: pytest.CaptureFixture[str], pg: servers.Postgres, file_table: RequestTable
) -> None:
    source = [pg.url(), "--table", TABLE, "--row-limit", "0"]
    days, ok, lat = file_days(file_table)
    everything = np.ones(ok.size, dtype=bool)
    # Availability: every period exact.
    got = run_json(capsys, "simulate", *source, "--sli", "availability", *DAILY)
    (entry,) = got["slos"]
    assert periods_by_day(entry) == counts_by_day(days, ok, everything)
    assert any("Computed from aggregates" in n for n in entry["notes"])
    assert any("bucket-approximate" in n for n in entry["notes"])
    # Latency on a bin edge (10 s is a power of ten): exact.
    got = run_json(capsys, "simulate", *source, "--threshold-ms", "10000", *DAILY)
    (entry,) = got["slos"]
    assert periods_by_day(entry) == counts_by_day(days, ok & (lat <= 10_000), ok)
    # Between edges: the database counts the SLO's own threshold request by request.
    got = run_json(capsys, "simulate", *source, "--threshold-ms", "45500", *DAILY)
    (entry,) = got["slos"]
    assert periods_by_day(entry) == counts_by_day(days, ok & (lat <= 45_500), ok)
    assert any("counted exactly in the source" in n for n in entry["notes"])
    assert not any(n.startswith("The threshold") and "lower bound" in n for n in entry["notes"])
    # The text form carries the same statement.
    code, text, _ = run(capsys, "simulate", *source, "--threshold-ms", "10000", "--calendar", "day")
    assert code == 0
    assert "note: Computed from aggregates of postgresql+psycopg://127.0.0.1" in text


def test_recommend_on_aggregates_says_how_exact(
    capsys: pytest.CaptureFixture[str], pg: servers.Postgres
) -> None:
    got = run_json(
        capsys,
        "recommend",
        pg.url(),
        "--table",
        TABLE,
        "--row-limit",
        "0",
        "--threshold-ms",
        "60000",
        "--calendar",
        "day",
    )
    (entry,) = got["slos"]
    assert any("bucket-approximate" in n for n in entry["notes"])


# -- Prometheus: per-day attainment equals the bucketed file ---------------------------------


def test_simulate_from_prometheus_equals_the_bucketed_file(
    capsys: pytest.CaptureFixture[str],
    prom: servers.Prometheus,
    expected_days: dict[tuple[str, float], dict[int, float]],
) -> None:
    ok = expected_days[("SUCCEED", math.inf)]
    failed = expected_days[("FAILED", math.inf)]
    got = run_json(
        capsys, "simulate", prom_source(prom), *prom_flags("--sli", "availability"), *DAILY
    )
    (entry,) = got["slos"]
    want = {
        d: (round(ok.get(d, 0)), round(ok.get(d, 0) + failed.get(d, 0)))
        for d in set(ok) | set(failed)
    }
    assert periods_by_day(entry) == want
    for period in entry["periods"]:
        if period["total"]:
            assert period["attainment"] == pytest.approx(period["good"] / period["total"])
    # Latency on one of the histogram's bounds (30 s), with explicit status lists.
    lists = ["--good", "SUCCEED", "--bad", "FAILED"]
    got = run_json(
        capsys,
        "simulate",
        prom_source(prom),
        *prom_flags("--threshold-ms", "30000", *lists),
        *DAILY,
    )
    (entry,) = got["slos"]
    good = expected_days[("SUCCEED", 30.0)]
    assert periods_by_day(entry) == {d: (round(good.get(d, 0)), round(ok[d])) for d in ok}
    assert any("le bounds" in n for n in entry["notes"])


def test_summarize_from_prometheus(
    capsys: pytest.CaptureFixture[str], prom: servers.Prometheus
) -> None:
    got = run_json(capsys, "summarize", prom_source(prom), *prom_flags())
    assert (got["rows"], got["errors"]) == (prom_requests(prom), 398)
    assert got["format"] == "Prometheus histogram"
    assert got["source"] == f"Prometheus {prom.url}, {METRIC}"
    assert "le bounds" in got["exactness"]
    # Percentiles lie inside the histogram's buckets (seconds 5 .. 600).
    assert 5_000 <= got["latency_ms"]["p50"] <= got["latency_ms"]["p99"] <= 600_000


# -- failures: one line, exit 2, the source named, what to check ------------------------------


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("sloview: error: ")
    assert "Traceback" not in err
    scan(err)
    return err


def test_postgres_failures(
    capsys: pytest.CaptureFixture[str], pg: servers.Postgres, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = servers.free_port()
    wrong_port = pg.url().replace(f":{pg.port}/", f":{port}/")
    err = one_line_error(capsys, "summarize", wrong_port, "--table", TABLE)
    assert "cannot connect to the database" in err
    assert f"127.0.0.1:{port}/sloview" in err
    assert "host and port" in err
    wrong_password = pg.url(password="wrong-" + servers.PG_READER_PASSWORD)
    err = one_line_error(capsys, "summarize", wrong_password, "--table", TABLE)
    assert "refused the login" in err
    assert "user name and password" in err
    assert "wrong-" not in err
    err = one_line_error(
        capsys, "simulate", pg.url(), "--table", "no_such_table", "--sli", "availability"
    )
    assert "the query failed" in err
    assert "no_such_table" in err
    assert "table and column names" in err
    query = f"SELECT gmt_create, exec_time_seconds, pg_sleep(0.2) AS s FROM {TABLE}"
    err = one_line_error(capsys, "summarize", pg.url(), "--query", query, "--timeout", "0.5")
    assert "took longer than 0.5 s" in err
    assert "raise --timeout" in err
    err = one_line_error(
        capsys,
        "summarize",
        pg.url(),
        "--table",
        TABLE,
        "--start",
        "2030-01-01",
        "--end",
        "2030-01-02",
    )
    assert "no requests between 2030-01-01" in err
    assert f"127.0.0.1:{pg.port}/sloview, table {TABLE}" in err
    assert "--start/--end" in err
    scan(caplog.text)


def test_prometheus_failures(
    capsys: pytest.CaptureFixture[str],
    prom: servers.Prometheus,
    auth_prom: servers.Prometheus,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    port = servers.free_port()
    err = one_line_error(
        capsys,
        "simulate",
        f"prometheus+http://127.0.0.1:{port}",
        *prom_flags("--sli", "availability"),
    )
    assert "cannot reach Prometheus" in err
    assert f"127.0.0.1:{port}" in err
    assert "host and port" in err
    host = auth_prom.url.removeprefix("http://")
    wrong = f"prometheus+http://{servers.PROM_USER}:not-{servers.PROM_PASSWORD}@{host}"
    err = one_line_error(capsys, "summarize", wrong, *prom_flags())
    assert "refused the credentials (HTTP 401)" in err
    assert f"Prometheus {auth_prom.url}, {METRIC}" in err
    assert "token or user and password" in err
    # The same through the environment, with the URL free of credentials.
    monkeypatch.setenv("SLOVIEW_PROMETHEUS_USERNAME", servers.PROM_USER)
    monkeypatch.setenv("SLOVIEW_PROMETHEUS_PASSWORD", "not-" + servers.PROM_PASSWORD)
    err = one_line_error(capsys, "summarize", prom_source(auth_prom), *prom_flags())
    assert "refused the credentials" in err
    monkeypatch.delenv("SLOVIEW_PROMETHEUS_USERNAME")
    monkeypatch.delenv("SLOVIEW_PROMETHEUS_PASSWORD")
    err = one_line_error(
        capsys, "summarize", prom_source(prom), *prom_flags("--match", "status=~(")
    )
    assert "the query failed" in err
    assert "label matchers" in err
    monkeypatch.setenv("SLOVIEW_PROMETHEUS_TOKEN", TOKEN)
    # The timeout is the client's: checked where the answer takes longer than a microsecond
    # (VictoriaMetrics on loopback can answer from its cache within one: a race, not a test).
    if not isinstance(prom, servers.VictoriaMetrics):
        err = one_line_error(
            capsys, "summarize", prom_source(prom), *prom_flags("--timeout", "0.000001")
        )
        assert "did not answer within" in err
        assert "raise --timeout" in err
    err = one_line_error(
        capsys,
        "summarize",
        prom_source(prom),
        "--histogram",
        METRIC,
        "--start",
        "2030-01-01",
        "--end",
        "2030-01-02",
    )
    assert f"no series of {METRIC}_bucket" in err
    assert "time range" in err
    scan(caplog.text)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["data.csv", "--table", "t"], "--table"),
        (["data.csv", "--histogram", "m"], "--histogram"),
        (["data.csv", "--start", "yesterday"], "--start"),
        (["postgresql://u:pg-admin-Zt81w@127.0.0.1:1/db"], "--table"),
        (["postgresql://u:pg-admin-Zt81w@127.0.0.1:1/db", "--table", "t", "--query", "SELECT 1"],
         "--query"),
        (["postgresql://u:pg-admin-Zt81w@127.0.0.1:1/db", "--table", "t", "--histogram", "m"],
         "--histogram"),
        (["postgresql://u:pg-admin-Zt81w@127.0.0.1:1/db", "--table", "t", "--aggregate"],
         "--aggregate"),
        (["prometheus+http://127.0.0.1:1", "--start", "2024-01-01", "--end", "2024-01-02"],
         "--histogram"),
        (["prometheus+http://127.0.0.1:1", "--histogram", "m", "--end", "2024-01-02"], "--start"),
        (["prometheus+http://127.0.0.1:1", *prom_flags("--table", "t")], "--table"),
        (["prometheus+http://127.0.0.1:1", *prom_flags("--where", "a=b")], "--where"),
        (["prometheus+http://127.0.0.1:1", "--histogram", "m", "--start", "2024-01-01", "--end",
          "2024-01-02", "--good", "200"], "--status-label"),
        (["prometheus+http://127.0.0.1:1", *prom_flags("--match", "=x")], "--match"),
        (["http://127.0.0.1:9090"], "prometheus+http://127.0.0.1:9090"),
        (["@nowhere"], "SLOVIEW_NOWHERE_URL"),
    ],
)  # fmt: skip
def test_argument_errors_name_the_flag(
    capsys: pytest.CaptureFixture[str], argv: list[str], flag: str
) -> None:
    # Refused before anything is read or connected to: no server needed.
    err = one_line_error(capsys, "summarize", *argv)
    assert flag in err


# -- credentials: never shown, never written --------------------------------------------------


def test_no_secret_in_output_exports_reports_or_logs(
    capsys: pytest.CaptureFixture[str],
    pg: servers.Postgres,
    prom: servers.Prometheus,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = pg.url(user="postgres", password=servers.PG_ADMIN_PASSWORD)
    slo = ["--threshold-ms", "60000", "--target", "0.95", "--calendar", "week"]
    texts: list[str] = []
    for source in ([pg.url(), "--table", TABLE], [admin, "--table", TABLE, "--row-limit", "0"]):
        for argv in (
            ["summarize", *source],
            ["summarize", *source, "--json"],
            ["simulate", *source, *slo],
            ["simulate", *source, *slo, "--json"],
            ["recommend", *source, *slo],
        ):
            code, out, err = run(capsys, *argv)
            assert code == 0, err
            texts += [out, err]
        for suffix in ("html", "md"):
            path = tmp_path / f"report-{len(texts)}.{suffix}"
            code, out, err = run(
                capsys, "report", *source, *slo, "-o", str(path), "--generated-at", "now"
            )
            assert code == 0, err
            report = path.read_text()
            assert "127.0.0.1" in report
            texts += [out, err, report]
    # Aggregates say so in the report's provenance.
    assert "Computed from aggregates" in texts[-1]
    # Exports name the database without its credentials.
    path = tmp_path / "openslo.yaml"
    code, out, err = run(
        capsys, "export", *slo, "--source", admin, "--sql-table", TABLE, "-o", str(path)
    )
    assert code == 0, err
    yaml_text = path.read_text()
    assert f"url: postgresql+psycopg://127.0.0.1:{pg.port}/sloview" in yaml_text
    assert "postgres@" not in yaml_text
    texts += [out, err, yaml_text]
    # Prometheus: a password in the URL, and a token from the environment.
    host = prom.url.removeprefix("http://")
    with_password = f"prometheus+http://{servers.PROM_USER}:{servers.PROM_PASSWORD}@{host}"
    monkeypatch.setenv("SLOVIEW_PROMETHEUS_TOKEN", TOKEN)
    for argv in (
        ["summarize", with_password, *prom_flags()],
        ["simulate", prom_source(prom), *prom_flags(), *slo],
    ):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        texts += [out, err]
    for fmt in ("openslo", "sloth"):
        code, out, err = run(
            capsys,
            "export",
            *slo[:4],
            "--format",
            fmt,
            "--source",
            with_password,
            "--prometheus-histogram",
            METRIC,
        )
        assert code == 0, err
        texts += [out, err]
    assert f"url: {prom.url}" in texts[-4]
    # A driver error quoting the URL is scrubbed too (an unknown dialect here).
    err = one_line_error(capsys, "summarize", f"nosuchdb://u:{TOKEN}@h/db", "--table", "t")
    texts.append(err)
    scan(*texts, caplog.text)


def test_named_connections_from_secrets_and_environment(
    capsys: pytest.CaptureFixture[str],
    pg: servers.Postgres,
    prom: servers.Prometheus,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text(f'[connections.traces]\nurl = "{pg.url()}"\n')
    got = run_json(capsys, "summarize", "@traces", "--table", TABLE)
    assert got["rows"] == 26_790
    assert got["source"] == f"postgresql+psycopg://127.0.0.1:{pg.port}/sloview, table {TABLE}"
    monkeypatch.setenv("SLOVIEW_METRICS_URL", prom_source(prom))
    monkeypatch.setenv("SLOVIEW_METRICS_TOKEN", TOKEN)
    got = run_json(capsys, "summarize", "@metrics", *prom_flags())
    assert got["rows"] == prom_requests(prom)
    scan(json.dumps(got))
    assert source_kind("@metrics") == "prometheus"
    assert source_kind("@traces") == "sql"
    assert (
        describe_source("@traces") == f"@traces (postgresql+psycopg://127.0.0.1:{pg.port}/sloview)"
    )


# -- without servers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("requests.csv", "file"),
        ("data/requests.parquet", "file"),
        ("postgresql://u:p@db.example/requests", "sql"),
        ("postgresql+psycopg://db.example:5433/requests", "sql"),
        ("sqlite:///tmp/requests.db", "sql"),
        ("prometheus+http://prom.example:9090", "prometheus"),
        ("prometheus+https://prom.example", "prometheus"),
    ],
)
def test_source_kind(text: str, kind: str) -> None:
    assert source_kind(text) == kind


def test_matchers_and_descriptions() -> None:
    assert parse_matcher("job=api") == ("job", "=", "api")
    assert parse_matcher("code!~5..") == ("code", "!~", "5..")
    assert parse_matcher("code=~2..|3..") == ("code", "=~", "2..|3..")
    assert parse_matcher("env!=dev") == ("env", "!=", "dev")
    with pytest.raises(SourceError, match="--match"):
        parse_matcher("no-operator")
    assert describe_source("postgresql://u:s3cret@db/x") == "postgresql+psycopg://db/x"
    assert describe_source("prometheus+http://u:s3cret@h:9090") == "http://h:9090"
    with pytest.raises(SourceError, match="--row-limit"):
        open_source("data.csv", SourceOptions(row_limit=10))


def test_file_aggregated_by_duckdb_keeps_availability_exact(
    capsys: pytest.CaptureFixture[str], csv_path: Path, file_table: RequestTable
) -> None:
    got = run_json(capsys, "summarize", str(csv_path), "--aggregate")
    assert (got["rows"], got["errors"]) == (26_790, 398)
    assert got["format"] == "aggregated per minute"
    days, ok, _ = file_days(file_table)
    everything = np.ones(ok.size, dtype=bool)
    sim = run_json(
        capsys, "simulate", str(csv_path), "--aggregate", "--sli", "availability", *DAILY[:2]
    )
    assert periods_by_day(sim["slos"][0]) == counts_by_day(days, ok, everything)


def test_summary_of_aggregates_with_an_open_top_bucket() -> None:
    ts = pd.Timestamp("2026-01-05", tz="UTC").value + np.arange(5) * 10**9
    agg = from_requests(
        ts,
        np.array([True, True, True, True, False]),
        np.array([50.0, 150.0, 150.0, 900.0, np.nan]),
        source="histogram",
        edges_ms=np.array([0.0, 100.0, 200.0, math.inf]),
    )
    summary = summarize_aggregates(agg)
    lat = summary.overall.latency
    assert (summary.overall.rows, summary.overall.errors, lat.count) == (5, 1, 4)
    # Midpoints 50, 150, 150 and the open bin's lower bound 200.
    assert lat.mean == pytest.approx((50 + 150 + 150 + 200) / 4)
    assert lat.max == 200.0
    assert any("above the highest bucket bound" in n for n in summary.notes)
    assert summary.to_dict()["exactness"] == agg.exactness
