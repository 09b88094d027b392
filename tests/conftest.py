"""Shared fixtures: real data from ../shared, and skips that turn into failures under CI."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from sloview.ingest import load_requests
from sloview.ingest.table import RequestTable
from tests import servers

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"
SPECS = ROOT.parent / "shared" / "specs"
SAMPLE = ROOT / "sample_data" / "genai_requests.parquet"
IN_CI = os.environ.get("CI", "").lower() == "true"
# No test ever writes to the user's own SLO registry (~/.local/share/sloview/registry.db):
# one throw-away registry for the session, apps started by the tests inherit it.
if not os.environ.get("SLOVIEW_REGISTRY", "").startswith("sqlite:///" + tempfile.gettempdir()):
    os.environ["SLOVIEW_REGISTRY"] = (
        f"sqlite:///{tempfile.mkdtemp(prefix='sloview-registry-')}/registry.db"
    )


def require(condition: bool, reason: str) -> None:
    """Skip when something the test needs is missing locally; fail instead under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared real request data folder (skipped where a checkout does not have it)."""
    require(REALDATA.is_dir(), f"real data folder {REALDATA} is missing")
    return REALDATA


@pytest.fixture(scope="session")
def specs() -> Path:
    """Upstream OpenSLO and Sloth example files."""
    require(SPECS.is_dir(), f"specs folder {SPECS} is missing")
    return SPECS


@pytest.fixture(scope="session")
def sample_path() -> Path:
    """The bundled sample data set."""
    assert SAMPLE.is_file(), "sample_data/genai_requests.parquet is part of the repository"
    return SAMPLE


# -- the real servers of the source tests (started once per session by tests/servers.py) --

ALIBABA_CSV = "alibaba_gentd26_genai_serving/lora_request_trace.csv"
ALIBABA_OM = "prometheus_openmetrics_derived/alibaba_gentd26_genai_request_duration_seconds.om.txt"


@pytest.fixture(scope="session")
def csv_path(realdata: Path) -> Path:
    """The real request trace (Alibaba GenAI serving)."""
    return realdata / ALIBABA_CSV


@pytest.fixture(scope="session")
def file_table(csv_path: Path) -> RequestTable:
    """The trace read as a file: what every database figure is compared with."""
    return load_requests(csv_path)


@pytest.fixture(scope="session")
def pg(csv_path: Path) -> servers.Postgres:
    """The shared PostgreSQL with the trace COPY-loaded (once per test session)."""
    try:
        server: servers.Postgres = servers.alibaba_postgres(csv_path)
    except servers.ServerMissingError as exc:
        require(False, str(exc))
        raise
    return server


@pytest.fixture(scope="session")
def om_path(realdata: Path) -> Path:
    """The OpenMetrics histogram derived from the trace."""
    return realdata / ALIBABA_OM


# The Prometheus query API is served by Prometheus itself and by VictoriaMetrics (standing
# for the scalable Prometheus-compatible stores): every test of a Prometheus source runs on both.
PROMETHEUS_BACKENDS = ("prometheus", "victoriametrics")


@pytest.fixture(scope="session", params=PROMETHEUS_BACKENDS)
def prom(request: pytest.FixtureRequest, om_path: Path) -> servers.Prometheus:
    """A server with the OpenMetrics file loaded (once per session and backend): Prometheus
    over backfilled blocks, or VictoriaMetrics through its Prometheus import endpoint."""
    start = (
        servers.shared_prometheus
        if request.param == "prometheus"
        else servers.shared_victoriametrics
    )
    try:
        server: servers.Prometheus = start(om_path)
    except servers.ServerMissingError as exc:
        require(False, str(exc))
        raise
    return server


@pytest.fixture(scope="session")
def auth_prom() -> servers.Prometheus:
    """An empty Prometheus that requires basic auth."""
    try:
        server: servers.Prometheus = servers.shared_auth_prometheus()
    except servers.ServerMissingError as exc:
        require(False, str(exc))
        raise
    return server


@pytest.fixture(scope="session")
def spark() -> servers.SparkConnect:
    """A real Spark Connect server (local mode), started once per session (~15-40 s)."""
    try:
        server: servers.SparkConnect = servers.shared_spark()
    except servers.ServerMissingError as exc:
        require(False, str(exc))
        raise
    return server


@pytest.fixture
def registry_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty SQLite registry of this test's own, also what SLOVIEW_REGISTRY names."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    monkeypatch.setenv("SLOVIEW_REGISTRY", url)
    return url
