"""The pages bench/live_latency.py measures Duet against: one page that streams the replies
with ``st.write_stream`` (the baseline), and the same page behind a sidebar of Duet's size."""

BASELINE_APP = """
import os
import streamlit as st
from openai import OpenAI

client = OpenAI()
TURNS = int(os.environ["BENCH_TURNS"])


def reply():
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Talk."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


if st.button("Go", key="go"):
    for _ in range(TURNS):
        with st.chat_message("ai"):
            st.write_stream(reply())
    st.success("all replies done")
"""


# The same page behind a sidebar of Duet's size (two bots' widgets) and a few controls: how
# much of the gap is Streamlit's browser-side cost of a bigger page, not the live panel.
WIDGETS_FLOOR_APP = BASELINE_APP.replace(
    'if st.button("Go", key="go"):',
    """with st.sidebar:
    for i in range(2):
        with st.container(border=True):
            st.text_input("Name", "Ada", key=f"name{i}")
            st.selectbox("Provider", ["OpenAI", "Anthropic", "Offline demo"], key=f"provider{i}")
            st.selectbox("Model", ["gpt-4o-mini", "gpt-4.1-mini"], key=f"model{i}")
            st.segmented_control("Persona", ["Text", "Saved template"], default="Text", key=f"p{i}")
            st.text_area("System prompt", "You are a careful scientist.", key=f"system{i}")
            st.slider("Temperature", 0.0, 2.0, 0.7, key=f"temperature{i}")
            st.slider("Top p", 0.0, 1.0, 1.0, key=f"top_p{i}")
            st.number_input("Max tokens", 1, 10000, 500, key=f"max_tokens{i}")
            st.selectbox("Effort", ["default", "low", "high"], key=f"effort{i}")
st.title("Duet")
with st.expander("Topic and turns"):
    st.text_area("Topic", "Latency check")
    st.number_input("Max turns", 1, 50, 6)
for label in ("Save setup", "Load setup", "Pause", "Stop"):
    st.button(label)
if st.button("Go", key="go"):""",
)
