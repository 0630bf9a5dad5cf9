"""map: placeholder until the overview issue lands."""

import streamlit as st

from ui import filters

st.title("map")
st.caption(filters.current().describe())
