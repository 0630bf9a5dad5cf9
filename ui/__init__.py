"""Streamlit layout helpers shared by app.py and the views (the pages, in `views/`).

The pages live in `views/`, not `pages/`: a `pages/` folder next to app.py puts
Streamlit in its multipage v1 mode, in which a fresh server runs `pages/<name>.py`
directly (without app.py's navigation and sidebar) when its first request is a
deep link such as /funnel. With no such folder, `st.navigation` in app.py always
decides, by public API alone.
"""
