"""Upstream OpenSLO and Sloth examples (../shared/specs): the valid ones import, the others
give one-line errors naming the YAML path; what sloview exports simulates like the original."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.export import (
    MetricSource,
    load_documents,
    read_text,
    to_openslo,
    to_sloth,
    validate_openslo,
)
from sloview.ingest import Mapping, load_requests
from sloview.model import SLI, SLO, AlertWindow, Budgeting, Objective, TimeWindow
from sloview.simulate import simulate
from sloview.specfile import load_slo_file

OPENSLO = "openslo-upstream-examples"
SLOTH = "sloth-upstream-examples"

# file -> the SLOs it holds (name, kind, target, threshold, window), or (error path, message)
EXPECTED: dict[str, list[tuple[str, str, float, float | None, TimeWindow]] | tuple[str, str]] = {
    f"{OPENSLO}/OpenSLO__budgeting-method__occurences-slo.yaml": [
        ("search-slo", "latency", 0.99, 500.0, TimeWindow(rolling_s=14 * 86400)),
    ],
    f"{OPENSLO}/OpenSLO__budgeting-method__ratio-timeslices.yaml": (
        "spec.objectives[0].op",
        "must not be set with an inline ratioMetric indicator",
    ),
    f"{OPENSLO}/OpenSLO__budgeting-method__timeslices-slo.yaml": (
        "spec.objectives[0].op",
        "must not be set with an inline ratioMetric indicator",
    ),
    f"{OPENSLO}/OpenSLO__treat-low-traffic-as-equally-important__timeslices-slo.yaml": (
        "spec.objectives[0].op",
        "must not be set with an inline ratioMetric indicator",
    ),
    f"{SLOTH}/examples__getting-started.yml": [
        ("requests-availability", "availability", 0.999, None, TimeWindow(rolling_s=30 * 86400)),
    ],
    f"{SLOTH}/examples__kubernetes-apiserver.yml": [
        ("requests-availability", "availability", 0.999, None, TimeWindow(rolling_s=30 * 86400)),
        ("requests-latency", "latency", 0.99, 400.0, TimeWindow(rolling_s=30 * 86400)),
    ],
    f"{SLOTH}/examples__raw-home-wifi.yml": (
        "slos[0].sli.raw",
        "a raw error-ratio query cannot be recomputed from request samples",
    ),
    f"{SLOTH}/examples__windows__custom-30d.yaml": ("kind", "Sloth AlertWindows file"),
    f"{SLOTH}/internal__alert__windows__google-30d.yaml": ("kind", "Sloth AlertWindows file"),
    f"{SLOTH}/examples___gen__getting-started.yml": ("groups", "Prometheus rules"),
}


def test_every_upstream_example_has_an_expectation(specs: Path) -> None:
    found = {str(p.relative_to(specs)) for p in specs.glob("*/*") if p.is_file()}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_upstream_example_imports_or_names_the_path_at_fault(specs: Path, name: str) -> None:
    expected = EXPECTED[name]
    path = specs / name
    if isinstance(expected, tuple):
        where, message = expected
        with pytest.raises(SpecError) as info:
            load_slo_file(path)
        assert info.value.where == f"{path}: {where}"
        assert message in info.value.message
        assert "\n" not in str(info.value)
        return
    slos = load_slo_file(path)
    got = [(s.name, s.sli.kind, s.objective.target, s.objective.threshold, s.window) for s in slos]
    assert got == expected


def test_upstream_openslo_examples_against_the_sdk_rules(specs: Path) -> None:
    violations = {
        p.name: [str(v) for v in validate_openslo(read_text(p))]
        for p in sorted((specs / OPENSLO).iterdir())
    }
    op_on_ratio = (
        "spec.objectives[0].op: must not be set with an inline ratioMetric indicator "
        "(a ratio objective has only a target: remove op and value)"
    )
    assert violations == {
        "OpenSLO__budgeting-method__occurences-slo.yaml": [],
        "OpenSLO__budgeting-method__ratio-timeslices.yaml": [op_on_ratio],
        "OpenSLO__budgeting-method__timeslices-slo.yaml": [op_on_ratio],
        "OpenSLO__treat-low-traffic-as-equally-important__timeslices-slo.yaml": [op_on_ratio],
    }


def test_fixing_the_op_leaves_the_minute_that_was_meant_as_a_month(
    specs: Path, tmp_path: Path
) -> None:
    text = read_text(specs / OPENSLO / "OpenSLO__budgeting-method__timeslices-slo.yaml")
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(text.replace("      op: gt\n", ""), encoding="utf-8")
    assert validate_openslo(fixed.read_text()) == []
    with pytest.raises(SpecError, match=r"spec\.timeWindow\[0\]\.duration: .*a month is 1M"):
        load_slo_file(fixed)


def test_the_upstream_sloth_latency_slo_reads_the_bucket_bound_as_the_threshold(
    specs: Path,
) -> None:
    _, latency = load_slo_file(specs / SLOTH / "examples__kubernetes-apiserver.yml")
    assert latency.sli == SLI(kind="latency")
    assert latency.objective == Objective(target=0.99, threshold=400.0, op="lte")
    assert latency.service == "k8s-apiserver"


# -- export -> import -> simulate on the bundled sample ---------------------------------------


@pytest.fixture(scope="module")
def engine(sample_path: Path) -> Engine:
    """The sample data's engine (loaded once for the module)."""
    return Engine(load_requests(sample_path, Mapping(segments=("endpoint", "region"))))


AGREED = [
    SLO(
        name="chat-latency",
        service="genai-api",
        sli=SLI(kind="latency"),
        objective=Objective(target=0.9, threshold=10000.0),
        segment=(("endpoint", "chat"),),
    ),
    SLO(
        name="availability",
        service="genai-api",
        sli=SLI(kind="availability"),
        objective=Objective(target=0.995),
        window=TimeWindow(calendar="week"),
        alerts=(AlertWindow(severity="page", long_s=3600, short_s=300, burn_rate=14.4),),
    ),
    SLO(
        name="embeddings-p95",
        service="genai-api",
        sli=SLI(kind="latency", percentile=95.0, failed_requests="bad"),
        objective=Objective(target=0.99, threshold=120.0),
        budgeting=Budgeting(method="Timeslices", slice_s=300, min_events=5),
        segment=(("endpoint", "embeddings"),),
    ),
]


def _figures(engine: Engine, slo: SLO) -> tuple[object, ...]:
    sim = simulate(Scope.bind(engine, slo))
    return (
        sim.overall,
        [p.to_dict() for p in sim.periods],
        [f.to_dict() for f in sim.firings],
        [v.to_dict() for v in sim.violations],
    )


def test_openslo_export_import_simulates_exactly_like_the_original(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "agreed.yaml"
    path.write_text(to_openslo(AGREED, MetricSource(path="genai.parquet")).text)
    back = load_slo_file(path)
    assert back == AGREED
    for original, read in zip(AGREED, back, strict=True):
        assert _figures(engine, read) == _figures(engine, original)


def test_sloth_export_import_simulates_exactly_like_the_original(
    engine: Engine, tmp_path: Path
) -> None:
    source = MetricSource(kind="prometheus", histograms=(("latency_ms", "llm_seconds"),))
    path = tmp_path / "sloth.yaml"
    path.write_text(to_sloth(AGREED[:2], source).text)
    back = load_slo_file(path)
    assert back == [*AGREED[:1], AGREED[1].with_changes(alerts=None)]
    assert _figures(engine, back[0]) == _figures(engine, AGREED[0])


def test_sloview_files_still_load_and_unsafe_ones_are_refused(tmp_path: Path) -> None:
    own = tmp_path / "own.yaml"
    own.write_text(
        "slos:\n- name: a\n  sli: {kind: availability}\n  objective: {target: 0.99}\n"
        "  exclusions:\n  - {start: 2026-09-10 02:00:00, end: 2026-09-10 03:00:00}\n"
    )
    (slo,) = load_slo_file(own)
    assert slo.exclusions[0].start.isoformat() == "2026-09-10T02:00:00+00:00"
    two = tmp_path / "two.yaml"
    two.write_text("name: a\n---\nname: b\n")
    with pytest.raises(SpecError, match="holds 2 YAML documents"):
        load_slo_file(two)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(
        "a: &a [1,1,1,1,1,1,1,1,1,1]\n"
        + "".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
            for p, c in zip("abcdef", "bcdefg", strict=True)
        )
    )
    with pytest.raises(SpecError, match="alias bomb"):
        load_slo_file(bomb)
    assert load_documents("") == []
