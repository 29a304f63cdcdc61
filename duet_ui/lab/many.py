"""The Prompt Lab on many conversations: pick several sources (saved runs, fixtures, every run
of an experiment), the turn position to regenerate in each (or continue each), one set of
settings, and run them all at once (up to ``MAX_SOURCES``). Nothing is written until a result
is saved as a branch. Widget keys start with ``lab_many_``; the settings form's are
``lab_vm_{field}``.
"""

from __future__ import annotations

import streamlit as st

from duet_core.errors import DuetError
from duet_core.lab import sources as lab_sources
from duet_core.lab.many import MAX_SOURCES, ManyExperiment, check_count, experiment_sources, plan
from duet_core.lab.many import unique as unique_sources
from duet_core.lab.sources import LabSource
from duet_core.logs import run_logger
from duet_core.store import RunQuery
from duet_core.store.experiments import ExperimentQueue
from duet_ui.lab import form as lab_form
from duet_ui.lab import grid
from duet_ui.lab.view import ACTIONS
from duet_ui.shared.bot_form import api_key_fields
from duet_ui.shell.services import Services, Viewer

FORM = "m"  # the settings form's variant key: lab_vm_temperature ...
RECENT = 200
LOADED_KEY = "_lab_many_loaded"  # {(kind, id): LabSource}
FORM_FOR_KEY = "_lab_many_form_for"


def _load(ident: tuple[str, str], load) -> LabSource | list[LabSource]:
    loaded = st.session_state.setdefault(LOADED_KEY, {})
    if ident not in loaded:
        loaded[ident] = load()
    return loaded[ident]


def pick_sources(viewer: Viewer, svc: Services) -> list[LabSource]:
    """Draw the pickers; the chosen sources (repeats removed), loaded once per session."""
    owner = None if viewer.is_admin else viewer.username
    page = svc.store.list_runs(RunQuery(owner=owner, limit=RECENT))
    runs = {s.id: f"{' '.join(s.topic.split())[:60]} · {s.id}" for s in page.items}
    directory = lab_sources.fixtures_dir(svc.settings)
    experiments = {
        e.id: f"{e.name} · {e.run_count} runs" for e in ExperimentQueue(svc.store).list(owner)
    }
    run_col, fixture_col, experiment_col = st.columns(3)
    run_ids = run_col.multiselect(
        "Saved runs",
        list(runs),
        format_func=runs.__getitem__,
        key="lab_many_runs",
        placeholder="Pick runs (type to search)",
    )
    fixtures = fixture_col.multiselect(
        "Fixtures", lab_sources.list_fixtures(directory), key="lab_many_fixtures"
    )
    experiment = experiment_col.selectbox(
        "Every run of an experiment",
        list(experiments),
        format_func=experiments.__getitem__,
        index=None,
        placeholder="No experiment" if experiments else "No experiments yet",
        key="lab_many_experiment",
    )
    picked: list[LabSource] = []
    try:
        for run_id in run_ids:
            picked.append(
                _load(
                    ("run", run_id),
                    lambda r=run_id: lab_sources.load_run(
                        svc.store, r, viewer.username, viewer.is_admin
                    ),
                )  # type: ignore[arg-type]
            )
        for name in fixtures:
            picked.append(
                _load(
                    ("fixture", f"{directory}/{name}"),
                    lambda n=name: lab_sources.load_fixture(n, directory),
                )  # type: ignore[arg-type]
            )
        if experiment:
            picked.extend(
                _load(
                    ("experiment", experiment),
                    lambda: experiment_sources(
                        svc.store, experiment, viewer.username, viewer.is_admin
                    ),
                )  # type: ignore[arg-type]
            )
    except DuetError as e:
        st.error(e.message, icon=":material/error:")
        return []
    return unique_sources(picked)


def page(viewer: Viewer, svc: Services, keys: dict[str, str]) -> None:
    """The whole many-conversations view, under the page's title."""
    sources = pick_sources(viewer, svc)
    if not sources:
        st.info(
            f"Pick up to {MAX_SOURCES} conversations: saved runs, fixtures, or the runs of an"
            " experiment.",
            icon=":material/info:",
        )
        return
    try:
        check_count(len(sources))
    except DuetError as e:
        st.error(e.message, icon=":material/error:")
        return
    action = st.radio(
        "Experiment",
        list(ACTIONS),
        format_func=ACTIONS.__getitem__,
        horizontal=True,
        key="lab_many_action",
    )
    index = None
    if action == "regenerate":
        longest = max(len(s.run.turns) for s in sources)
        number = st.number_input(
            "Turn to regenerate, the same position in each (from 1)",
            1,
            max(longest, 1),
            value=min(2, longest),
            key="lab_many_turn",
        )
        index = int(number) - 1
    cells = plan(sources, action, index)  # what each would send unedited: the form's start
    bases = [c.request.bot for c in cells if c.request is not None]
    problems = [c for c in cells if c.request is None]
    st.caption(
        f"{len(cells) - len(problems)} of {len(cells)} conversations will be "
        + ("regenerated at that turn." if action == "regenerate" else "continued by one turn.")
    )
    if not bases:
        st.warning(
            "None of the picked conversations has a bot's turn there.", icon=":material/block:"
        )
        return
    base = bases[0]
    form_for = (action, index, base.model_dump_json())
    if st.session_state.get(FORM_FOR_KEY) != form_for:
        lab_form.reset(FORM, base)
    library = svc.store.prompts
    with st.expander(
        "Settings for every conversation (what you change applies to each; the rest stays "
        "each conversation's own)",
        expanded=True,
    ):
        form = lab_form.variant_form(FORM, base, svc.settings, keys, library.names())
    st.session_state[FORM_FOR_KEY] = form_for
    with st.sidebar:
        api_key_fields({form.bot.provider} if form.bot is not None else set(), svc.settings)

    asked = (tuple((s.kind, s.label, s.run.id) for s in sources), action, index)
    shown = grid.current(asked)
    running = shown is not None and not shown.many.done
    with st.container(horizontal=True):
        go = st.button(
            f"{'Regenerate' if action == 'regenerate' else 'Continue'} {len(cells)}",
            key="lab_many_go",
            type="primary",
            icon=":material/play_arrow:",
            disabled=running or form.error is not None,
        )
        if st.button("Stop", key="lab_many_stop", icon=":material/stop:", disabled=not running):
            grid.stop_current()
    if go:
        try:
            edited = plan(sources, action, index, form.edits, library)
            many = ManyExperiment(
                edited,
                svc.providers.with_keys(keys),
                svc.prices,
                run_logger(sources[0].run.id, viewer.username),
            )
        except DuetError as e:
            st.error(e.message, icon=":material/error:")
        else:
            grid.start(grid.ShownMany(many, asked))
            st.rerun()
    if shown is not None:
        grid.show(shown, viewer, svc)
