"""Presets for vLLM, TGI and OpenTelemetry GenAI histograms, read from a real Prometheus (and
VictoriaMetrics) over histograms built from the real LLMPerf requests (tests/genai_openmetrics.py).

What must hold: each preset finds its server's histograms; a single condition (TTFT, TPOT or
end to end, at a bucket bound) comes back exactly as the requests give it; a joint SLI over the
separate histograms is the documented lower bound, at or under the requests' own figure, with
the upper bound in the notes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sloview.cli import main
from sloview.engine.aggregated import AggregateEngine
from sloview.engine.scope import Scope
from sloview.errors import SourceError
from sloview.model import SLO
from sloview.simulate import simulate
from sloview.sources.open import SourceOptions, open_source
from sloview.sources.presets import PRESETS, preset
from tests import servers
from tests.conftest import PROMETHEUS_BACKENDS, require
from tests.genai_openmetrics import llmperf_requests, preset_openmetrics

START, END = "2023-12-19T00:00Z", "2023-12-20T00:00Z"


@pytest.fixture(scope="module")
def requests(realdata: Path) -> pd.DataFrame:
    return llmperf_requests(realdata / "llmperf_leaderboard_2023/llmperf_requests_flat.csv")


@pytest.fixture(scope="module", params=PROMETHEUS_BACKENDS)
def server(
    request: pytest.FixtureRequest, requests: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("presets")
    files = [preset_openmetrics(requests, name, folder / f"{name}.om.txt") for name in PRESETS]
    try:
        if request.param == "prometheus":
            data = folder / "data"
            servers.backfill(files, data)
            started = servers.start_prometheus(data)
        else:
            started = servers.start_victoriametrics()
            for path in files:
                started.import_openmetrics(path)
    except servers.ServerMissingError as exc:
        require(False, str(exc))
        raise
    yield started
    started.stop()


def load(server, name: str) -> AggregateEngine:  # type: ignore[no-untyped-def]
    chosen = preset(name)
    options = SourceOptions(
        start=START,
        end=END,
        histogram=chosen.latency,
        ttft_histogram=chosen.ttft,
        tpot_histogram=chosen.tpot,
        status_label=chosen.status_label,
        good=chosen.good,
    )
    return AggregateEngine(open_source("prometheus+" + server.url, options))


def test_each_preset_finds_its_servers_histograms(server, requests: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    ok = requests[requests["ok"]]
    for name, metrics in (
        ("vllm", ("latency_ms", "ttft_ms", "tpot_ms")),
        ("tgi", ("latency_ms", "tpot_ms")),
        ("otel-genai", ("latency_ms", "ttft_ms", "tpot_ms")),
    ):
        engine = load(server, name)
        assert engine.metrics() == metrics, name
        # vLLM and TGI observe finished requests only; OpenTelemetry marks failures.
        if name == "otel-genai":
            assert (engine.rows, engine.errors) == (len(requests), int((~requests["ok"]).sum()))
        else:
            assert (engine.rows, engine.errors) == (len(ok), 0)


@pytest.mark.parametrize(
    ("metric", "threshold_ms"), [("ttft_ms", 1000.0), ("tpot_ms", 25.0), ("latency_ms", 5000.0)]
)
def test_one_condition_at_a_bound_equals_the_requests(
    server,
    requests: pd.DataFrame,
    metric: str,
    threshold_ms: float,  # type: ignore[no-untyped-def]
) -> None:
    engine = load(server, "vllm")
    slo = SLO.from_dict(
        {
            "name": "one",
            "sli": {"kind": "latency", "metric": metric},
            "objective": {"target": 0.9, "threshold": threshold_ms},
        }
    )
    sim = simulate(Scope.bind(engine, slo))
    values = requests.loc[requests["ok"], metric].dropna()
    assert sim.overall.good == int((values * 1000 <= threshold_ms).sum())
    assert sim.overall.total == len(values)


def test_a_joint_sli_on_histograms_is_a_lower_bound_with_the_upper_in_the_notes(
    server,
    requests: pd.DataFrame,  # type: ignore[no-untyped-def]
) -> None:
    engine = load(server, "otel-genai")
    slo = SLO.from_dict(
        {
            "name": "joint",
            "sli": {
                "kind": "joint",
                "conditions": [
                    {"metric": "ttft_ms", "threshold": 1000},
                    {"metric": "tpot_ms", "threshold": 25},
                ],
            },
            "objective": {"target": 0.9},
        }
    )
    sim = simulate(Scope.bind(engine, slo))
    ok = requests["ok"]
    both = ok & (requests["ttft_ms"] <= 1.0) & (requests["tpot_ms"] <= 0.025)
    with_values = ok & requests["ttft_ms"].notna() & requests["tpot_ms"].notna()
    exact = both.sum() / (with_values.sum() + (~ok).sum())
    assert sim.overall.total == len(requests)
    assert sim.overall.attainment <= exact
    (note,) = [n for n in sim.notes if n.startswith("Joint SLI from separate histograms")]
    upper = float(note.split("at most ")[1].split("%")[0]) / 100
    assert exact <= upper + 1e-4
    # The bound is informative on this data: well above zero.
    assert sim.overall.attainment > 0.5 * exact


def test_the_cli_reads_a_preset(server, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    code = main(
        [
            "simulate",
            "prometheus+" + server.url,
            "--preset",
            "vllm",
            "--start",
            START,
            "--end",
            END,
            "--sli",
            "joint",
            "--condition",
            "ttft_ms<=1000",
            "--condition",
            "tpot_ms<=25",
            "--target",
            "0.9",
            "--window",
            "1d",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    (entry,) = json.loads(out)["slos"]
    assert any("Joint SLI from separate histograms" in n for n in entry["notes"])


def test_an_unknown_preset_is_refused() -> None:
    with pytest.raises(SourceError, match=r"'sglang' is not a preset.*vllm, tgi, otel-genai"):
        preset("sglang")
