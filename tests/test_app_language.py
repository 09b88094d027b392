"""The app speaks its own language: hints point at what is on the screen, never at flags.

Every refusal sloview raises carries a hint; where that hint names command-line flags
(`--latency COL`), the error also carries the app's version (`app_hint`), and the app shows
that one. A file whose columns were not all found stays at hand on the Data page, where the
user names them and reads it again, as the hint says.
"""

from __future__ import annotations

import ast
import re

import pytest

from sloview import errors
from sloview.errors import CONNECT_FORM, MAPPING_FORM, DataError, SloviewError
from tests.apptest import ROOT, clean, metric, navigation_like_the_server, run_app

pytestmark = pytest.mark.usefixtures(navigation_like_the_server.__name__)

FLAG = re.compile(r"(?<![\w-])--[a-z]|`sloview ")


def _text(node: ast.expr) -> str:
    """The literal text of a hint expression (formatted values left as `{}`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            "{}" if isinstance(v, ast.FormattedValue) else _text(v) for v in node.values
        ) + "".join(_text(v.value) for v in node.values if isinstance(v, ast.FormattedValue))
    if isinstance(node, ast.BinOp):
        return _text(node.left) + _text(node.right)
    if isinstance(node, ast.IfExp):
        return _text(node.body) + " | " + _text(node.orelse)
    if isinstance(node, ast.Name):  # the app's shared wordings (sloview.errors)
        return str(getattr(errors, node.id, "{" + node.id + "}"))
    return ""


def _hints() -> list[tuple[str, str, str | None]]:
    """(place, hint, app hint) of every error raised outside the CLI package."""
    found = []
    for path in sorted((ROOT / "sloview").rglob("*.py")):
        if "cli" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                kw = {k.arg: k.value for k in node.keywords}
                if "hint" in kw:
                    place = f"{path.relative_to(ROOT)}:{node.lineno}"
                    app = _text(kw["app_hint"]) if "app_hint" in kw else None
                    found.append((place, _text(kw["hint"]), app))
    return found


def test_every_hint_that_names_a_flag_has_the_apps_words() -> None:
    hints = _hints()
    assert len(hints) > 150  # the scan sees the package's refusals
    flagged = [(place, hint, app) for place, hint, app in hints if FLAG.search(hint)]
    assert len(flagged) >= 30
    missing = [place for place, _, app in flagged if not app]
    assert not missing, f"hints naming flags without an app_hint: {missing}"
    leaking = [place for place, _, app in hints if app and FLAG.search(app)]
    assert not leaking, f"app hints naming flags: {leaking}"


def test_pages_show_the_apps_version_of_every_error() -> None:
    places = [*(ROOT / "pages").glob("*.py"), *(ROOT / "sloview" / "ui").glob("*.py")]
    plain = []
    for path in places:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "one_line"
                and not any(k.arg == "app" for k in node.keywords)
            ):
                plain.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not plain, plain


def test_an_error_reads_differently_for_the_app_and_the_command_line() -> None:
    exc = DataError(
        "no latency column found",
        where="d.csv",
        hint="name the latency column with --latency COL",
        app_hint=f"choose the latency column under '{MAPPING_FORM}' on the Data page",
    )
    assert exc.one_line() == (
        "d.csv: no latency column found. Name the latency column with --latency COL."
    )
    assert exc.one_line(app=True) == (
        "d.csv: no latency column found. Choose the latency column under 'Correct the "
        "mapping' on the Data page."
    )
    # Without an app version, both read the same.
    assert SloviewError("x", hint="y").one_line(app=True) == "x. Y."


CSV = (
    b"when,took,code\n"
    b"2024-01-01T00:00:00Z,120,200\n"
    b"2024-01-01T00:00:01Z,130,500\n"
    b"2024-01-01T00:00:02Z,140,200\n"
)


def _pick(at, label: str, index: int, value: str) -> None:  # type: ignore[no-untyped-def]
    """Set the `index`-th selectbox called `label` (the waiting file's form comes first,
    above the mapping form of the data in use)."""
    boxes = [s for s in at.selectbox if s.label == label]
    boxes[index].set_value(value)


def test_a_file_whose_latency_column_is_not_found_is_mapped_on_the_data_page() -> None:
    at = run_app()
    at.file_uploader[0].set_value(("d.csv", CSV, "text/csv")).run()
    clean(at)
    (error,) = [e.value for e in at.error]
    assert error.startswith("d.csv: no latency column found. Columns are: when, took, code")
    assert MAPPING_FORM in error and "--" not in error  # noqa: PT018
    assert any(m.value == f"**{MAPPING_FORM}: d.csv**" for m in at.markdown)
    assert metric(at, "valid requests") == "505,416"  # the sample stands in meanwhile

    # A wrong choice keeps the file waiting, with the choice and the new reason.
    _pick(at, "latency column", 0, "when")
    at.button(key="FormSubmitter:pending_mapping-Read d.csv").click().run()
    clean(at)
    (error,) = [e.value for e in at.error]
    assert "'when' holds no numbers" in error and "--" not in error  # noqa: PT018
    assert next(s.value for s in at.selectbox if s.label == "latency column") == "when"

    _pick(at, "latency column", 0, "took")
    _pick(at, "latency unit", 0, "ms")
    _pick(at, "status column", 0, "code")
    at.button(key="FormSubmitter:pending_mapping-Read d.csv").click().run()
    clean(at)
    assert not at.error, [e.value for e in at.error]
    assert metric(at, "valid requests") == "3"
    assert metric(at, "failed requests") == "1"
    assert not any(MAPPING_FORM + ": d.csv" in m.value for m in at.markdown)


def test_a_waiting_file_can_be_forgotten_and_a_damaged_one_is_not_kept() -> None:
    at = run_app()
    at.file_uploader[0].set_value(("d.csv", CSV, "text/csv")).run()
    at.button(key="pending_forget").click().run()
    clean(at)
    assert not any(m.value.startswith(f"**{MAPPING_FORM}") for m in at.markdown)
    assert metric(at, "valid requests") == "505,416"
    # A file that does not read as a table has no columns to name: refused, not kept.
    at.file_uploader[0].set_value(("x.parquet", b"PAR1 not really", "application/octet-stream"))
    at.run()
    clean(at)
    assert any("x.parquet" in e.value for e in at.error)
    assert not any(m.value.startswith(f"**{MAPPING_FORM}") for m in at.markdown)


def test_the_data_page_names_its_forms_as_the_hints_do() -> None:
    at = run_app()
    labels = [e.label for e in at.expander]
    assert MAPPING_FORM in labels
    assert CONNECT_FORM in labels


def test_export_asks_for_the_histograms_the_slos_read() -> None:
    """A TTFT SLO's Prometheus rules read the TTFT histogram: the page asks for it (the
    hint says where), and writes the rules once it is given."""
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    at.radio(key="c_metric").set_value("ttft_ms").run()
    at.text_input(key="c_name").set_value("first-token").run()
    at.button[0].click().run()
    at.switch_page("pages/5_export.py").run()
    at.radio(key="export_format").set_value("Prometheus rules").run()
    clean(at)
    label = "time to first token histogram (seconds)"
    (field,) = [t for t in at.text_input if t.label == label]
    assert field.placeholder == "e.g. vllm:time_to_first_token_seconds"
    (error,) = [e.value for e in at.error]
    assert "no Prometheus histogram is given for ttft_ms" in error
    assert (
        "Enter the name of the time to first token histogram (in seconds) under "
        "'production metrics come from'" in error
    )
    assert "--" not in error
    field.set_value("vllm:time_to_first_token_seconds").run()
    clean(at)
    errors = [e.value for e in at.error]
    assert not any("no Prometheus histogram" in e for e in errors), errors
    assert not any(t.label == "output token counter" for t in at.text_input)
