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
        _repl_check_from_a_short_stack()
        st.rerun()


def _repl_check_from_a_short_stack() -> None:
    """Settle Streamlit's once-per-process "is this a REPL?" check before the first element is sent.

    Streamlit makes it on the first element a process sends (here: the rerun's
    placeholder, on every cold start) with `inspect.stack()`, which reads the source
    lines of every frame and, the first time, maps every loaded module to its file:
    0.4-0.5 s from a script run's deep stack, 0.2 s from a new thread's. It only
    decides whether to warn that a script was not started with `streamlit run`. In a
    process served by Streamlit's runtime (`streamlit run`, ui/launch.py) neither
    warning applies, so the check is marked done; elsewhere (AppTest, a bare script)
    it runs from a fresh thread: same answer (not a REPL), same one-off warning logic.
    """
    import threading

    try:
        from streamlit import delta_generator, runtime

        if runtime.exists():
            delta_generator._use_warning_has_been_displayed = True
            return
        t = threading.Thread(target=delta_generator._maybe_print_use_warning, name="hotline-repl-check")
        t.start()
        t.join(5)
    except Exception:  # pragma: no cover - streamlit internals moved: Streamlit checks itself, slower
        pass


leave_pages_v1_mode()
