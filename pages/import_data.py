"""导入: placeholder until the import issue lands."""

import streamlit as st

st.title("导入")
