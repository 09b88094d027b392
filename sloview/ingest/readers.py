"""Readers: turn a file (path or uploaded bytes) into Arrow columns, whatever its format.

The only code that opens user files. Each reader offers a small sample (for detection) and a
full read of just the columns the mapping needs, so wide exports stay cheap to load.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from sloview.errors import DataError
from sloview.ingest.budget import check_budget, memory_budget
from sloview.ingest.jtl_xml import is_jtl_xml, read_jtl_xml

HEAD_BYTES = 1 << 16
SAMPLE_ROWS = 5000
# Peak memory of a load per byte of text read by Arrow (CSV, JSON Lines: columns, conversion
# and the canonical table), per byte of JSON parsed into Python objects (measured: 8-11x for
# request records), and per Parquet row beyond its columns' own widths.
TEXT_EXPANSION = 3
JSON_EXPANSION = 12
ROW_OVERHEAD = 48
BUDGET_HINT = (
    "aggregate it out of core with the command line (--aggregate), load a time range "
    "(--start/--end), or raise the budget if the machine has the memory"
)
# Excel's "Unicode text" is UTF-16 with a byte order mark; UTF-32 is rarer but as plain.
TEXT_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)
DELIMITERS = (",", ";", "\t", "|")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
_DECIMAL_POINT = re.compile(r"^-?\d+\.\d+$")

Source = Path | bytes


@dataclass
class RawData:
    """A readable data file: its columns, a sample for detection, and how to read it fully."""

    name: str
    format: str
    description: str
    sample: pa.Table
    _path: Path | None = None
    _data: bytes | None = None
    _table: pa.Table | None = None
    _csv: dict[str, Any] = field(default_factory=dict)
    malformed: list[int | None] = field(default_factory=list)
    # What the reader noticed about the file as a whole (a cut-off XML, say).
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """Column names in file order."""
        return list(self.sample.column_names)

    def read(self, columns: list[str], types: dict[str, pa.DataType] | None = None) -> pa.Table:
        """Read the named columns of the whole file; `types` pins column types where known."""
        wanted = [c for c in dict.fromkeys(columns) if c in self.sample.column_names]
        if self._table is not None:
            return self._table.select(wanted)
        if self.format == "parquet":
            return _read_parquet(self, wanted)
        return _read_csv(self, wanted, types or {})


def open_source(source: Source | str, name: str | None = None) -> RawData:
    """Open a file path or uploaded bytes, sniff its format and return a `RawData`."""
    if isinstance(source, str):
        source = Path(source)
    if isinstance(source, Path):
        name = name or source.name
        if not source.exists():
            raise DataError(
                "file not found", where=str(source), hint="check the path and try again"
            )
        if source.is_dir():
            raise DataError("is a folder, not a data file", where=str(source))
        with source.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
        path: Path | None = source
        data: bytes | None = None
    else:
        name = name or "uploaded file"
        head = source[:HEAD_BYTES]
        path, data = None, source
    if not head:
        raise DataError(
            "the file is empty", where=name, hint="export the requests again; 0 bytes were received"
        )

    if head[:4] == b"PAR1":
        return _open_parquet(name, path, data)
    compressed = head[:2] == b"\x1f\x8b"
    if compressed:
        data = _gunzip(name, data if data is not None else path.read_bytes())  # type: ignore[union-attr]
        path = None
        head = data[:HEAD_BYTES]
        if not head:
            raise DataError("the gzip file contains nothing", where=name)
        if head[:4] == b"PAR1":
            return _open_parquet(name, None, data)
    encoding = ""
    for bom, codec, label in TEXT_BOMS:
        if head.startswith(bom):
            # Transcoded once, so every reader below sees UTF-8.
            raw_bytes = data if data is not None else path.read_bytes()  # type: ignore[union-attr]
            data, path = raw_bytes.decode(codec, errors="replace").encode("utf-8"), None
            head, encoding = data[:HEAD_BYTES], label
            break
    if is_jtl_xml(head):
        return _open_jtl_xml(name, path, data, compressed)
    _refuse_non_text(head, name)

    text_head = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    if text_head.startswith(("[", "{")):
        raw = data if data is not None else path.read_bytes()  # type: ignore[union-attr]
        return _open_json(name, raw, gz=compressed)
    return _open_csv(name, path, data, head, gz=compressed, encoding=encoding)


def _gunzip(name: str, packed: bytes) -> bytes:
    """Decompress a gzip file (several members too) within the memory budget: a small gzip
    can expand a thousandfold."""
    # The text is parsed into columns afterwards: leave room for that as well.
    limit = memory_budget() // 3
    out: list[bytes] = []
    size = 0
    rest = packed
    try:
        while rest:
            unpacker = zlib.decompressobj(zlib.MAX_WBITS | 16)
            chunk = unpacker.decompress(rest, limit - size + 1)
            while True:
                size += len(chunk)
                out.append(chunk)
                if size > limit:
                    check_budget(
                        3 * size,
                        f"the gzip file expands past {limit >> 20:,} MB; reading it",
                        where=name,
                        hint="load the uncompressed file with the command line, aggregate it "
                        "with --aggregate, or raise the budget",
                        app_hint="upload the file uncompressed, or aggregate it out of core with "
                        "the command line (see the README's Limits)",
                    )
                if unpacker.eof:
                    break
                tail = unpacker.unconsumed_tail
                chunk = unpacker.decompress(tail, limit - size + 1)
                if not chunk and unpacker.unconsumed_tail == tail:
                    raise zlib.error("the compressed data end before the file does")
            rest = unpacker.unused_data.lstrip(b"\x00")
    except zlib.error as exc:
        raise DataError(
            f"the gzip file is damaged or truncated ({exc})",
            where=name,
            hint="download or compress the file again",
        ) from exc
    return b"".join(out)


def _refuse_non_text(head: bytes, name: str) -> None:
    lowered = head[:2048].lstrip().lower()
    if head[:2] == b"PK":
        raise DataError(
            "looks like a ZIP or Excel file, not CSV, Parquet or JSON",
            where=name,
            hint="save the sheet as CSV (or unzip the archive) and load that file",
        )
    if b"\x00" in head[:8192]:
        raise DataError(
            "is a binary file that is not Parquet or gzip",
            where=name,
            hint="supported formats are CSV/TSV (UTF-8, or UTF-16 with a byte order mark), "
            "Parquet, JSON Lines, JSON arrays, JMeter JTL (CSV or XML) and LLMPerf JSON, "
            "optionally gzip-compressed",
        )
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:512]:
        raise DataError(
            "is an HTML page, not request data (perhaps a login or error page saved by a download)",
            where=name,
            hint="open it in a browser to see what the server said, then export the data again",
        )
    if lowered.startswith((b"<?xml", b"<testresults")):
        raise DataError(
            "is an XML file but not JMeter results (no <testResults> element at the top)",
            where=name,
            hint="load JMeter results (CSV or XML JTL), CSV/TSV, Parquet or JSON",
        )


# --- Parquet ---------------------------------------------------------------------------------


def _open_parquet(name: str, path: Path | None, data: bytes | None) -> RawData:
    try:
        pf = pq.ParquetFile(path if path is not None else io.BytesIO(data or b""))
        batches = pf.iter_batches(batch_size=SAMPLE_ROWS)
        first = next(batches, None)
        sample = (
            pa.Table.from_batches([first]) if first is not None else pf.schema_arrow.empty_table()
        )
    except (pa.ArrowException, OSError, ValueError) as exc:
        # ValueError: a damaged schema whose names are not UTF-8 fails while being decoded.
        raise DataError(
            f"the Parquet file is damaged or truncated ({_arrow_reason(exc)})",
            where=name,
            hint="write or download the file again",
        ) from exc
    return RawData(
        name=name,
        format="parquet",
        description="Parquet",
        sample=sample,
        _path=path,
        _data=data,
    )


def _read_parquet(raw: RawData, columns: list[str]) -> pa.Table:
    source: Any = raw._path if raw._path is not None else io.BytesIO(raw._data or b"")
    # Reading string columns as dictionaries keeps segments compact and skips per-row strings.
    strings = [
        c
        for c in columns
        if pa.types.is_string(raw.sample.schema.field(c).type)
        or pa.types.is_large_string(raw.sample.schema.field(c).type)
    ]
    width = sum(_value_width(raw.sample.schema.field(c).type) for c in columns)
    try:
        rows = pq.ParquetFile(source).metadata.num_rows
        # A few compressed megabytes can hold a billion rows: count before decoding.
        check_budget(
            rows * (width + ROW_OVERHEAD),
            f"reading {rows:,} rows of this Parquet file",
            where=raw.name,
            hint=BUDGET_HINT,
        )
        if not isinstance(source, Path):
            source.seek(0)
        return pq.read_table(source, columns=columns, read_dictionary=strings)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(
            f"the Parquet file could not be read ({_arrow_reason(exc)})",
            where=raw.name,
            hint="write or download the file again",
        ) from exc


def _value_width(typ: pa.DataType) -> int:
    """Bytes per value of a column once read (strings as dictionary codes)."""
    try:
        return max(1, typ.bit_width // 8)
    except ValueError:  # strings, lists, structs: no fixed width
        return 8


# --- CSV / TSV / JTL -------------------------------------------------------------------------


def sniff_csv(head_text: str) -> tuple[str, str]:
    """Guess the delimiter and decimal mark from the first lines of a text file."""
    lines = [ln for ln in head_text.splitlines() if ln.strip()][:50]
    if not lines:
        return ",", "."
    best, best_score = ",", (-1.0, 0)
    for delim in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delim))
        widths = [len(r) for r in rows]
        if widths[0] < 2:
            continue
        body = widths[1:] or widths
        consistent = sum(w == widths[0] for w in body) / len(body)
        score = (consistent, widths[0])
        if score > best_score:
            best, best_score = delim, score
    decimal = "."
    if best != ",":
        cells = [c.strip() for r in csv.reader(lines[1:], delimiter=best) for c in r]
        if any(_DECIMAL_COMMA.match(c) for c in cells) and not any(
            _DECIMAL_POINT.match(c) for c in cells
        ):
            decimal = ","
    return best, decimal


def _open_csv(
    name: str, path: Path | None, data: bytes | None, head: bytes, gz: bool, encoding: str = ""
) -> RawData:
    try:
        head.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the head is fine; anything earlier (or at the
        # very end of a file that fits in the head) is not UTF-8.
        utf8 = len(head) == HEAD_BYTES and exc.start >= len(head) - 4
    if not utf8:
        # Excel on Windows still writes cp1252; transcode once so Arrow sees UTF-8.
        raw_bytes = data if data is not None else path.read_bytes()  # type: ignore[union-attr]
        data, path = raw_bytes.decode("cp1252", errors="replace").encode("utf-8"), None
        head = data[:HEAD_BYTES]
    size = len(data) if data is not None else path.stat().st_size  # type: ignore[union-attr]
    check_budget(size * TEXT_EXPANSION, "reading this file", where=name, hint=BUDGET_HINT)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    delimiter, decimal = sniff_csv(text)
    header = next(
        csv.reader([text.splitlines()[0] if text.splitlines() else ""], delimiter=delimiter), []
    )
    names = [h.strip() for h in header]
    if not any(names):
        raise DataError("the first line (the header) is empty", where=name)
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise DataError(
            f"the header repeats column names: {', '.join(map(repr, dupes))}",
            where=name,
            hint="give every column a unique name",
        )
    opts = {
        "delimiter": delimiter,
        "read": pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
        "decimal": decimal,
    }
    # The sample: the complete lines of the head only.
    cut = head.rfind(b"\n") + 1 if len(head) == HEAD_BYTES else len(head)
    sample = _csv_table(name, io.BytesIO(head[:cut] or head), opts, decimal, None, {}, [])
    kind = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter]
    desc = f"CSV ({kind}-separated{', decimal comma' if decimal == ',' else ''}"
    desc += f", {encoding}" if encoding else ""
    desc += ", gzip)" if gz else ")"
    return RawData(
        name=name,
        format="csv",
        description=desc,
        sample=sample,
        _path=path,
        _data=data,
        _csv=opts,
    )


def _csv_table(
    name: str,
    stream: Any,
    opts: dict[str, Any],
    decimal: str,
    include: list[str] | None,
    types: dict[str, pa.DataType],
    malformed: list[int | None] | None,
) -> pa.Table:
    """Read CSV with Arrow; with a `malformed` list, lines with the wrong number of fields are
    skipped and counted there (the text must then be valid UTF-8: Arrow decodes each such line
    before the handler sees it, and prints a traceback when it cannot)."""

    def skip(row: Any) -> str:
        # A line with the wrong number of fields (often a truncated last line) is counted and
        # skipped rather than failing the whole file.
        malformed.append(row.number)  # type: ignore[union-attr]
        return "skip"

    handler = skip if malformed is not None else None
    parse = pacsv.ParseOptions(delimiter=opts["delimiter"], invalid_row_handler=handler)
    convert = pacsv.ConvertOptions(
        decimal_point=decimal,
        include_columns=include,
        column_types=types,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        timestamp_parsers=[pacsv.ISO8601],
    )
    try:
        return pacsv.read_csv(
            stream, read_options=opts["read"], parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid as exc:
        raise DataError(
            f"the CSV file could not be parsed ({_arrow_reason(exc)})",
            where=name,
            hint="check the file's quoting and encoding",
        ) from exc


def _read_csv(raw: RawData, columns: list[str], types: dict[str, pa.DataType]) -> pa.Table:
    decimal = raw._csv["decimal"]

    def stream() -> Any:
        return raw._path if raw._path is not None else io.BytesIO(raw._data or b"")

    raw.malformed.clear()
    try:
        # Strict first: a well-formed file is read once, with no per-line callback. Arrow
        # infers binary for a column with bytes that are not UTF-8: decoded below too.
        return _decode_binary(
            _csv_table(raw.name, stream(), raw._csv, decimal, columns, types, None)
        )
    except DataError:
        pass
    # Lines with the wrong number of fields are skipped and counted; Arrow hands them to the
    # counter as text, so bytes that are not UTF-8 past the sniffed head are repaired first.
    _repair_utf8(raw)
    try:
        table = _csv_table(raw.name, stream(), raw._csv, decimal, columns, types, raw.malformed)
    except DataError:
        # A value later in the file did not fit the type inferred from its start (a stray word
        # in a numeric column): read those columns as raw text and let the converters count
        # them.
        raw.malformed.clear()
        as_bytes = {c: pa.binary() for c in columns}
        table = _csv_table(raw.name, stream(), raw._csv, decimal, columns, as_bytes, raw.malformed)
    return _decode_binary(table)


UTF8_CHUNK = 1 << 24


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler: bytes that are not UTF-8 are read as cp1252 (Excel on Windows)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return bytes(bad).decode("cp1252", errors="replace"), exc.end


codecs.register_error("sloview-cp1252", _cp1252_fallback)


def _repair_utf8(raw: RawData) -> None:
    """Make the file valid UTF-8 if it is not: UTF-8 stays, other bytes read as cp1252."""
    source: Any = raw._path.open("rb") if raw._path is not None else io.BytesIO(raw._data or b"")
    with source as stream:
        check = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := stream.read(UTF8_CHUNK):
                check.decode(chunk)
            check.decode(b"", final=True)
            return
        except UnicodeDecodeError:
            pass
        stream.seek(0)
        mend = codecs.getincrementaldecoder("utf-8")(errors="sloview-cp1252")
        parts = [
            mend.decode(chunk).encode("utf-8")
            for chunk in iter(lambda: stream.read(UTF8_CHUNK), b"")
        ]
        parts.append(mend.decode(b"", final=True).encode("utf-8"))
    raw._data, raw._path = b"".join(parts), None


def _decode_binary(table: pa.Table) -> pa.Table:
    """Columns read as bytes become text: UTF-8 where valid, else cp1252 (past the head)."""
    for i, column in enumerate(table.columns):
        if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
            continue
        try:
            text = column.cast(pa.string())
        except pa.ArrowInvalid:
            text = pa.array(
                [None if v is None else _decode(v) for v in column.to_pylist()], pa.string()
            )
        table = table.set_column(i, table.field(i).name, text)
    return table


def _decode(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("cp1252", errors="replace")


# --- JMeter XML ------------------------------------------------------------------------------


def _open_jtl_xml(name: str, path: Path | None, data: bytes | None, gz: bool) -> RawData:
    read = read_jtl_xml(name, path, data)
    raw = RawData(
        name,
        "jtl-xml",
        "XML" + (", gzip" if gz else ""),
        read.table.slice(0, SAMPLE_ROWS),
        _table=read.table,
    )
    # A sample cut off at the end counts like a truncated CSV line; damage is said once.
    raw.malformed.extend([None] * read.cut)
    if read.damage is not None:
        raw.notes.append(
            f"The XML breaks off ({read.damage}); the {read.table.num_rows:,} samples before "
            "that point were read."
        )
    return raw


# --- JSON ------------------------------------------------------------------------------------


def _open_json(name: str, raw: bytes, gz: bool) -> RawData:
    text_start = raw.lstrip()[:1] if not raw.startswith(b"\xef\xbb\xbf") else raw[3:].lstrip()[:1]
    suffix = ", gzip" if gz else ""
    check_budget(len(raw) * TEXT_EXPANSION, "reading this file", where=name, hint=BUDGET_HINT)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        # As for CSV: UTF-8 stays, bytes that are not UTF-8 read as cp1252.
        raw = raw.decode("utf-8", errors="sloview-cp1252").encode("utf-8")
    if text_start == b"{":
        table = _json_lines(name, raw)
        if table is not None:
            return RawData(
                name, "jsonl", f"JSON Lines{suffix}", table.slice(0, SAMPLE_ROWS), _table=table
            )
    records = _json_document(name, raw)
    table = _records_table(name, records)
    return RawData(name, "json", f"JSON array{suffix}", table.slice(0, SAMPLE_ROWS), _table=table)


def _json_lines(name: str, raw: bytes) -> pa.Table | None:
    """Parse JSON Lines; None when the text is one JSON document rather than lines."""
    lines = raw.splitlines()
    first = next((ln for ln in lines if ln.strip()), b"")
    try:
        json.loads(first)
    except json.JSONDecodeError:
        return None  # e.g. a pretty-printed object spread over many lines
    try:
        return pajson.read_json(io.BytesIO(raw))
    except pa.ArrowInvalid:
        pass
    check_budget(
        len(raw) * JSON_EXPANSION,
        "parsing these JSON Lines one by one (their fields vary in type)",
        where=name,
        hint=BUDGET_HINT,
    )
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"line {number} is not valid JSON ({exc.msg})",
                where=name,
                hint="the file may be truncated; export it again or delete that line",
            ) from exc
        if not isinstance(value, dict):
            raise DataError(f"line {number} is not a JSON object", where=name)
        records.append(value)
    return _records_table(name, records)


def _json_document(name: str, raw: bytes) -> list[dict[str, Any]]:
    check_budget(
        len(raw) * JSON_EXPANSION,
        "parsing this JSON document",
        where=name,
        hint="write it as JSON Lines (one object per line, read column by column), or "
        + BUDGET_HINT,
    )
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DataError("the JSON file is not UTF-8 text", where=name) from exc
    except json.JSONDecodeError as exc:
        raise DataError(
            f"not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})",
            where=name,
            hint="the file may be truncated; export it again",
        ) from exc
    if isinstance(doc, dict):
        lists = [v for v in doc.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) != 1:
            raise DataError(
                "the JSON is one object, not a list of requests",
                where=name,
                hint="give a JSON array of objects (one per request) or JSON Lines",
            )
        doc = lists[0]
    if not isinstance(doc, list):
        raise DataError("the JSON holds no list of request objects", where=name)
    bad = next((i for i, r in enumerate(doc) if not isinstance(r, dict)), None)
    if bad is not None:
        raise DataError(f"item {bad} of the JSON array is not an object", where=name)
    return doc


def _records_table(name: str, records: list[dict[str, Any]]) -> pa.Table:
    if not records:
        raise DataError("the JSON contains no requests", where=name)
    columns: dict[str, list[Any]] = {}
    for key in dict.fromkeys(k for r in records for k in r):
        values = [r.get(key) for r in records]
        columns[key] = values
    arrays = {}
    for key, values in columns.items():
        try:
            arrays[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            # Mixed types in one field (numbers and words), or integers beyond 64 bits: keep
            # the text, converters count it.
            arrays[key] = pa.array([None if v is None else str(v) for v in values])
    return pa.table(arrays)


def _arrow_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
