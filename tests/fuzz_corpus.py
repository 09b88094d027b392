"""Seeds and mutations for the fuzz test: small slices of the real files, the cases issue 17
found, and SLO specs; mutated deterministically by a seeded `random.Random`."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import random
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

EXTREMES = (
    "",
    "-1",
    "0",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "-inf",
    "99999999999999999999",
    "-9223372036854775808",
    "18446744073709551615",
    "15323762376558146",
    "15323655829",
    "1970-01-01T00:00:00Z",
    "0001-01-01",
    "9999-12-31T23:59:59Z",
    "3000-01-01 00:00:00",
    "yesterday-ish",
    "true",
    "null",
    "\u202e\u0000",
    "x" * 10_000,
)
NOISE = (b"\x00", b"\xff", b"\xfe", b'"', b",", b";", b"\t", b"\n", b"\r\n", b"{", b"[", b"<")
_NUMBER = re.compile(rb"-?\d+(\.\d+)?")

SLO_YAML = """\
slos:
  - name: chat-latency
    sli: {kind: latency, failed_requests: bad}
    objective: {target: 0.95, threshold: 500}
    window: {calendar: day}
  - name: availability
    sli: {kind: availability}
    objective: {target: 0.99}
    window: {rolling: 1d}
    budgeting: {method: Timeslices, slice: 1h, slice_target: 0.97}
  - name: p95
    sli: {kind: latency, percentile: 95}
    objective: {target: 0.9, threshold: 800}
    window: {rolling: 7d}
    budgeting: {method: Timeslices, slice: 5m}
  - name: experience
    composite:
      - name: a
        sli: {kind: latency, metric: latency_ms}
        objective: {target: 0.9, threshold: 900}
      - {name: b, sli: {kind: availability}, objective: {target: 0.995}}
"""
YAML_BOMB = (
    'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nslos: [*g]\n"
)


def _head(path: Path, lines: int) -> bytes:
    with path.open("rb") as fh:
        return b"".join(fh.readline() for _ in range(lines))


def reader_seeds(realdata: Path) -> dict[str, bytes]:
    """Seed files by name: slices of every kind of real file, and the issue's cases."""
    seeds = {
        "taurus.jtl": (realdata / "jmeter_error_samples/taurus_slow-stdev.jtl").read_bytes(),
        "defra.jtl": _head(realdata / "jmeter_error_samples/defra_rcr_result.jtl", 300),
        "ehrbase.jtl": _head(
            realdata / "ehrbase_jmeter_nightly/result_2022-05-16_828624a9.jtl", 400
        ),
        "alibaba.csv": _head(
            realdata / "alibaba_gentd26_genai_serving/lora_request_trace.csv", 400
        ),
        "llmperf.csv": _head(realdata / "llmperf_leaderboard_2023/llmperf_requests_flat.csv", 300),
        "azure.csv": _head(
            realdata / "azure_llm_inference_2023/AzureLLMInferenceTrace_code.csv", 300
        ),
        "mooncake.jsonl": _head(
            realdata / "mooncake_fast25_conversation/conversation_trace.jsonl", 200
        ),
        "errors.flat.csv": (
            realdata / "jmeter_error_samples/taurus_standard-errors.flat.csv"
        ).read_bytes(),
    }
    xml = (realdata / "jmeter_error_samples/taurus_standard-errors.jtl.xml").read_bytes()
    seeds["errors.jtl.xml"] = xml[: xml.find(b"<httpSample", 200_000)]
    llmperf = sorted((realdata / "llmperf_leaderboard_2023/raw/individual").glob("*.json"))[0]
    seeds["llmperf.json"] = llmperf.read_bytes()[:200_000].rsplit(b"},", 1)[0] + b"}]"
    seeds.update(issue_cases(realdata))
    seeds["typed.parquet"] = _parquet(seeds["ehrbase.jtl"])
    seeds["far-future.parquet"] = _far_future_parquet()
    return seeds


def issue_cases(realdata: Path) -> dict[str, bytes]:
    """The inputs issue 17 reported, built from the real files."""
    taurus = (realdata / "jmeter_error_samples/taurus_slow-stdev.jtl").read_text().splitlines()

    def with_epoch(value: str, rows: int) -> bytes:
        lines = taurus[: rows + 1]
        cells = lines[rows // 2].split(",")
        cells[0] = value
        lines[rows // 2] = ",".join(cells)
        return ("\n".join(lines) + "\n").encode()

    run = list(csv.DictReader(
        (realdata / "ehrbase_jmeter_nightly/result_2022-05-16_828624a9.jtl").open(newline="")
    ))[:2000]  # fmt: skip
    out = io.StringIO()
    out.write("timestamp,latency_ms,status,endpoint\n")
    for row in run:
        when = dt.datetime.fromtimestamp(int(row["timeStamp"]) / 1000, dt.UTC)
        out.write(f"{when.isoformat().replace('+00:00', 'Z')},{row['elapsed']},")
        out.write(f"{row['responseCode']},{row['label'].replace(',', ' ')}\n")
    out.write("1970-01-01T00:00:00Z,42,200,Create EHR\n")
    zero = out.getvalue().encode()
    lines = zero.splitlines()
    lines[1500] += b",extra\xff\xfe"
    return {
        "issue-zero-time.csv": zero,
        "issue-digit-too-many.jtl": with_epoch("15323762376558146", 598),
        "issue-digits-short.jtl": with_epoch("15323655829", 598),
        "issue-digits-short-50.jtl": with_epoch("15323655829", 50),
        "issue-invalid-utf8-malformed.csv": b"\n".join(lines) + b"\n",
    }


def _parquet(jtl: bytes) -> bytes:
    frame = pd.read_csv(io.BytesIO(jtl))
    frame["timeStamp"] = pd.to_datetime(frame["timeStamp"], unit="ms", utc=True)
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _far_future_parquet() -> bytes:
    n = 300
    ts = np.arange(n, dtype=np.int64) * 1000 + 1_700_000_000_000
    ts[7] = 32_503_680_000_000  # year 3000 in ms: out of range in ns
    table = pa.table(
        {
            "timestamp": pa.array(ts, pa.timestamp("ms", tz="UTC")),
            "latency_ms": pa.array(np.linspace(1, 900, n)),
            "status": pa.array(np.where(np.arange(n) % 17 == 0, 503, 200).astype(np.uint64)),
            "endpoint": pa.array(["chat", "embed", "chat"] * (n // 3)).dictionary_encode(),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def spec_seeds(specs: Path, golden: Path) -> dict[str, bytes]:
    """SLO files: sloview's own, OpenSLO and Sloth (upstream and golden), and a YAML bomb."""
    seeds = {"sloview.yaml": SLO_YAML.encode(), "bomb.yaml": YAML_BOMB.encode()}
    for path in sorted([*specs.rglob("*.yaml"), *specs.rglob("*.yml"), *golden.glob("*.yaml")]):
        seeds[path.name] = path.read_bytes()
    return seeds


# -- mutations -------------------------------------------------------------------------------


def _flip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def _insert(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(NOISE) * rng.randint(1, 3) + data[at:]


def _delete(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + data[at + rng.randint(1, 200) :]


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    choice = rng.randrange(3)
    if choice == 0:
        lines.insert(j, lines[i])
    elif choice == 1:
        lines[i], lines[j] = lines[j], lines[i]
    else:
        del lines[i]
    return b"\n".join(lines)


def _number(data: bytes, rng: random.Random) -> bytes:
    """A number (a time, a latency, a status ...) replaced by an extreme or mistyped value."""
    found = list(_NUMBER.finditer(data[:400_000]))
    if not found:
        return _insert(data, rng)
    m = rng.choice(found)
    value = m.group(0)
    options = [e.encode() for e in EXTREMES] + [value + b"7", value[:-1] or b"0", b"-" + value]
    return data[: m.start()] + rng.choice(options) + data[m.end() :]


def _header(data: bytes, rng: random.Random) -> bytes:
    first, _, rest = data.partition(b"\n")
    names = [b"timestamp", b"ts", b"status", b"latency", b"elapsed", b"success", b"", b"ts"]
    cells = first.split(b",")
    cells[rng.randrange(len(cells))] = rng.choice(names)
    return b",".join(cells) + b"\n" + rest


def _encoding(data: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(5)
    if choice == 0:
        return gzip.compress(data, compresslevel=1)
    if choice == 1:
        return b"\xff\xfe" + data.decode("utf-8", errors="replace").encode("utf-16-le")
    if choice == 2:
        return b"\xef\xbb\xbf" + data
    if choice == 3:
        return data.replace(b"\n", b"\r\n")
    cut = gzip.compress(data, compresslevel=1)
    return cut[: rng.randrange(10, max(11, len(cut)))]


def _json_types(data: bytes, rng: random.Random) -> bytes:
    swaps = [b'"x"', b"null", b"[]", b"{}", b'{"a": [1, {"b": null}]}', b"1e400", b"true"]
    found = list(re.finditer(rb": ?(-?\d[\d.e+-]*|\"[^\"]*\"|null|true|false)", data[:400_000]))
    if not found:
        return _insert(data, rng)
    m = rng.choice(found)
    return data[: m.start(1)] + rng.choice(swaps) + data[m.end(1) :]


MUTATIONS: tuple[Callable[[bytes, random.Random], bytes], ...] = (
    _flip,
    _insert,
    _delete,
    _truncate,
    _lines,
    _number,
    _number,
    _number,
    _header,
    _encoding,
    _json_types,
)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three mutations of a file."""
    for _ in range(rng.randint(1, 3)):
        data = rng.choice(MUTATIONS)(data, rng)
    return data


def yaml_mutate(text: bytes, rng: random.Random) -> bytes:
    """Mutations that keep YAML mostly YAML: values, keys, structure and bytes."""
    choice = rng.randrange(6)
    if choice == 0:
        return mutate(text, rng)
    found = list(re.finditer(rb":[ ]+([^\n{}\[\],]+)", text))
    if found and choice in (1, 2):
        m = rng.choice(found)
        values = [
            b"-1",
            b"0",
            b"1.0000001",
            b"1e400",
            b".nan",
            b"36500d",
            b"0s",
            b"1s",
            b"[]",
            b"{}",
            b"~",
            b"'' ",
            b"!!binary aGVsbG8=",
            b"2000000000",
            b"P1Y",
            b"lt",
            b"Timeslices",
            b"'0.0001'",
        ]
        return text[: m.start(1)] + rng.choice(values) + text[m.end(1) :]
    if choice == 3:
        lines = text.split(b"\n")
        i = rng.randrange(len(lines))
        lines[i] = b"  " * rng.randint(0, 4) + lines[i].lstrip()
        return b"\n".join(lines)
    if choice == 4:
        return text + b"\n" + b"[" * rng.choice([10, 200, 5000]) + b"\n"
    return text.replace(b"name:", b"name: &n", 1) + b"\nextra: *n\n"
