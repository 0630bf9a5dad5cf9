"""Streamlit layout helpers shared by app.py and the pages.

`leave_pages_v1_mode()` guards against Streamlit's multipage v1 mode: a
`pages/` folder next to app.py makes a fresh server run `pages/<name>.py`
directly (without app.py, its navigation and sidebar) when the very first
request of the process is a deep link such as /funnel (AppTest even resets
the mode before every run). The guard switches v1 off and reruns, so app.py's
`st.navigation` takes over and opens that page. It runs on import and from
`ui.filters.current()`, which every filtered page calls first.
"""

from __future__ import annotations


def leave_pages_v1_mode() -> None:
    """If this run was started in multipage v1 mode, switch it off and rerun through app.py."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - streamlit internals moved
        return
    if PagesManager.uses_pages_directory:
        import streamlit as st

        PagesManager.uses_pages_directory = False
        st.rerun()


leave_pages_v1_mode()
