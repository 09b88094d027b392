"""The report's stylesheet and browser scripts, as constants: the package needs no data files.

Only local font families: the report must not fetch anything when opened offline.
"""

from __future__ import annotations

# 180 mm at 96 px/in: the text width of A4 with 15 mm margins (Letter is a little wider), so
# a chart drawn on screen prints at the same size without being cut off.
CHART_WIDTH_PX = 680
# Short enough for two charts and their words on a printed page.
REPORT_CHART_HEIGHT_PX = 220
PAGE_MARGIN_MM = 15

CSS = """
:root { --ink: #1d1d1f; --muted: #5f6368; --line: #d9dce1; --good: #2e7d32; --bad: #c62828;
  --warn: #9a5b00; --accent: #1f5fa8; --paper: #ffffff; --tint: #f5f7fa; }
* { box-sizing: border-box; }
html { background: var(--tint); }
body { margin: 0 auto; max-width: 190mm; padding: 24px 5mm 48px; background: var(--paper);
  color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto,
  "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
h1 { font-size: 28px; line-height: 1.2; margin: 8px 0 4px; }
h2 { font-size: 22px; margin: 36px 0 8px; padding-bottom: 4px;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 24px 0 6px; }
h4 { font-size: 15px; margin: 16px 0 4px; }
p { margin: 6px 0 10px; }
.meta, .caption, .muted { color: var(--muted); }
.meta { margin-bottom: 16px; }
.statement { font-size: 17px; font-weight: 600; margin: 4px 0 12px; }
.draft, .warning { border-left: 4px solid var(--warn); background: #fff8e6; padding: 8px 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 13.5px; }
th, td { border: 1px solid var(--line); padding: 5px 7px; text-align: left; vertical-align: top; }
th { background: var(--tint); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
dl.figures { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px;
  margin: 8px 0 16px; }
dl.figures dt { color: var(--muted); }
dl.figures dd { margin: 0; }
dl.glossary dt { font-weight: 600; }
dl.glossary dd { margin: 0 0 6px 0; }
.verdict { font-weight: 600; white-space: nowrap; }
.verdict.met-every-period { color: var(--good); }
.verdict.met-most-periods { color: var(--warn); }
.verdict.missed-too-often, .missed { color: var(--bad); }
.figure { margin: 10px 0 14px; }
.figure p { margin: 2px 0 4px; color: var(--muted); font-size: 13.5px; }
.chart { width: 680px; max-width: 100%; overflow: hidden; }
.note { border-left: 4px solid var(--accent); background: var(--tint); padding: 6px 12px; }
nav.contents ol { margin: 4px 0 12px; padding-left: 22px; }
.signature td { height: 44px; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); }
@page { margin: 15mm; }
@media print {
  html { background: none; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h1 { font-size: 20pt; }
  h2 { font-size: 15pt; margin-top: 18pt; }
  h3 { font-size: 12pt; }
  /* No forced page breaks: a break before every section (or before the appendix) left pages
     half empty; figures and table rows are kept whole instead. */
  .figure, dl.figures, tr, .signature, .captioned { break-inside: avoid; }
  h2, h3, dt { break-after: avoid; }
  nav.contents, .modebar-container, .no-print { display: none !important; }
  a { color: inherit; text-decoration: none; }
  table { font-size: 9pt; }
}
"""

# Draw every figure once plotly.js is loaded, and mark the body when all are drawn: the PDF
# printer waits for that mark, so no chart is printed half-drawn.
PLOTS_JS = """
(function () {
  var pending = [];
  var config = {displaylogo: false, responsive: false};
  window.sloviewPlot = function (id, data, layout) {
    pending.push(Plotly.newPlot(id, data, layout, config));
  };
  window.sloviewDone = function () {
    Promise.all(pending).then(function () {
      document.body.setAttribute("data-plots-ready", String(pending.length));
    });
  };
})();
"""

# Defence in depth for a file people open from mail and wikis: the browser may load nothing
# from anywhere and run only the report's own scripts (their hashes fill the placeholder).
# plotly.js adds <style> elements at run time, hence the inline styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src {script_hashes}; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
)
