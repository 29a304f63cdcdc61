"""The Prompts page's "Try it": a template's messages (a saved version, or the draft being
edited) rendered with the variables typed here, then sent to a model through the HTTP API
playground's own code (``playground_request`` + ``Experiment``: ``POST /api/playground``),
the reply streamed onto the page. Writes nothing to the database.

Widget keys: ``prompts_try_version``, ``prompts_try_{variable}``, ``prompts_try_provider``,
``prompts_try_model``, ``prompts_try_send``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from duet_core import catalog
from duet_core.errors import DuetError
from duet_core.lab.requests import playground_request
from duet_core.lab.variants import Experiment, LabEventType
from duet_core.logs import run_logger
from duet_core.models import BotConfig, PromptRef, Turn, validated
from duet_core.providers import provider_available
from duet_core.store.prompts import PromptVersion, check_messages
from duet_core.templates import (
    BUILTIN_VARIABLES,
    missing_variables,
    render_messages,
    template_variables,
)
from duet_ui.shared.bot_form import DEFAULT_BOTS, pasted_keys
from duet_ui.shell.services import Viewer, services

DRAFT = "draft"
PROVIDER_KEY = "prompts_try_provider"
MODEL_KEY = "prompts_try_model"
_REPLY = "_prompts_try_reply"  # the last reply, shown again until something else is tried


@dataclass(frozen=True)
class Reply:
    what: str  # e.g. "debater v2 · openai gpt-4.1-mini"
    text: str
    error: str | None
    turn: Turn | None


def _on_provider() -> None:
    st.session_state[MODEL_KEY] = catalog.DEFAULT_MODELS[st.session_state[PROVIDER_KEY]]


def reply_caption(turn: Turn | None) -> str:
    if turn is None:
        return ""
    parts = []
    if turn.output_tokens is not None:
        parts.append(f"{turn.input_tokens or 0} → {turn.output_tokens} tokens")
    if turn.ttft_ms is not None:
        parts.append(f"first token {turn.ttft_ms / 1000:.2f} s")
    if turn.latency_ms is not None:
        parts.append(f"{turn.latency_ms / 1000:.2f} s")
    if turn.cost_usd is not None:
        parts.append(f"${turn.cost_usd:.4f}")
    return " · ".join(parts)


def _show(reply: Reply) -> None:
    st.caption(reply.what)
    if reply.text or not reply.error:
        with st.chat_message("ai", avatar=":material/smart_toy:"):
            st.markdown(reply.text or "*(no text)*")
    if reply.error:
        st.error(reply.error, icon=":material/error:")
    elif reply.turn is not None:
        st.caption(reply_caption(reply.turn))


def _model_picker() -> BotConfig | None:
    state = st.session_state
    default = DEFAULT_BOTS[0]
    if state.get(PROVIDER_KEY) not in catalog.PROVIDERS:
        state[PROVIDER_KEY] = default.provider
        state[MODEL_KEY] = default.model
    left, right = st.columns(2)
    provider = left.selectbox(
        "Provider",
        catalog.PROVIDERS,
        key=PROVIDER_KEY,
        format_func=catalog.PROVIDER_LABELS.get,
        on_change=_on_provider,
    )
    model = right.text_input("Model", key=MODEL_KEY)
    ok, hint = provider_available(provider, services().settings, pasted_keys())
    if not ok:
        st.warning(hint, icon=":material/key:")
        return None
    try:
        return validated(BotConfig, {"name": "Playground", "provider": provider, "model": model})
    except DuetError as e:
        st.error(e.message)
        return None


def _stream(lab: Experiment, failure: list[str]) -> Iterator[str]:
    for event in lab.events_until_done():
        if event.type is LabEventType.TEXT:
            yield event.content
        elif event.type is LabEventType.ERROR:
            failure.append(event.message)


def send(
    bot: BotConfig,
    messages: Sequence[Any],
    values: dict[str, str],
    ref: PromptRef | None,
    viewer: Viewer,
    what: str,
) -> Reply:
    """The model's reply to the rendered messages, streamed onto the page as it comes."""
    svc = services()
    request = playground_request(bot, messages, values, ref)  # ConfigError: said by the caller
    lab = Experiment(
        [request],
        svc.providers.with_keys(pasted_keys()),
        svc.prices,
        run_logger("playground", viewer.username or "local"),
    )
    failure: list[str] = []
    st.caption(what)
    slot = st.empty()
    try:
        lab.start()
        with slot.container(), st.chat_message("ai", avatar=":material/smart_toy:"):
            text = st.write_stream(_stream(lab, failure))
    finally:
        lab.stop()  # the page was left mid-reply: close the stream
    turn = lab.results[0]
    reply = Reply(
        what, text if isinstance(text, str) else "", failure[0] if failure else None, turn
    )
    if reply.error and not reply.text:
        slot.empty()  # no empty reply: the error says it all
    if reply.error:
        st.error(reply.error, icon=":material/error:")
    else:
        st.caption(reply_caption(turn))
    return reply


def try_panel(
    picked: str,
    history: Sequence[PromptVersion],
    draft: list[dict[str, str]] | None,
    viewer: Viewer,
) -> None:
    """``picked``'s versions (newest first) and the ``draft`` being edited (None when it has
    a problem, said on the Edit tab)."""
    state = st.session_state
    options: list[Any] = [*(v.version for v in history), DRAFT]
    version = st.selectbox(
        "Messages",
        options,
        key="prompts_try_version",
        format_func=lambda v: "the draft being edited (unsaved)" if v == DRAFT else f"v{v}",
    )
    if version == DRAFT:
        if draft is None:
            st.info("Fix the draft on the Edit tab first.", icon=":material/edit:")
            return
        try:
            messages = check_messages(draft)
        except DuetError as e:
            st.error(e.message)
            return
        ref = None
        what = f"{picked or 'new template'} (draft)"
    else:
        found = next(v for v in history if v.version == version)
        messages = found.messages
        ref = PromptRef(name=found.name, version=found.version)
        what = f"{found.name} v{found.version}"

    values: dict[str, str] = {}
    for var in template_variables(messages):
        hint = "filled by the run in a conversation" if var in BUILTIN_VARIABLES else None
        text = st.text_input(var, key=f"prompts_try_{var}", help=hint)
        if text:
            values[var] = text
    missing = missing_variables(messages, values)
    if missing:
        st.warning(
            f"No value for {', '.join(missing)}: rendered as empty.", icon=":material/warning:"
        )
    with st.expander("Rendered messages", icon=":material/description:", expanded=True):
        for m in render_messages(messages, values):
            st.text(f"[{m['role']}]\n{m['content']}")

    st.markdown("**Send them to a model**")
    bot = _model_picker()
    if st.button(
        "Send",
        key="prompts_try_send",
        type="primary",
        icon=":material/send:",
        disabled=bot is None,
        help="The model answers these messages; nothing is saved.",
    ):
        state.pop(_REPLY, None)
        what = f"{what} · {bot.provider} {bot.model}"  # type: ignore[union-attr]
        try:
            state[_REPLY] = send(bot, messages, values, ref, viewer, what)  # type: ignore[arg-type]
        except DuetError as e:
            st.error(e.message, icon=":material/error:")
    elif isinstance(state.get(_REPLY), Reply):
        _show(state[_REPLY])
