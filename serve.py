"""Start the sloview app with its opening data already loading (`make run` uses this).

`streamlit run serve.py` serves `app.py` exactly as `streamlit run app.py` would; in addition,
as the server starts it reads and indexes the data a new session opens on, and imports what
the pages draw with, in the background. The first person to open the app then finds them
ready instead of waiting for them (several seconds at 10 million requests).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st


def _prepare() -> None:
    from sloview.ui import state

    started = time.perf_counter()
    # The pages' imports in a second thread: the data's reading and sorting mostly run
    # outside the GIL, so on two cores both are done sooner than one after the other.
    threading.Thread(target=_import_pages, name="sloview-imports", daemon=True).start()
    said = state.warm()
    print(f"sloview: {said} ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)


def _import_pages() -> None:
    import sloview.charts
    import sloview.design
    import sloview.simulate  # noqa: F401


@asynccontextmanager
async def _lifespan(_app: st.App) -> AsyncIterator[None]:
    threading.Thread(target=_prepare, name="sloview-warm", daemon=True).start()
    yield


app = st.App("app.py", lifespan=_lifespan)
