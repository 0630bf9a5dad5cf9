"""topics: placeholder until the overview issue lands."""

import streamlit as st

from ui import filters

st.title("topics")
st.caption(filters.current().describe())
