"""A run's transcript as a PDF (WeasyPrint): the bots and their settings, each turn with its
metrics, a note where a bot's settings changed, and thinking folded into a small grey block.

Model output and user text are escaped into the HTML and laid out as plain text (line breaks
kept), never interpreted: nothing in a turn can add markup, and nothing is fetched from the
network (the URL fetcher refuses every URL). WeasyPrint needs Debian's Pango at run time
(``libpango-1.0-0``, ``libpangoft2-1.0-0``).
"""

from __future__ import annotations

from html import escape
from typing import Any

from duet_core.models import BotConfig, Run, RunStatus, Turn
from duet_core.vocabulary import bot_colour

SETTINGS = (
    ("provider", "provider"),
    ("model", "model"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("effort", "effort"),
    ("max_tokens", "max tokens"),
    ("thinking_budget", "thinking budget"),
    ("base_url", "base URL"),
)
QUIET = ("avatar",)

CSS = """
@page { size: A4; margin: 16mm 14mm 18mm;
        @bottom-right { content: "page " counter(page) " of " counter(pages);
                        font-size: 8pt; color: #888; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; line-height: 1.4; color: #222; }
h1 { font-size: 15pt; margin: 0 0 4pt; }
h2 { font-size: 11.5pt; margin: 14pt 0 6pt; border-bottom: 1px solid #ddd; }
.meta { color: #555; font-size: 8.5pt; }
.topic, .text, .thinking, .prompt { white-space: pre-wrap; overflow-wrap: anywhere; }
.topic { background: #f5f5f5; padding: 6pt 8pt; border-radius: 3pt; }
table.bots { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
table.bots td, table.bots th { border: 1px solid #ddd; padding: 3pt 5pt; vertical-align: top;
                              text-align: left; }
.prompt { font-size: 8pt; color: #444; }
.turn { margin: 8pt 0; padding: 4pt 0 4pt 8pt; border-left: 3pt solid #ccc; }
.who { font-weight: bold; }
.thinking { font-size: 7.5pt; color: #666; background: #f7f7f7; margin: 3pt 0;
            padding: 3pt 6pt; max-height: none; }
.thinking-label { font-size: 7.5pt; color: #888; font-style: italic; }
.metrics { font-size: 7.5pt; color: #777; margin-top: 2pt; }
.change { font-size: 8pt; color: #8a6d00; margin: 6pt 0 0; }
.error { color: #b00020; }
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _colour(bot_index: int | None) -> str:
    return bot_colour(bot_index).hex


def _bot_rows(bots: list[BotConfig]) -> str:
    head = "".join(f"<th style='color:{_colour(i)}'>{_e(b.name)}</th>" for i, b in enumerate(bots))
    rows = [f"<tr><th></th>{head}</tr>"]
    for field, label in SETTINGS:
        values = [getattr(b, field, None) for b in bots]
        if all(v in (None, "", 0) for v in values) and field not in ("provider", "model"):
            continue
        cells = "".join(f"<td>{_e('—' if v is None else v)}</td>" for v in values)
        rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    prompts = "".join(
        f"<td><div class='prompt'>{_e(b.system_prompt) or '—'}</div></td>" for b in bots
    )
    rows.append(f"<tr><th>system prompt</th>{prompts}</tr>")
    return "<table class='bots'>" + "".join(rows) + "</table>"


def _metrics(turn: Turn) -> str:
    if turn.by_person:
        return "a person's message"
    parts = []
    if turn.input_tokens is not None or turn.output_tokens is not None:
        tin = "?" if turn.input_tokens is None else f"{turn.input_tokens:,}"
        tout = "?" if turn.output_tokens is None else f"{turn.output_tokens:,}"
        parts.append(f"tokens {tin} in / {tout} out")
    if turn.ttft_ms is not None:
        parts.append(f"TTFT {turn.ttft_ms:,.0f} ms")
    if turn.latency_ms is not None:
        parts.append(f"latency {turn.latency_ms / 1000:,.2f} s")
    parts.append("cost unknown" if turn.cost_usd is None else f"${turn.cost_usd:.4f}")
    if turn.finish_reason and turn.finish_reason != "stop":
        parts.append(f"finish: {turn.finish_reason}")
    return " · ".join(parts)


def _changes(turns: list[Turn]) -> dict[int, list[str]]:
    """Per turn index: "Bo: temperature 0.7 → 1.3" lines where a bot's settings changed."""
    notes: dict[int, list[str]] = {}
    last: dict[int, BotConfig] = {}
    for t in turns:
        if t.bot_index is None or t.config is None:
            continue
        before, last[t.bot_index] = last.get(t.bot_index), t.config
        if before is None:
            continue
        lines = []
        for field, old, new in t.config.changes_from(before):
            if field in QUIET:
                continue
            if field == "system_prompt":
                lines.append(f"{t.bot_name}: system prompt changed")
            else:
                lines.append(f"{t.bot_name}: {field} {old} → {new}")
        if lines:
            notes[t.index] = lines
    return notes


def _turn_html(turn: Turn, notes: list[str]) -> str:
    colour = _colour(turn.bot_index)
    model = f" · {_e(turn.model)}" if turn.model else ""
    parts = [f"<div class='change'>⚙ {_e(line)}</div>" for line in notes]
    parts.append(f"<div class='turn' style='border-left-color:{colour}'>")
    parts.append(
        f"<div><span class='who' style='color:{colour}'>{turn.index + 1}. "
        f"{_e(turn.bot_name)}</span><span class='meta'>{model}</span></div>"
    )
    if turn.thinking.strip():
        parts.append("<div class='thinking-label'>Thinking (folded)</div>")
        parts.append(f"<div class='thinking'>{_e(turn.thinking.strip())}</div>")
    text = turn.content.strip()
    parts.append(f"<div class='text'>{_e(text)}</div>" if text else "<div><i>(no reply)</i></div>")
    parts.append(f"<div class='metrics'>{_e(_metrics(turn))}</div></div>")
    return "".join(parts)


def transcript_html(run: Run) -> str:
    """The document WeasyPrint lays out (also handy to look at in a browser)."""
    status = RunStatus(run.status).value + (f" ({run.stop_reason})" if run.stop_reason else "")
    finished = f" · finished {run.finished_at:%Y-%m-%d %H:%M} UTC" if run.finished_at else ""
    tokens = run.total_tokens
    cost = run.total_cost_usd
    totals = f"{len(run.turns)} turns · {tokens:,} tokens · " + (
        "cost unknown" if cost is None else f"${cost:.4f}"
    )
    notes = _changes(run.turns)
    body = [
        f"<h1>Duet run {_e(run.id)}</h1>",
        f"<div class='meta'>Started {run.created_at:%Y-%m-%d %H:%M} UTC{finished} by "
        f"{_e(run.owner)} · status: {_e(status)} · {_e(totals)}</div>",
    ]
    if run.error:
        body.append(f"<p class='error'>Error: {_e(run.error)}</p>")
    body.append(f"<h2>Topic</h2><div class='topic'>{_e(run.config.topic)}</div>")
    body.append("<h2>Bots</h2>" + _bot_rows(list(run.config.bots)))
    body.append("<h2>Conversation</h2>")
    body.extend(_turn_html(t, notes.get(t.index, [])) for t in run.turns)
    if not run.turns:
        body.append("<p><i>No turns yet.</i></p>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Duet run {_e(run.id)}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )


def transcript_pdf(run: Run) -> bytes:
    """The run as PDF bytes."""
    from weasyprint import HTML  # imported here: a second or so, and only PDFs need it
    from weasyprint.urls import URLFetcher

    no_fetch = URLFetcher(allowed_protocols=())  # every URL refused: nothing leaves the host
    return HTML(string=transcript_html(run), url_fetcher=no_fetch).write_pdf()
