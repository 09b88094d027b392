"""JMeter results in XML (`.jtl` written with `jmeter.save.saveservice.output_format=xml`,
the default of older JMeter versions and of many Taurus setups).

Each `<httpSample>` or `<sample>` element, nested ones too (redirect hops and the samples of a
transaction controller, which the CSV form writes as rows of their own), becomes one row with
the columns of the CSV JTL: `timeStamp` (`ts`), `elapsed` (`t`), `Latency` (`lt`), `Connect`
(`ct`), `success` (`s`), `label` (`lb`), `responseCode` (`rc`), `responseMessage` (`rm`),
`threadName` (`tn`) ..., plus `failureMessage` from the first failed assertion. Detection then
reads it exactly as it reads the CSV form.

The file is parsed as a stream, one sample at a time, so its size does not matter; a file cut
off in the middle (JMeter killed before it wrote `</testResults>`, as in Taurus' own test
data) keeps every complete sample and counts the cut one as a malformed row. A document type
declaration is refused: JTL files have none, and entity tricks live there.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from sloview.errors import DataError
from sloview.ingest.budget import check_budget

SAMPLE_TAGS = ("httpSample", "sample")
# JTL attribute -> the CSV JTL column of the same field, in the CSV's column order.
ATTRIBUTES = (
    ("ts", "timeStamp"),
    ("t", "elapsed"),
    ("lb", "label"),
    ("rc", "responseCode"),
    ("rm", "responseMessage"),
    ("tn", "threadName"),
    ("dt", "dataType"),
    ("s", "success"),
    ("by", "bytes"),
    ("sby", "sentBytes"),
    ("ng", "grpThreads"),
    ("na", "allThreads"),
    ("lt", "Latency"),
    ("it", "IdleTime"),
    ("ct", "Connect"),
    ("hn", "Hostname"),
)
FAILURE_MESSAGE = "failureMessage"
URL = "URL"
CHUNK = 1 << 20
# Python strings of one sample's attributes until the table is built, checked every so often.
BYTES_PER_SAMPLE = 2048
BUDGET_EVERY = 1 << 16
_INTEGER = re.compile(r"^-?\d{1,18}$")


def is_jtl_xml(head: bytes) -> bool:
    """Whether the start of a file is a JMeter XML results document."""
    # Scanned by hand, not with one regular expression: nested optional parts (comments, a
    # document type) invite catastrophic backtracking on hostile input.
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml"):
        end = text.find(b"?>")
        if end < 0:
            return False
        text = text[end + 2 :].lstrip()
    while text.startswith((b"<!--", b"<!DOCTYPE")):
        if text.startswith(b"<!--"):
            end, close = text.find(b"-->"), 3
        else:
            bracket, angle = text.find(b"["), text.find(b">")
            inner = 0 <= bracket < angle
            end, close = (text.find(b"]>"), 2) if inner else (angle, 1)
        if end < 0:
            return False
        text = text[end + close :].lstrip()
    return text.startswith(b"<testResults") and text[12:13] in (
        b" ",
        b">",
        b"\n",
        b"\t",
        b"\r",
        b"/",
    )


@dataclass
class JtlXml:
    """The samples read, how many were cut off, and where the XML broke (if it did)."""

    table: pa.Table
    cut: int
    damage: str | None


def read_jtl_xml(name: str, path: Path | None, data: bytes | None) -> JtlXml:
    """All samples as a table with the CSV JTL's column names."""
    rows: dict[str, list[str | None]] = {column: [] for _, column in ATTRIBUTES}
    rows[FAILURE_MESSAGE] = []
    rows[URL] = []
    reader = _Reader(name)
    for sample, failure, url in reader.samples(path, data):
        if len(rows[URL]) % BUDGET_EVERY == BUDGET_EVERY - 1:
            check_budget(
                len(rows[URL]) * BYTES_PER_SAMPLE,
                "reading these JMeter XML results",
                where=name,
                hint="save the results as CSV (read column by column), or raise the budget",
            )
        for attribute, column in ATTRIBUTES:
            rows[column].append(sample.get(attribute))
        rows[FAILURE_MESSAGE].append(failure)
        rows[URL].append(url)
    if not rows[URL]:
        raise DataError(
            "the JMeter XML results hold no complete <httpSample> or <sample>"
            + (f" (the XML breaks off: {reader.damage})" if reader.damage else ""),
            where=name,
            hint="check that the test wrote results, or save them as CSV "
            "(jmeter.save.saveservice.output_format=csv)",
        )
    present = {c: v for c, v in rows.items() if any(x is not None for x in v)}
    table = pa.table({c: _typed(v) for c, v in present.items()})
    return JtlXml(table, reader.cut, reader.damage)


def _typed(values: list[str | None]) -> pa.Array:
    """Whole numbers as int64 and true/false as bool where every value is one (as Arrow's CSV
    reader infers them), text otherwise."""
    given = [v for v in values if v is not None]
    if given and all(_INTEGER.match(v) for v in given):
        return pa.array([None if v is None else int(v) for v in values], pa.int64())
    if given and all(v in ("true", "false") for v in given):
        return pa.array([None if v is None else v == "true" for v in values], pa.bool_())
    return pa.array(values, pa.string())


class _Reader:
    """Streams the samples of one XML document; counts what was cut off or damaged."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cut = 0
        self.damage: str | None = None
        self.stack: list[ET.Element] = []
        self.failures: dict[int, str | None] = {}
        self.urls: dict[int, str | None] = {}
        self.closed: list[ET.Element] = []
        self.root: ET.Element | None = None

    def samples(
        self, path: Path | None, data: bytes | None
    ) -> Iterator[tuple[ET.Element, str | None, str | None]]:
        """(sample, failure message, URL) per complete sample, in the order they close."""
        parser: Any = ET.XMLPullParser(events=("start", "end"))
        with path.open("rb") if path is not None else io.BytesIO(data or b"") as stream:
            head = True
            while chunk := stream.read(CHUNK):
                if head:
                    _refuse_doctype(self.name, chunk)
                    head = False
                try:
                    parser.feed(chunk)
                    for event, element in parser.read_events():
                        self._track(event, element)
                except ET.ParseError as exc:
                    # What came before the damage is kept; the rest cannot be trusted.
                    self.damage = str(exc)
                yield from self._flush()
                if self.damage is not None:
                    break
        if self.stack:
            self.cut += 1  # a sample begun but never closed: the file was cut off

    def _track(self, event: str, element: ET.Element) -> None:
        """Follow the open samples; note failure messages and URLs for the innermost."""
        if self.root is None:
            self.root = element
            return
        tag = element.tag
        if tag in SAMPLE_TAGS:
            if event == "start":
                self.stack.append(element)
                self.failures[id(element)] = None
                self.urls[id(element)] = None
            else:
                if self.stack and self.stack[-1] is element:
                    self.stack.pop()
                self.closed.append(element)
            return
        if event != "end" or not self.stack:
            return
        owner = id(self.stack[-1])
        if tag == "assertionResult" and self.failures.get(owner) is None:
            failed = (element.findtext("failure") or "").strip() == "true"
            errored = (element.findtext("error") or "").strip() == "true"
            if failed or errored:
                message = (element.findtext("failureMessage") or "").strip()
                self.failures[owner] = message or None
        elif tag == "java.net.URL":
            self.urls[owner] = (element.text or "").strip() or None

    def _flush(self) -> Iterator[tuple[ET.Element, str | None, str | None]]:
        """Hand over closed samples, then free them (response bodies can be large)."""
        for element in self.closed:
            yield element, self.failures.pop(id(element), None), self.urls.pop(id(element), None)
            for child in list(element):
                if child.tag not in SAMPLE_TAGS:
                    element.remove(child)
        self.closed.clear()
        if self.root is not None and not self.stack:
            self.root.clear()  # closed top-level samples would pile up under <testResults>


def _refuse_doctype(name: str, head: bytes) -> None:
    if re.search(rb"<!(DOCTYPE|ENTITY)", head[: 1 << 16], re.I):
        raise DataError(
            "the XML declares a document type or entities, which JMeter results never do",
            where=name,
            hint="save the JMeter results again (CSV or XML) and load that file",
        )
