"""Keeping the sidebar and a live run's settings in step, both ways.

The run's own fold of its events (``LiveRun.bots``) owns a live run's settings. Before the
widgets draw, ``sync_widgets`` shows a newly attached run's setup, or settings changed from
elsewhere (another viewer, a PATCH over HTTP). After bot ``i``'s widgets draw,
``push_bot_change`` sends a person's edit to the live run (it applies from that bot's next
turn), and ``pending_note`` says so until the bot has spoken with it.

Only a run the person caused can carry an edit. In a run the page asked for itself
(``LiveView.begin_page_run``), a widget value other than the one the page drew last came from
a timer tick the browser sent before it drew that run: the widget gets the drawn value back
(nothing is pushed). Pushing it would undo a change made elsewhere with the browser's older
value (a PATCH setting 1.3 came back as 0.7).
"""

from __future__ import annotations

from duet_core.errors import DuetError
from duet_core.models import BotConfig
from duet_core.settings import Settings
from duet_ui.conversation import setup_file
from duet_ui.conversation.session import LiveView
from duet_ui.shared import bot_form


def sync_widgets(view: LiveView | None, settings: Settings, asked: bool = False) -> None:
    """Before the widgets draw: show a newly attached run's setup, or settings changed from
    elsewhere. ``asked``: the page asked for this run (see the module doc)."""
    if view is None:
        return
    if asked and view.filled:
        for i, drawn in enumerate(view.drawn_values):
            if drawn is not None:
                bot_form.show_values(i, drawn)
    if not view.filled:
        setup_file.fill(view.run.config, settings, bots=False)
        bots = view.live.bots() if view.live is not None else view.state.bots_next()
        for i, bot in enumerate(bots):
            _show_bot(view, i, bot)
        view.filled = True
    elif view.is_live:
        for i, bot in enumerate(view.live.bots()):
            if bot != view.synced_bots[i]:
                _show_bot(view, i, bot)


def _show_bot(view: LiveView, i: int, bot: BotConfig) -> None:
    bot_form.fill(i, bot)
    view.synced_bots[i] = bot
    view.synced_values[i] = bot_form.widget_values(bot)


def push_bot_change(
    view: LiveView | None, i: int, form: bot_form.BotForm, page_run: int
) -> str | None:
    """After bot ``i``'s widgets draw: send its edited settings to the live run (they apply
    from its next turn). ``page_run`` (``LiveView.begin_page_run``): an older run of the page
    that is still being stopped sends nothing. Returns an error message to show, if any."""
    if view is None:
        return None

    def drawn() -> None:
        view.drawn_values[i] = form.values

    view.newest(page_run, drawn)
    if not view.is_live:
        return None
    if form.config is None or form.values == view.synced_values[i]:
        return None
    config, problem = form.config, []

    def push() -> None:
        if config != view.live.bots()[i]:
            try:
                view.live.update_bot(i, config)  # its BotUpdated event reaches the view
            except DuetError as e:
                problem.append(e.message)
                return
        view.synced_bots[i], view.synced_values[i] = config, form.values

    view.newest(page_run, push)
    return problem[0] if problem else None


def pending_note(view: LiveView | None, i: int) -> str | None:
    """'Changes apply from Bob's next turn.' while bot ``i`` has settings it has not used yet."""
    if view is None or not view.is_live:
        return None
    pending = view.live.bots()[i]
    state = view.state
    if state.partial is not None and state.partial.bot_index == i:
        used = state.partial.config
    else:
        used = state.bots_in_use()[i]
    if used is None or used == pending:
        return None
    return f"Changes apply from {pending.name}'s next turn."


def note_shown(view: LiveView | None, i: int, shown: bool) -> None:
    """Remember which bots show a pending note: the live panel reruns the page once that
    bot starts a turn, so the note goes away."""
    if view is not None:
        noted = list(view.noted)
        noted[i] = shown
        view.noted = (noted[0], noted[1])
