"""Input edge cases from issue 12: time columns that are no times, UTF-16 and BOM text,
JMeter XML results, invalid UTF-8 in a malformed line, and secret scrubbing that leaves user
names alone. Each test failed before the fix it covers."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest

from sloview.cli import main
from sloview.errors import DataError
from sloview.ingest import load_requests
from sloview.ingest.table import MALFORMED_LINE, UNPARSABLE_TIMESTAMP
from sloview.sources.secrets import Connection, Scrubber

TAURUS = "jmeter_error_samples/taurus_slow-stdev.jtl"
XML_JTL = "jmeter_error_samples/taurus_standard-errors.jtl.xml"
XML_FLAT = "jmeter_error_samples/taurus_standard-errors.flat.csv"
EHRBASE = "ehrbase_jmeter_nightly/result_2022-05-16_828624a9.jtl"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def summary(capsys: pytest.CaptureFixture[str], path: Path, *flags: str) -> dict[str, Any]:
    code, out, err = run(capsys, "summarize", str(path), "--json", *flags)
    assert code == 0, err
    assert err == ""
    result: dict[str, Any] = json.loads(out)
    return result


def same_figures(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Two summaries agree on everything but where the data came from."""
    for key in ("source", "format"):
        a.pop(key), b.pop(key)
    assert a == b


# -- a named time column whose values are no times -------------------------------------------


def test_a_time_column_of_words_is_refused_with_its_first_bad_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "requests.csv"
    path.write_text(
        "timestamp,latency_ms,status\nyesterday-ish,120,200\nyesterday-ish,80,200\n"
        "yesterday-ish,300,500\n"
    )
    # Detected by its name: refused instead of read as data without times.
    code, out, err = run(capsys, "summarize", str(path))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "'timestamp'" in err
    assert "'yesterday-ish'" in err
    assert "row 1" in err
    # Named by the user: the same refusal.
    code, _, err = run(capsys, "summarize", str(path), "--timestamp", "timestamp")
    assert code == 2
    assert "'timestamp'" in err
    assert "row 1: 'yesterday-ish'" in err


def test_a_few_bad_times_are_excluded_and_the_first_is_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"2024-05-01T10:{m:02d}:00Z,{100 + m},200" for m in range(20)]
    rows[6] = "yesterday-ish,106,200"
    path = tmp_path / "requests.csv"
    path.write_text("timestamp,latency_ms,status\n" + "\n".join(rows) + "\n")
    result = summary(capsys, path)
    assert result["rows"] == 19
    assert result["dropped"] == {UNPARSABLE_TIMESTAMP: 1}
    assert result["dropped_examples"][UNPARSABLE_TIMESTAMP] == {
        "row": 7,
        "value": "yesterday-ish",
    }
    code, out, _ = run(capsys, "summarize", str(path))
    assert code == 0
    assert "unparsable timestamp (first: row 7: 'yesterday-ish')" in out


# -- UTF-16 (Excel's "Unicode text") and UTF-8 with a byte order mark -------------------------


@pytest.mark.parametrize(
    ("encoding", "bom", "label"),
    [
        ("utf-8", b"\xef\xbb\xbf", "tab-separated)"),
        ("utf-16-le", b"\xff\xfe", "tab-separated, UTF-16)"),
        ("utf-16-be", b"\xfe\xff", "tab-separated, UTF-16)"),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_utf16_and_bom_text_read_like_utf8(
    realdata: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    encoding: str,
    bom: bytes,
    label: str,
    gz: bool,
) -> None:
    # What Excel's "Unicode text" export writes: tab-separated UTF-16 with a byte order mark.
    text = (realdata / TAURUS).read_text(encoding="utf-8").replace(",", "\t")
    plain = tmp_path / "plain.tsv"
    plain.write_text(text, encoding="utf-8")
    data = bom + text.encode(encoding)
    path = tmp_path / ("unicode.tsv" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)

    expected = summary(capsys, plain)
    got = summary(capsys, path)
    assert got["format"].endswith(label.replace(")", ", gzip)") if gz else label)
    assert got["rows"] == 599
    same_figures(got, expected)


# -- JMeter XML results -----------------------------------------------------------------------


def test_xml_jtl_reads_like_the_csv_jtl(realdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The CSV beside it was derived from the XML, one row per sample.
    xml = summary(capsys, realdata / XML_JTL, "--segment", "label")
    flat = summary(capsys, realdata / XML_FLAT, "--segment", "label")
    assert xml["format"] == "JMeter JTL, XML"
    assert xml["rows"] == 185
    # Socket timeouts told apart from assertion failures by their messages, as in the CSV.
    assert xml["error_classes"]["timeout"] == 93
    same_figures(xml, flat)


def jtl_as_xml(rows: list[dict[str, str]]) -> str:
    """JMeter's XML form of CSV JTL rows (the attributes JMeter writes)."""
    names = {
        "timeStamp": "ts",
        "elapsed": "t",
        "Latency": "lt",
        "Connect": "ct",
        "success": "s",
        "label": "lb",
        "responseCode": "rc",
        "responseMessage": "rm",
        "threadName": "tn",
        "dataType": "dt",
        "bytes": "by",
        "sentBytes": "sby",
        "grpThreads": "ng",
        "allThreads": "na",
        "IdleTime": "it",
    }
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testResults version="1.2">\n')
    for row in rows:
        attrs = " ".join(f"{a}={quoteattr(row[c])}" for c, a in names.items() if row.get(c))
        out.write(f"<httpSample {attrs}>\n")
        if row.get("failureMessage"):
            out.write(
                "  <assertionResult><name>a</name><failure>true</failure><error>false</error>"
                f"<failureMessage>{row['failureMessage']}</failureMessage></assertionResult>\n"
            )
        out.write(f"  <java.net.URL>{row['URL']}</java.net.URL>\n</httpSample>\n")
    out.write("</testResults>\n")
    return out.getvalue()


def test_xml_jtl_of_a_nightly_run_equals_its_csv(
    realdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (realdata / EHRBASE).open(newline="") as fh:
        rows = list(csv.DictReader(fh))[:3000]
    flat = tmp_path / "run.jtl"
    with flat.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    xml = tmp_path / "run.xml"
    xml.write_text(jtl_as_xml(rows))
    got = summary(capsys, xml, "--segment", "label")
    expected = summary(capsys, flat, "--segment", "label")
    assert got["rows"] == 3000
    same_figures(got, expected)


def test_a_cut_off_xml_jtl_keeps_every_complete_sample(
    realdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (realdata / XML_JTL).read_text()
    # Cut inside the 101st sample, as a killed JMeter leaves the file.
    starts = [i for i in range(len(text)) if text.startswith("<httpSample ", i)]
    path = tmp_path / "cut.jtl"
    path.write_text(text[: starts[100] + 300])
    result = summary(capsys, path)
    assert result["rows"] == 100
    assert result["dropped"] == {MALFORMED_LINE: 1}
    assert any("cut off" in note for note in result["notes"])


def test_damaged_and_hostile_xml(realdata: Path, tmp_path: Path) -> None:
    text = (realdata / XML_JTL).read_text()
    starts = [i for i in range(len(text)) if text.startswith("<httpSample ", i)]
    damaged = tmp_path / "damaged.jtl"
    damaged.write_text(text[: starts[50]] + "<<garbage & more\n" + text[starts[50] :])
    table = load_requests(damaged)
    assert table.rows == 50
    assert any("breaks off" in note for note in table.notes)

    bomb = tmp_path / "bomb.jtl"
    bomb.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE testResults [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<testResults version="1.2">'
        '<httpSample t="1" ts="1430825787183" s="true" lb="&b;" rc="200"/></testResults>\n'
    )
    with pytest.raises(DataError, match="document type"):
        load_requests(bomb)
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?>\n<catalog><book/></catalog>\n')
    with pytest.raises(DataError, match="not JMeter results"):
        load_requests(other)


# -- invalid UTF-8 in a malformed line: no traceback from Arrow's callback --------------------


def test_invalid_utf8_in_a_malformed_line_prints_no_traceback(
    realdata: Path, tmp_path: Path
) -> None:
    lines = (realdata / EHRBASE).read_bytes().splitlines()[:2001]
    # Past the 64 kB the sniffer reads, a line with an extra field and bytes that are not UTF-8.
    lines[1500] += b",extra\xff\xfe"
    path = tmp_path / "bad.jtl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert path.stat().st_size > 1 << 17
    script = Path(sys.executable).with_name("sloview")
    proc = subprocess.run(
        [str(script), "summarize", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    result = json.loads(proc.stdout)
    assert result["rows"] == 1999
    assert result["dropped"] == {MALFORMED_LINE: 1}


# -- secrets: passwords and tokens, not user names ---------------------------------------------


def test_user_names_are_not_scrubbed_but_passwords_and_tokens_are() -> None:
    url = "postgresql+psycopg://postgres@db.internal:5432/traces"
    scrub = Scrubber(Connection(url=url).secrets())
    text = f"could not connect to {url}: postgresql+psycopg rejected user postgres"
    assert scrub(text) == (
        "could not connect to postgresql+psycopg://db.internal:5432/traces: "
        "postgresql+psycopg rejected user postgres"
    )
    with_password = "postgresql+psycopg://postgres:hunter2-pw@db/x"
    scrub = Scrubber(Connection(url=with_password).secrets())
    out = scrub(f"failed for {with_password} (password hunter2-pw)")
    assert "hunter2-pw" not in out
    assert "postgresql+psycopg://db/x" in out
    # A token in the user position (https://TOKEN@host) is still a secret.
    token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
    scrub = Scrubber(Connection(url=f"https://{token}@prometheus.example").secrets())
    assert token not in scrub(f"401 for {token}")
