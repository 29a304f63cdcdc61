"""A page's error boundary: one box, no traceback; st.stop and st.rerun still work."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def page_script():
    import streamlit as st

    from duet_core.errors import ConfigError
    from duet_ui.shell.errors import guarded, page_error_boundary

    kind = st.session_state.get("kind", "none")
    with page_error_boundary():
        st.write("before")
        if kind == "expected":
            raise ConfigError("max_turns must be\n 1 or more")
        if kind == "bug":
            raise ZeroDivisionError("secret internals sk-proj-abcdefghijklmnop")
        if kind == "stop":
            st.stop()
        st.write("after")

    @guarded
    def fragment_body():
        if kind == "bug":
            raise KeyError("x")
        st.write("fragment ok")

    fragment_body()


def run(kind: str) -> AppTest:
    at = AppTest.from_function(page_script)
    at.session_state["kind"] = kind
    return at.run(timeout=30)


def test_expected_failure_is_its_own_message():
    at = run("expected")
    assert not at.exception
    assert [e.value for e in at.error] == ["max_turns must be 1 or more"]


def test_unexpected_failure_says_what_to_report_without_a_traceback():
    at = run("bug")
    assert not at.exception
    assert len(at.error) == 2  # the page and the fragment, each one box
    for box in at.error:
        assert "This is a bug in Duet: please report it" in box.value
        assert "ZeroDivisionError" not in box.value and "sk-proj" not in box.value


def test_stop_passes_through_and_normal_pages_are_untouched():
    at = run("stop")
    assert not at.exception and not at.error
    assert [m.value for m in at.markdown] == ["before"]
    at = run("none")
    assert [m.value for m in at.markdown] == ["before", "after", "fragment ok"]
