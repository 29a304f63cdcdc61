"""Prompt library: templates, versions; turns record their prompt and request messages; branches.

Adds ``prompt_templates`` and ``prompt_versions``; ``turns.prompt`` and
``turns.request_messages``; ``runs.parent_id`` and ``runs.fork_turn`` (indexed, no foreign key:
a branch outlives a deleted parent, and SQLite would have to rebuild ``runs``, whose drop
cascades to every turn).

Backfill: turns saved before this revision get the ``request_messages`` that were sent for
them, rebuilt with the rules that produced them (the 0001-era ``bot_view``, frozen below: the
bot's system prompt, the topic as ``user``, own turns ``assistant``, others ``user``, same-role
neighbours merged, oldest turns dropped past the context window, "Please continue." after a
trailing ``assistant``). Their ``prompt`` stays NULL: no template existed. A person's turn has
no request (NULL). So every old turn loads, exports and can be replayed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
CONTINUE_PROMPT = "Please continue."


def upgrade() -> None:
    op.create_table(
        "prompt_templates",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "prompt_versions",
        sa.Column(
            "name",
            sa.String(100),
            sa.ForeignKey(
                "prompt_templates.name",
                ondelete="CASCADE",
                name="fk_prompt_versions_name_prompt_templates",
            ),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("messages", sa.JSON, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
    )
    op.add_column("runs", sa.Column("parent_id", sa.String(64), nullable=True))
    op.add_column("runs", sa.Column("fork_turn", sa.Integer, nullable=True))
    op.create_index("ix_runs_parent_id", "runs", ["parent_id"])
    op.add_column("turns", sa.Column("prompt", sa.JSON, nullable=True))
    op.add_column("turns", sa.Column("request_messages", sa.JSON, nullable=True))
    _backfill_request_messages()


def downgrade() -> None:
    op.drop_column("turns", "request_messages")
    op.drop_column("turns", "prompt")
    op.drop_index("ix_runs_parent_id", "runs")
    op.drop_column("runs", "fork_turn")
    op.drop_column("runs", "parent_id")
    op.drop_table("prompt_versions")
    op.drop_table("prompt_templates")


# --- backfill ----------------------------------------------------------------------------

_runs = sa.table("runs", sa.column("id", sa.String), sa.column("topic", sa.Text))
_turns = sa.table(
    "turns",
    sa.column("run_id", sa.String),
    sa.column("index", sa.Integer),
    sa.column("bot_index", sa.Integer),
    sa.column("content", sa.Text),
    sa.column("config", sa.JSON),
    sa.column("request_messages", sa.JSON(none_as_null=True)),
)


def _backfill_request_messages() -> None:
    conn = op.get_bind()
    run_ids = conn.execute(sa.select(_runs.c.id, _runs.c.topic).order_by(_runs.c.id)).all()
    for run_id, topic in run_ids:  # one run's turns in memory at a time
        rows = conn.execute(
            sa.select(_turns.c.index, _turns.c.bot_index, _turns.c.content, _turns.c.config)
            .where(_turns.c.run_id == run_id)
            .order_by(_turns.c.index)
        ).all()
        for k, row in enumerate(rows):
            if row.bot_index is None:
                continue
            request = _request_then(topic, rows[:k], row.bot_index, row.config or {})
            conn.execute(
                sa.update(_turns)
                .where(_turns.c.run_id == run_id, _turns.c.index == row.index)
                .values(request_messages=request)
            )


def _estimate_tokens(text: str) -> int:
    return len(text) // 4 + 1


def _context_window(config: dict[str, Any]) -> int | None:
    if config.get("context_tokens"):
        return int(config["context_tokens"])
    try:
        from duet_core import catalog

        return catalog.context_window(str(config.get("provider")), str(config.get("model")))
    except Exception:  # unknown today: send everything, as a big window would have
        return None


def _request_then(
    topic: str, before: list[Any], bot_index: int, config: dict[str, Any]
) -> list[dict[str, str]]:
    """What the 0001-era engine sent for this turn (system message first, when any)."""
    system = str(config.get("system_prompt") or "")
    history = [
        ("assistant" if t.bot_index == bot_index else "user", t.content)
        for t in before
        if (t.content or "").strip()
    ]
    window = _context_window(config)
    first = 0
    if window is not None:
        budget = window - int(config.get("max_tokens") or 512) - _estimate_tokens(system)
        budget -= _estimate_tokens(topic)
        sizes = [_estimate_tokens(text) for _, text in history]
        total = sum(sizes)
        while total > budget and first < len(history) - 1:
            total -= sizes[first]
            first += 1
    messages: list[dict[str, str]] = []
    for role, text in [("user", topic), *history[first:]]:
        if messages and messages[-1]["role"] == role:
            messages[-1] = {"role": role, "content": f"{messages[-1]['content']}\n\n{text}"}
        else:
            messages.append({"role": role, "content": text})
    if messages[-1]["role"] == "assistant":
        messages.append({"role": "user", "content": CONTINUE_PROMPT})
    return ([{"role": "system", "content": system}] if system else []) + messages
