"""Showing figures and tables on a page: the one place pages go through.

Pages call `chart()` and `table()` instead of st.plotly_chart/st.dataframe so
that selection (drill-down) and download buttons (export issue) behave the
same everywhere.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st


def chart(fig: go.Figure, *, key: str, title: str = "", select: bool = False, height: int | None = None):
    """Draw a plotly figure. With select=True, return the selection event (points clicked), else None."""
    if height:
        fig.update_layout(height=height)
    if select:
        event = st.plotly_chart(fig, key=key, on_select="rerun", selection_mode=("points",),
                                config={"displaylogo": False})
        return event
    st.plotly_chart(fig, key=key, config={"displaylogo": False})
    return None


def table(df: pd.DataFrame, *, key: str, title: str = "", select: bool = False, height: int | str = "auto",
          column_config: dict | None = None, hide_index: bool = True):
    """Draw a table. With select=True (single row), return the selected row positions, else None."""
    if select:
        event = st.dataframe(df, key=key, on_select="rerun", selection_mode="single-row", height=height,
                             column_config=column_config, hide_index=hide_index)
        return list(event.selection.rows) if event and event.selection else []
    st.dataframe(df, key=key, height=height, column_config=column_config, hide_index=hide_index)
    return None
