import streamlit as st

st.title("Duet")
st.write("The conversation page is coming.")
