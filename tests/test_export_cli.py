"""`sloview export` and `sloview validate`: output, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sloview.cli import main
from sloview.export import MetricSource, from_openslo, load_documents, to_openslo
from sloview.model import SLI, SLO, Objective, TimeWindow

LATENCY_FLAGS = ["--sli", "latency", "--threshold-ms", "8000", "--name", "chat-latency"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors and --help
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_export_prints_openslo_to_stdout_and_it_validates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _run(capsys, "export", *LATENCY_FLAGS, "--service", "genai-api")
    assert (code, err) == (
        0,
        "sloview: warning: no data source given: the metric sources name "
        "sloview columns only; pass --source FILE, --prometheus-histogram "
        "METRIC or --sql-table TABLE for queries\n",
    )
    (slo,) = from_openslo(load_documents(out))
    assert (slo.name, slo.service, slo.objective) == (
        "chat-latency",
        "genai-api",
        Objective(target=0.95, threshold=8000.0),
    )
    path = tmp_path / "out.yaml"
    path.write_text(out)
    code, out, err = _run(capsys, "validate", str(path))
    assert (code, out, err) == (0, "valid: 12 documents\n", "")


def test_export_to_a_file_with_prometheus_queries(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "slo.yaml"
    code, out, err = _run(
        capsys,
        "export",
        *LATENCY_FLAGS,
        "--prometheus-histogram",
        "http_request_duration_seconds",
        "--prometheus-label",
        "job=api",
        "--prometheus-buckets",
        "0.5,1,8,10",
        "--url",
        "http://admin:pw@prom:9090",
        "-o",
        str(path),
    )
    assert (code, err) == (0, "")
    assert out == f"wrote {path}: 1 SLO as OpenSLO v1\n"
    text = path.read_text()
    assert 'http_request_duration_seconds_bucket{job="api",code!~"5..|429",le="8"}' in text
    assert "url: http://prom:9090" in text
    assert "pw" not in text
    slo = SLO(
        name="chat-latency",
        sli=SLI(kind="latency"),
        objective=Objective(target=0.95, threshold=8000.0),
        window=TimeWindow(rolling_s=28 * 86400),
    )
    source = MetricSource(
        kind="prometheus",
        histograms=(("latency_ms", "http_request_duration_seconds"),),
        matchers=(("job", "api"),),
        buckets=(0.5, 1.0, 8.0, 10.0),
        url="http://prom:9090",
    )
    assert text == to_openslo([slo], source).text


def test_export_sloth_with_warnings_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys,
        "export",
        "--sli",
        "latency",
        "--threshold-ms",
        "300",
        "--format",
        "sloth",
        "--prometheus-histogram",
        "h_seconds",
    )
    assert code == 0
    assert out.startswith("# Sloth prometheus/v1 spec written by sloview")
    assert 'h_seconds_bucket{code!~"5..|429",le="0.3"}' in out
    lines = err.splitlines()
    assert all(line.startswith("sloview: warning: ") for line in lines)
    assert any('le="0.3"' in line for line in lines)
    assert any("--default-slo-period=28d" in line for line in lines)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "--sli", "availability", "--format", "sloth"], "a Prometheus source is needed"),
        (
            [
                "export",
                *LATENCY_FLAGS,
                "--percentile",
                "95",
                "--format",
                "sloth",
                "--prometheus-histogram",
                "h",
            ],
            "Sloth has no time slices",
        ),
        (
            ["export", "--sli", "availability", "--source", "a.csv", "--sql-table", "t"],
            "give one kind of metric source",
        ),
        (["export", "--sli", "latency"], "needs --threshold-ms"),
        (["export", "--sli", "availability", "--format", "yaml"], "invalid choice: 'yaml'"),
        (
            ["export", "--sli", "availability", "--prometheus-histogram", "speed=m"],
            "'speed' is not a latency column",
        ),
        (
            ["export", "--sli", "availability", "--prometheus-buckets", "a,b"],
            "is not a list of numbers",
        ),
        (
            ["export", "--sli", "availability", "--prometheus-histogram", "bad metric"],
            "is not a Prometheus metric name",
        ),
        (["export", "--slo", "missing.yaml"], "missing.yaml: file not found"),
        (["validate", "missing.yaml"], "missing.yaml: file not found"),
        (["validate"], "the following arguments are required: FILE"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("sloview: error: ")
    assert message in err
    assert "Traceback" not in err


def test_export_to_an_unwritable_path_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "no" / "such" / "dir.yaml"
    code, _, err = _run(
        capsys, "export", "--sli", "availability", "--source", "x.csv", "-o", str(target)
    )
    assert code == 2
    assert err == f"sloview: error: {target}: No such file or directory.\n"


def test_validate_lists_every_violation_on_its_own_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: Web Shop}\n---\n"
        "apiVersion: openslo/v1\nkind: AlertCondition\nmetadata: {name: burn}\n"
        "spec: {condition: {kind: burnrate, op: gt, lookbackWindow: 1 hour}}\n"
    )
    code, out, err = _run(capsys, "validate", str(path))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{path}: document 1 (Service Web Shop) metadata.name: 'Web Shop' must be an RFC 1123 "
        "label: at most 63 lower-case letters, digits and '-', starting and ending with a "
        "letter or digit",
        f"{path}: document 2 (AlertCondition burn) spec.severity: is required",
        f"{path}: document 2 (AlertCondition burn) spec.condition.threshold: is required",
        f"{path}: document 2 (AlertCondition burn) spec.condition.lookbackWindow: '1 hour' "
        "must be a duration <int><m|h|d|w|M|Q|Y>, e.g. 28d or 5m (m is minutes, M months)",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('version: "prometheus/v1"\nservice: s\nslos: []\n', "is not an OpenSLO file"),
        ("kind: !!python/object/apply:os.system ['echo pwned']\n", "unsupported YAML tag"),
        ("a: &a [1, 2]\nb: *a\n", "is not an OpenSLO file"),
        (
            "a: &a [1,1,1,1,1,1,1,1,1,1]\n"
            + "".join(
                f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
                for p, c in zip("abcde", "bcdef", strict=False)
            ),
            "alias bomb",
        ),
    ],
)
def test_validate_refuses_other_and_unsafe_files_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    code, out, err = _run(capsys, "validate", str(path))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert message in err


def test_help_documents_the_new_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "export", "--help")
    assert code == 0
    for flag in (
        "--format",
        "--service",
        "--output",
        "--source",
        "--prometheus-histogram",
        "--prometheus-label",
        "--prometheus-buckets",
        "--sql-table",
        "--url",
    ):
        assert flag in out
    code, out, _ = _run(capsys, "validate", "--help")
    assert code == 0
    assert "OpenSLO" in out


@pytest.fixture(scope="module")
def small_sample(sample_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four days of the sample (fast to load)."""
    table = pq.read_table(sample_path)
    path = tmp_path_factory.mktemp("data") / "four_days.parquet"
    pq.write_table(table.slice(0, 48_000), path)
    return path


def test_simulate_reads_an_exported_openslo_file_like_the_flags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_sample: Path
) -> None:
    flags = ["--sli", "latency", "--threshold-ms", "6000", "--target", "0.9", "--name", "chat"]
    path = tmp_path / "chat.yaml"
    assert _run(capsys, "export", *flags, "--source", str(small_sample), "-o", str(path))[0] == 0
    code, from_file, err = _run(capsys, "simulate", str(small_sample), "--slo", str(path), "--json")
    assert (code, err) == (0, "")
    code, from_flags, _ = _run(capsys, "simulate", str(small_sample), *flags, "--json")
    assert code == 0
    assert json.loads(from_file) == json.loads(from_flags)
