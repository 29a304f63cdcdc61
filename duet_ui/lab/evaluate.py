"""Judging the Lab's variants and a blind vote between two of them, under the variants.

- **Judge**: a rubric from the prompt library (or a judge file) and a judge bot; each variant
  is judged in its conversation (``duet_core.lab.judging.judge_variants``); the scores show in
  the variants' cards. Nothing is stored.
- **Blind vote**: two variants shown as "A" and "B" in a random order, without their labels;
  the vote (A, B or tie, with who voted) is recorded (``cast_lab_vote``), then which was which
  is said. The one write the Lab makes without a branch.

Widget keys start with ``lab_judge_`` and ``lab_vote_``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import streamlit as st

from duet_core import catalog
from duet_core.errors import DuetError
from duet_core.evals.judge import JudgeSpec, resolve
from duet_core.evals.judging import Outcome
from duet_core.evals.votes import blind_order
from duet_core.lab.judging import cast_lab_vote, judge_variants, parse_judge_file
from duet_core.models import BotConfig
from duet_ui.shared.transcript import escape_markdown, render_error, render_markdown
from duet_ui.shell.services import Services, Viewer

SOURCES = {"library": "Rubric from the prompt library", "file": "Judge file"}
PER = {"turn": "The variant (per turn)", "run": "The conversation ending with it (per run)"}
WINNERS = {"a": "A is better", "tie": "Tie", "b": "B is better"}


@dataclass
class Blind:
    """A blind vote in progress: ``sides`` are the variants shown as A and B."""

    sides: tuple[int, int]
    winner: str | None = None


def draw_score(outcome: Outcome | None, key: str) -> None:
    """A variant's judgement in its card: each criterion's score and reason, or the error."""
    if outcome is None:
        return
    with st.container(key=key):
        if not outcome.ok:
            render_error(outcome.error, icon=":material/gavel:")
            return
        for e in outcome.evaluations:
            name = f"{e.judge}{' · ' + e.criterion if e.criterion else ''}"
            st.markdown(f":material/gavel: **{escape_markdown(name)}: {e.score}/10**")
            render_markdown(e.reason)


def judge_panel(shown: Any, svc: Services, viewer: Viewer, keys: dict[str, str]) -> None:
    """The judge's settings and "Judge the variants" (scores go to ``shown.scores``)."""
    library = svc.store.prompts
    with st.expander("Judge the variants", icon=":material/gavel:", key="lab_judge"):
        how = st.radio(
            "Rubric",
            list(SOURCES),
            format_func=SOURCES.__getitem__,
            horizontal=True,
            key="lab_judge_source",
        )
        spec: JudgeSpec | None = None
        try:
            if how == "file":
                file = st.file_uploader(
                    "Judge file (JSON or YAML: bot, rubric or rubric_messages, per)",
                    type=["json", "yaml", "yml"],
                    key="lab_judge_file",
                )
                if file is not None:
                    spec = parse_judge_file(file.getvalue(), file.name)
            else:
                spec = _library_spec(library.names())
        except DuetError as e:
            st.error(e.message, icon=":material/error:")
            spec = None
        if st.button(
            "Judge the variants",
            key="lab_judge_go",
            icon=":material/gavel:",
            disabled=spec is None,
        ):
            try:
                judge = resolve(spec, library)  # type: ignore[arg-type]
                experiment = shown.experiment
                with st.spinner("Judging…"):
                    outcomes = judge_variants(
                        judge,
                        shown.source.run,
                        [v.turn if v.error is None else None for v in experiment.variants],
                        svc.providers.with_keys(keys),
                        prices=svc.prices,
                        who=viewer.username,
                    )
            except DuetError as e:
                st.error(e.message, icon=":material/error:")
            else:
                shown.scores = dict(enumerate(outcomes))
                st.rerun()  # the scores in the cards


def _library_spec(names: list[str]) -> JudgeSpec | None:
    if not names:
        st.caption("No saved templates yet: save a rubric on the Prompts page.")
        return None
    name_col, version_col, per_col = st.columns([3, 1, 3])
    name = name_col.selectbox("Rubric", names, key="lab_judge_rubric")
    version = version_col.number_input(
        "Version (0: latest)", 0, 10_000, value=0, key="lab_judge_version"
    )
    per = per_col.radio("Judge", list(PER), format_func=PER.__getitem__, key="lab_judge_per")
    provider_col, model_col = st.columns(2)
    provider = provider_col.selectbox(
        "Judge's provider",
        catalog.PROVIDERS,
        format_func=catalog.PROVIDER_LABELS.get,
        key="lab_judge_provider",
    )
    models = list(catalog.known_models(provider)) or [catalog.DEFAULT_MODELS[provider]]
    model = model_col.selectbox(
        "Judge's model", models, key="lab_judge_model", accept_new_options=True
    )
    ref = f"{name}@{int(version)}" if version else name
    bot = BotConfig(name="Judge", provider=provider, model=str(model or models[0]))
    return JudgeSpec(bot=bot, rubric=ref, per=per)


def vote_panel(shown: Any, svc: Services, viewer: Viewer) -> None:
    """A blind vote between two finished variants."""
    variants = shown.experiment.variants
    usable = [v for v, s in enumerate(variants) if s.turn is not None and s.error is None]
    if len(usable) < 2:
        return
    with st.expander("Blind vote", icon=":material/how_to_vote:", key="lab_vote"):
        blind: Blind | None = shown.blind
        pairs = list(itertools.combinations(usable, 2))
        if blind is None or blind.winner is not None:
            pair = st.selectbox(
                "Compare",
                pairs,
                format_func=lambda p: f"Variant {p[0] + 1} and variant {p[1] + 1}",
                key="lab_vote_pair",
            )
            if blind is not None:
                _reveal(shown, blind)
            if st.button("Start a blind vote", key="lab_vote_start", icon=":material/shuffle:"):
                shown.blind = Blind(blind_order(*pair))  # type: ignore[arg-type]
                st.rerun()
            return
        st.caption("Which reply is better? Which variant is which is shown after your vote.")
        for side, column in zip("AB", st.columns(2), strict=True):
            with column, st.container(border=True, key=f"lab_vote_side_{side.lower()}"):
                st.markdown(f"**{side}**")
                state = variants[blind.sides["AB".index(side)]]
                render_markdown(state.turn.content)  # type: ignore[union-attr]
        with st.container(horizontal=True):
            for winner, label in WINNERS.items():
                if st.button(label, key=f"lab_vote_{winner}"):
                    a, b = (variants[i].turn for i in blind.sides)
                    try:
                        cast_lab_vote(svc.store, shown.source, a, b, winner, viewer.username)
                    except DuetError as e:
                        st.error(e.message, icon=":material/error:")
                        return
                    blind.winner = winner
                    st.rerun()


def _reveal(shown: Any, blind: Blind) -> None:
    a, b = (shown.labels[i] for i in blind.sides)
    said = {"a": "A", "b": "B", "tie": "a tie"}[blind.winner or "tie"]
    st.success(
        f"Vote recorded: {said}. A was {escape_markdown(a)}; B was {escape_markdown(b)}.",
        icon=":material/how_to_vote:",
    )
