"""Report downloads: HTML and Markdown at once, the PDF printed in the background (shared by
the Export and Review pages)."""

from __future__ import annotations

import streamlit as st

from sloview.errors import SloviewError
from sloview.report import ReportInputs, render_html, render_markdown
from sloview.ui import background


def report_buttons(inputs: ReportInputs, stem: str, label: str) -> None:
    """Three download buttons side by side ("Download LABEL.html" ...) of STEM.html, STEM.md
    and STEM.pdf."""
    html = render_html(inputs)
    c1, c2, c3 = st.columns(3)
    c1.download_button(f"Download {label}.html", html, file_name=f"{stem}.html", mime="text/html")
    c2.download_button(
        f"Download {label}.md",
        render_markdown(inputs),
        file_name=f"{stem}.md",
        mime="text/markdown",
    )
    with c3:
        pdf_button(html, inputs.title, stem, label)


@st.fragment(run_every=1.0)
def pdf_button(html: str, title: str, stem: str, label: str) -> None:
    """The PDF's download button once printed; until then, how long the print has taken."""
    job = background.pdf(html, title)
    if not job.future.done():
        st.button(
            f"Preparing {label}.pdf ... {job.seconds:.0f} s",
            disabled=True,
            help="Printed by headless Chromium in the background",
            key=f"pdf_wait_{stem}",
        )
        return
    error = job.future.exception()
    if isinstance(error, SloviewError):
        st.error(error.one_line())
        background.forget(job)
        return
    if error is not None:
        st.error(f"The PDF could not be printed ({type(error).__name__}); try again.")
        background.forget(job)
        return
    st.download_button(
        f"Download {label}.pdf",
        job.future.result(),
        file_name=f"{stem}.pdf",
        mime="application/pdf",
    )
