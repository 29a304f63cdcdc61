"""Judge a saved run from its page: a rubric (built-in, or a template from the prompt library)
and a provider/model, or a judge file; the same ``duet_core.evals.judging.judge_runs`` as
``eval run`` and ``POST /api/eval``. Every failed request is summed up in one message; the
scores show at the run's top and beside its turns (``run_view``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import streamlit as st

from duet_core import catalog, config_text
from duet_core.batch.limits import ProviderLimits
from duet_core.errors import ConfigError, DuetError
from duet_core.evals.judge import Judge, JudgeSpec, judge_from_data, resolve
from duet_core.evals.judging import jobs_for, judge_runs
from duet_core.models import Run
from duet_core.store.prompts import PromptLibrary
from duet_core.templates import template_variables
from duet_ui.evals.rubrics import BUILTIN
from duet_ui.shared.bot_form import pasted_keys
from duet_ui.shell.services import Services, Viewer

LATEST = "latest"
CONCURRENCY = 4  # judge requests at once for one run's turns
NOTE_KEY = "_judge_note"  # (run id, "success" | "error", text): shown once after the rerun
SOURCES = {"rubric": "Rubric", "file": "Judge file"}


@dataclass(frozen=True)
class JudgeChoice:
    """The panel's widgets, as read."""

    rubric: str | None  # a BUILTIN key or a template's name
    version: str | int = LATEST
    provider: str = "demo"
    model: str = "duet-demo"


def spec_from_choice(choice: JudgeChoice, library: PromptLibrary | None) -> JudgeSpec:
    """The judge file the picks make; ``ConfigError`` when something is missing. A saved
    template judges each turn when it uses ``{{ turn }}``, else the whole run."""
    if not choice.rubric:
        raise ConfigError("Pick a rubric for the judge.")
    bot = {"name": "Judge", "provider": choice.provider, "model": (choice.model or "").strip()}
    if choice.rubric in BUILTIN:
        rubric = BUILTIN[choice.rubric]
        data: dict[str, Any] = {
            "name": rubric.name,
            "bot": bot,
            "rubric_messages": [dict(m) for m in rubric.messages],
            "per": rubric.per,
        }
        return judge_from_data(data)
    if library is None:
        raise ConfigError("A saved rubric needs the prompt library.")
    version = None if choice.version in (None, LATEST) else int(choice.version)
    found = library.get(choice.rubric, version)
    per = "turn" if "turn" in template_variables(found.messages) else "run"
    ref = f"{found.name}@{found.version}"
    return judge_from_data({"bot": bot, "rubric": ref, "per": per})


def spec_from_file(file_name: str, data: bytes) -> JudgeSpec:
    """A judge file uploaded (``.json``, ``.yaml``, ``.yml``)."""
    suffix = PurePath(file_name).suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise ConfigError(f"{file_name}: a judge file is .json, .yaml or .yml")
    parsed = config_text.parse(config_text.decode(data, file_name), suffix != ".json")
    return judge_from_data(parsed, where=file_name)


def run_judge(run: Run, judge: Judge, svc: Services, viewer: Viewer) -> tuple[str, str]:
    """Judge ``run`` (each of its turns, per turn) and store the scores; ``("success" |
    "error", one line)`` saying what happened."""
    jobs, refused = jobs_for(judge, run)
    if refused is not None:
        return "error", refused.error or "This run cannot be judged."
    progress = st.progress(0.0, text=f"Judging with {judge.name}…")
    stored, errors = 0, []
    outcomes = judge_runs(
        svc.store,
        [run.id],
        judge,
        svc.providers.with_keys(pasted_keys()),
        prices=svc.prices,
        who=viewer.username,
        concurrency=CONCURRENCY,
        limits=ProviderLimits(CONCURRENCY),
    )
    for done, outcome in enumerate(outcomes, start=1):
        if outcome.ok:
            stored += len(outcome.evaluations)
        else:
            errors.append(outcome.error or "failed")
        progress.progress(min(done / max(len(jobs), 1), 1.0), text=f"Judged {done} of {len(jobs)}")
    progress.empty()
    if errors:
        failed = len(errors)
        head = "The judge failed" if failed == len(jobs) else f"{failed} of {len(jobs)} failed"
        kept = f" ({stored} scores stored)" if stored else "; nothing was stored"
        return "error", f"{head}{kept}: {errors[0]}"
    return "success", f"{judge.name}: {stored} score{'s' if stored != 1 else ''} stored."


def _default_bot(run: Run) -> None:
    """The judge's provider and model start as the run's first bot's."""
    state = st.session_state
    if state.get("judge_provider") not in catalog.PROVIDERS:
        state["judge_provider"] = run.config.bots[0].provider
        state["judge_model"] = run.config.bots[0].model


def _provider_changed() -> None:
    provider = st.session_state.get("judge_provider")
    st.session_state["judge_model"] = catalog.DEFAULT_MODELS.get(provider, "")


def _rubric_picker(library: PromptLibrary) -> JudgeChoice:
    try:
        names = [s.name for s in library.list()]
    except DuetError as e:
        st.error(str(e))
        names = []
    options = [*BUILTIN, *names]
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    rubric = left.selectbox(
        "Rubric",
        options,
        key="judge_rubric",
        format_func=lambda o: BUILTIN[o].label if o in BUILTIN else f"Template: {o}",
        help="A saved template with {{ transcript }} judges the whole run; with {{ turn }}, "
        "each turn. Save one on the Prompts page.",
    )
    version: str | int = LATEST
    if rubric in names:
        latest = next(s.latest_version for s in library.list() if s.name == rubric)
        version = right.selectbox("Version", [LATEST, *range(latest, 0, -1)], key="judge_version")
    else:
        right.caption("each turn" if BUILTIN.get(rubric) and BUILTIN[rubric].per == "turn"
                      else "the whole run")  # fmt: skip
    one, two = st.columns([1, 2])
    provider = one.selectbox(
        "Judge's provider",
        catalog.PROVIDERS,
        key="judge_provider",
        format_func=lambda p: catalog.PROVIDER_LABELS.get(p, p),
        on_change=_provider_changed,
    )
    model = two.text_input("Judge's model", key="judge_model")
    return JudgeChoice(rubric, version, provider, model)


def judge_panel(run: Run, svc: Services, viewer: Viewer) -> None:
    """The "Judge this run" panel: its picks, the button, and the last judging's outcome."""
    note = st.session_state.get(NOTE_KEY)
    if note and note[0] == run.id:
        kind, text = note[1], note[2]
        box = st.error if kind == "error" else st.success
        box(text, icon=":material/error:" if kind == "error" else ":material/gavel:")
    _default_bot(run)
    with st.expander("Judge this run", icon=":material/gavel:", expanded=False):
        source = st.segmented_control(
            "Judge from",
            list(SOURCES),
            format_func=SOURCES.get,
            key="judge_source",
            default="rubric",
            required=True,
            label_visibility="collapsed",
        )
        upload = None
        choice = None
        if source == "file":
            upload = st.file_uploader(
                "Judge file",
                type=["json", "yaml", "yml"],
                key="judge_file",
                help='{"bot": {...}, "rubric": "NAME@VERSION" or "rubric_messages": [...], '
                '"per": "run" | "turn"}',
            )
        else:
            choice = _rubric_picker(svc.store.prompts)
        if not st.button("Judge", key="judge_go", icon=":material/gavel:", type="primary"):
            return
        try:
            if source == "file":
                if upload is None:
                    raise ConfigError("Choose a judge file first.")
                spec = spec_from_file(upload.name, upload.getvalue())
            else:
                assert choice is not None
                spec = spec_from_choice(choice, svc.store.prompts)
            judge = resolve(spec, svc.store.prompts)
            kind, text = run_judge(run, judge, svc, viewer)
        except DuetError as e:
            kind, text = "error", str(e)
        st.session_state[NOTE_KEY] = (run.id, kind, text)
        st.rerun()  # the run read again, with its new scores
