"""tickets: placeholder until the overview issue lands."""

import streamlit as st

from ui import filters

st.title("tickets")
st.caption(filters.current().describe())
