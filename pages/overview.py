"""总览: placeholder until the overview issue lands."""

import streamlit as st

from ui import filters

st.title("总览")
st.caption(filters.current().describe())
