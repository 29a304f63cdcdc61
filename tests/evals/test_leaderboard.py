"""The leaderboard on synthetic votes with a known order, ties, and votes from the store."""

from __future__ import annotations

import math
import random

import pytest

from duet_core.errors import ConfigError, NotFound
from duet_core.evals.leaderboard import SCALE, Comparison, leaderboard
from duet_core.evals.votes import cast_vote, differing_bot, persona_label, rate_turn
from duet_core.models import BotConfig, PromptRef, RunStatus

P = 0.8
STEP = math.log(P / (1 - P))  # A beats B 80%, B beats C 80%: θ = +STEP, 0, −STEP


def synthetic(per_pair: int = 300, seed: int = 7) -> list[Comparison]:
    """Votes drawn from Bradley-Terry with θ(A)=STEP, θ(B)=0, θ(C)=−STEP (so A beats C 94%),
    each pair shown in both orders."""
    rng = random.Random(seed)
    theta = {"A": STEP, "B": 0.0, "C": -STEP}
    out = []
    for x, y in (("A", "B"), ("B", "C"), ("A", "C")):
        p = 1 / (1 + math.exp(theta[y] - theta[x]))
        for k in range(per_pair):
            won = rng.random() < p
            a, b = (x, y) if k % 2 else (y, x)
            out.append(Comparison(a, b, (1.0 if won else 0.0) if a == x else (0.0 if won else 1.0)))
    return out


def test_the_fitted_order_and_intervals_on_votes_with_a_known_order():
    board = leaderboard(synthetic(), rounds=300)
    assert [s.name for s in board] == ["A", "B", "C"]
    for s in board:
        assert s.ci_low < s.rating < s.ci_high  # the intervals contain the fitted ratings
    true = {"A": 1000 + SCALE * STEP, "B": 1000.0, "C": 1000 - SCALE * STEP}
    for s in board:  # ... and the true ones the votes were drawn from
        assert s.ci_low <= true[s.name] <= s.ci_high, (s, true[s.name])
    a, b, c = board
    assert a.rating - b.rating == pytest.approx(SCALE * STEP, abs=60)  # 241 Elo points
    assert (a.wins + a.losses, b.wins + b.losses, c.wins + c.losses) == (600, 600, 600)
    assert a.ties == b.ties == c.ties == 0


def test_the_same_votes_give_the_same_board():
    assert leaderboard(synthetic(), rounds=100) == leaderboard(synthetic(), rounds=100)
    assert leaderboard(synthetic(), rounds=100, seed=1) != leaderboard(synthetic(), rounds=100)


def test_ties_count_half_each_and_are_counted():
    even = [Comparison("X", "Y", 0.5)] * 10 + [Comparison("X", "Y", 1.0), Comparison("Y", "X", 1.0)]
    x, y = leaderboard(even, rounds=200)
    assert x.rating == pytest.approx(y.rating) == pytest.approx(1000.0)
    assert (x.wins, x.losses, x.ties) == (1, 1, 10) == (y.wins, y.losses, y.ties)
    assert x.ci_low < 1000 < x.ci_high

    # a draw-heavy record against a middling one: ties pull towards, wins away
    mixed = [Comparison("X", "Y", 0.5)] * 6 + [Comparison("X", "Y", 1.0)] * 4
    top, bottom = leaderboard(mixed, rounds=200)
    assert (top.name, top.wins, top.ties, bottom.losses) == ("X", 4, 6, 4)
    assert top.rating > bottom.rating


def test_an_undefeated_model_stays_finite_and_an_empty_board_is_empty():
    board = leaderboard([Comparison("W", "L", 1.0)] * 5, rounds=50)
    assert [s.name for s in board] == ["W", "L"]
    assert all(math.isfinite(v) for s in board for v in (s.rating, s.ci_low, s.ci_high))
    assert leaderboard([], rounds=10) == []
    assert leaderboard([Comparison("S", "S", 1.0)], rounds=10) == []


def test_votes_between_runs_rank_the_bot_that_differs(sqlite_store, make_run, bots):
    def run_with(model: str, prompt: str = "You are a critic."):
        configs = bots()
        configs[1] = BotConfig(name="Bo", provider="openai", model=model, system_prompt=prompt)
        run = make_run(status=RunStatus.COMPLETED, turns=2, bot_configs=configs)
        sqlite_store.create_run(run)
        return run

    gpt, claude, mini = run_with("gpt-4.1"), run_with("gpt-4o-mini"), run_with("gpt-4.1-mini")
    cast_vote(sqlite_store, gpt.id, claude.id, "a", "alice")
    cast_vote(sqlite_store, claude.id, gpt.id, "b", "bob")
    cast_vote(sqlite_store, mini.id, claude.id, "tie", "alice")
    votes = sqlite_store.evaluations.votes()
    assert [(v.bot_index, v.model_a, v.model_b, v.winner) for v in votes] == [
        (1, "gpt-4.1", "gpt-4o-mini", "a"),
        (1, "gpt-4o-mini", "gpt-4.1", "b"),
        (1, "gpt-4.1-mini", "gpt-4o-mini", "tie"),
    ]
    board = {s.name: s for s in leaderboard(votes, rounds=50)}
    assert (board["gpt-4.1"].wins, board["gpt-4o-mini"].losses) == (2, 2)
    assert board["gpt-4.1-mini"].ties == 1
    assert max(board.values(), key=lambda s: s.rating).name == "gpt-4.1"
    # by persona, all three play the same critic: no vote says anything about personas
    assert leaderboard(votes, by="persona", rounds=10) == []

    same = run_with("gpt-4.1")
    with pytest.raises(ConfigError, match="same settings"):
        cast_vote(sqlite_store, gpt.id, same.id, "a", "alice")
    vote = cast_vote(sqlite_store, gpt.id, same.id, "tie", "alice", bot_index=0)
    assert vote.bot_index == 0
    with pytest.raises(ConfigError, match="a, b or tie"):
        cast_vote(sqlite_store, gpt.id, claude.id, "left", "alice")
    with pytest.raises(ConfigError, match="two different runs"):
        cast_vote(sqlite_store, gpt.id, gpt.id, "a", "alice")
    with pytest.raises(NotFound):
        cast_vote(sqlite_store, gpt.id, "rmissing", "a", "alice")

    rating = rate_turn(sqlite_store, gpt.id, 1, 8, "alice")
    assert rating.score == 8
    with pytest.raises(ConfigError, match="has no turn 5"):
        rate_turn(sqlite_store, gpt.id, 5, 8, "alice")


def test_both_bots_differing_needs_a_bot(make_run, bots):
    a = make_run(bot_configs=bots("demo", "duet-demo", "openai", "gpt-4.1"))
    b = make_run(bot_configs=bots("openai", "gpt-4o", "openai", "gpt-4o"))
    with pytest.raises(ConfigError, match="Both bots differ"):
        differing_bot(a, b)


def test_persona_labels():
    assert persona_label(BotConfig(system_prompt="  You are   a pirate. ")) == "You are a pirate."
    assert persona_label(BotConfig(system_prompt="x" * 100)).endswith("…")
    assert persona_label(BotConfig()) == "(no persona)"
    assert persona_label(BotConfig(prompt=PromptRef(name="critic", version=2))) == "critic v2"
    inline = BotConfig(persona=[{"role": "system", "content": "Be brief."}])
    assert persona_label(inline).startswith("inline persona ")


# --- judges against people -----------------------------------------------------------------


def test_spearman_and_agreement_from_the_store(sqlite_store, make_run):
    from duet_core.evals.agreement import agreements, spearman
    from duet_core.models import Evaluation

    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # tied ranks averaged: x ranks 1, 2.5, 2.5, 4; Pearson of the ranks = 4.5 / sqrt(4.5 * 5)
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(4.5 / math.sqrt(22.5))
    assert spearman([1, 2], [1, 2]) is None and spearman([5, 5, 5], [1, 2, 3]) is None

    run = make_run(status=RunStatus.COMPLETED, turns=4)
    sqlite_store.create_run(run)
    judged = [3, 5, 7, 9]
    sqlite_store.evaluations.add(
        [
            Evaluation(run_id=run.id, judge="j", per="turn", turn=i, score=s)
            for i, s in enumerate(judged)
        ]
        + [Evaluation(run_id=run.id, judge="whole", score=5)]  # per run: no turn to pair
    )
    for i, (alice, bob) in enumerate([(2, 2), (6, 4), (5, 7), (9, 9)]):  # means 2, 5, 6, 9
        sqlite_store.evaluations.rate_turn(run.id, i, alice, "alice")
        sqlite_store.evaluations.rate_turn(run.id, i, bob, "bob")
    pairs = sqlite_store.evaluations.paired_scores()
    assert pairs == [("j", 3.0, 2.0), ("j", 5.0, 5.0), ("j", 7.0, 6.0), ("j", 9.0, 9.0)]
    (a,) = agreements(pairs)
    assert a.as_json() == {"judge": "j", "items": 4, "spearman": 1.0}
    assert sqlite_store.evaluations.paired_scores(experiment_id="xother") == []
