"""Parquet and CSV files larger than memory: DuckDB aggregates them out of core.

Detection reads the file's first rows exactly as the file loader does (same mapping, same
reasons); DuckDB then streams the whole file through the same GROUP BY as the SQL sources,
under a memory limit (spilling to a temporary folder when it must), so only per-minute
`Aggregates` reach Python.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from sloview.errors import SloviewError, SourceError
from sloview.ingest.detect import detect
from sloview.ingest.mapping import Mapping as ColumnMapping
from sloview.ingest.readers import open_source
from sloview.ingest.timestamps import parse_timestamps
from sloview.sources import assemble, cube, exact, query
from sloview.sources.aggregates import Aggregates
from sloview.sources.bounds import TimeLike, time_bound
from sloview.sources.warehouse import _iso, grouped_cells, with_segments


def _literal(value: str) -> str:
    """A string literal in DuckDB's SQL (quoted by sqlglot)."""
    from sqlglot import exp

    return exp.Literal.string(value).sql("duckdb")


class DuckDbFileSource:
    """One Parquet or CSV file (or a glob of them) aggregated per minute by DuckDB."""

    def __init__(
        self,
        path: str | Path,
        *,
        mapping: ColumnMapping | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        group_by: tuple[str, ...] | None = None,
        with_ttft: bool = True,
        memory_limit: str = "512MB",
        threads: int | None = None,
        temp_dir: str | Path | None = None,
        thresholds: tuple[tuple[str, float], ...] = (),
    ) -> None:
        self.path = Path(path)
        self.mapping = mapping or ColumnMapping()
        self.start_ns = time_bound(start, "start")
        self.end_ns = time_bound(end, "end")
        self.group_by = group_by
        self.with_ttft = with_ttft
        self.memory_limit = memory_limit
        self.threads = threads
        self.temp_dir = Path(temp_dir) if temp_dir else Path(tempfile.gettempdir())
        # End-to-end latency thresholds (op, ms) counted exactly in the same scan.
        self.thresholds = tuple((op, float(v)) for op, v in thresholds)

    def describe(self) -> str:
        """The file read."""
        return f"{self.path.name} (DuckDB)"

    def _connect(self) -> Any:
        import duckdb

        config: dict[str, Any] = {
            "memory_limit": self.memory_limit,
            "temp_directory": str(self.temp_dir / "sloview-duckdb"),
            # Order does not matter for counts; not keeping it saves memory and time.
            "preserve_insertion_order": False,
        }
        if self.threads:
            config["threads"] = self.threads
        return duckdb.connect(":memory:", config=config)

    def _run(self, con: Any, sql: str) -> pa.Table:
        import duckdb

        try:
            return con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise SourceError(
                f"DuckDB could not read the file ({detail})",
                where=self.describe(),
                hint="check that it is a valid Parquet or CSV file and the column mapping",
            ) from None

    def aggregate(self) -> Aggregates:
        """Per-minute aggregates of the whole file (or of start..end)."""
        if not self.path.exists() and not any(ch in str(self.path) for ch in "*?["):
            raise SourceError("file not found", where=str(self.path), hint="check the path")
        raw = open_source(self.path)
        try:
            resolved, policy = detect(raw, self.mapping)
        except SloviewError as exc:
            raise exc.relocated(self.describe(), SourceError) from None
        if self.group_by is not None:
            resolved = with_segments(
                resolved, self.group_by, raw.sample.column_names, self.describe()
            )
        if not self.with_ttft:
            resolved = replace(resolved, ttft=None, ttft_unit=None)
        spec = cube.spec_for(resolved, policy, raw.sample)
        path = _literal(str(self.path))
        if raw.format == "parquet":
            reader = f"read_parquet({path})"
        elif raw.format == "csv":
            # The delimiter and decimal mark the file reader sniffed, so both read alike.
            reader = (
                f"read_csv({path}, header = true, "
                f"delim = {_literal(raw._csv.get('delimiter', ','))}, "
                f"decimal_separator = {_literal(raw._csv.get('decimal', '.'))})"
            )
        else:
            raise SourceError(
                f"{raw.description} is not read through DuckDB",
                where=self.describe(),
                hint="convert it to Parquet or CSV, or load it as a regular file",
            )
        source = query.Source.of_text(reader)
        bounds = query.Bounds(self.start_ns, self.end_ns)

        def sql(expression: Any) -> str:
            return query.render(expression, "duckdb", source)

        con = self._connect()
        try:
            described = self._run(con, f"DESCRIBE SELECT * FROM {reader}")
            types = dict(
                zip(
                    described.column("column_name").to_pylist(),
                    described.column("column_type").to_pylist(),
                    strict=True,
                )
            )
            ts = resolved.timestamp or ""
            kind = _kind(types.get(ts, ""), spec.kind)
            if kind in ("naive", "text") and resolved.tz != "UTC":
                # Without DuckDB's icu extension (not bundled, not downloadable offline)
                # DuckDB knows no timezones: it reads naive times as UTC only.
                raise SourceError(
                    f"naive times in {resolved.tz} cannot be aggregated by DuckDB here",
                    where=self.describe(),
                    hint="store times with their offset or in UTC, or load the file normally",
                )
            spec = replace(spec, kind=kind)
            counted = self._run(con, sql(query.count("duckdb", spec, ts, source, bounds)))
            n = int(counted.column("n")[0].as_py())
            if n == 0:
                raise SourceError(
                    f"no requests between {_iso(self.start_ns)} and {_iso(self.end_ns)}",
                    where=self.describe(),
                    hint="check start/end (times are UTC)",
                )
            lo = counted.column("lo").combine_chunks()
            bounds_seen = pa.concat_arrays(
                [lo, counted.column("hi").combine_chunks().cast(lo.type)]
            )
            parsed = parse_timestamps(bounds_seen, resolved.tz)
            first, last = (int(v) for v in parsed.ns)
            latency, ttft = grouped_cells(
                lambda expression: self._run(con, sql(expression)),
                "duckdb",
                spec,
                source,
                bounds,
                self.thresholds,
            )
        finally:
            con.close()
        agg = assemble.cells_to_aggregates(
            latency,
            spec,
            source=self.describe(),
            first_ns=first,
            last_ns=last,
            ttft_cells=ttft,
            rows_read=n,
        )
        if self.thresholds:
            agg = exact.with_threshold_counts(agg, latency, spec, self.thresholds)
        return agg


def _kind(duck_type: str, fallback: cube.TimeKind) -> cube.TimeKind:
    """How DuckDB itself types the time column (its CSV reader may differ from Arrow's)."""
    upper = duck_type.upper()
    if upper.startswith("TIMESTAMP WITH TIME ZONE") or upper == "TIMESTAMPTZ":
        return "tz"
    if upper.startswith("TIMESTAMP") or upper == "DATE":
        return "naive"
    if upper in ("VARCHAR", "TEXT", "STRING"):
        return "text"
    if any(
        upper.startswith(n)
        for n in (
            "BIGINT",
            "INTEGER",
            "DOUBLE",
            "FLOAT",
            "HUGEINT",
            "UBIGINT",
            "DECIMAL",
            "SMALLINT",
            "REAL",
        )
    ):
        return "epoch"
    return fallback
