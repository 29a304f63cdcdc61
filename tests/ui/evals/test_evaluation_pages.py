"""Evaluation on the pages (AppTest): a run judged from History shows its scores at the top
and beside its turns, stored as the CLI and API store them; a failed judge is one message and
stores nothing; people rate turns; score columns in History and Compare; the blind vote in
Compare is recorded with its voter and revealed after; the Leaderboard ranks from votes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from duet_core.errors import ConfigError
from duet_core.evals.votes import cast_vote
from duet_core.models import Evaluation
from duet_ui.evals.judge_panel import spec_from_file
from duet_ui.evals.rubrics import BUILTIN
from duet_ui.evals.run_view import RATE_KEY, rating_key
from duet_ui.evals.vote import ORDERS_KEY, pair_key
from tests.ui.conftest import T0, bot

TURN_RUBRIC = [
    {"role": "system", "content": "You judge one turn on {{ topic }}."},
    {
        "role": "human",
        "content": "{{ transcript }}\n\nJudge this turn by {{ speaker }}: {{ turn }}",
    },
]


def open_run(logged_in, run_id: str):
    at = logged_in("alice", "history")
    at.query_params["run"] = run_id
    return at.run()


def badges(at) -> list[str]:
    return [m.value for m in at.markdown if ":material/gavel:" in m.value]


def test_a_run_judged_per_run_shows_its_score_at_the_top(seed, store, logged_in):
    run = seed("alice", topic="Tea or coffee?", turns=3)
    at = open_run(logged_in, run.id)
    assert not at.exception
    assert at.selectbox(key="judge_rubric").value == "builtin:run"
    assert at.selectbox(key="judge_provider").value == "demo"  # the run's first bot's
    at.button(key="judge_go").click().run()
    assert not at.exception, at.exception
    stored = store.evaluations.for_run(run.id)
    assert len(stored) == 1 and stored[0].judge == "overall" and stored[0].per == "run"
    assert stored[0].created_by == "alice" and stored[0].model == "duet-demo"
    assert "Tea or coffee?" in json.dumps(stored[0].request)  # the rendered rubric was sent
    assert [m.label for m in at.metric] == ["overall"]
    assert at.metric[0].value == f"{stored[0].score}/10"
    assert [s.value for s in at.success] == ["overall: 1 score stored."]
    assert badges(at) == []  # a score of the whole run: none beside the turns


def test_a_template_from_the_library_judges_each_turn(seed, store, logged_in):
    store.prompts.save("turn-judge", TURN_RUBRIC, author="alice")
    run = seed("alice", turns=3)
    at = open_run(logged_in, run.id)
    at.selectbox(key="judge_rubric").select("turn-judge").run()
    at.button(key="judge_go").click().run()
    assert not at.exception, at.exception
    stored = store.evaluations.for_run(run.id)
    assert sorted(e.turn for e in stored) == [0, 1, 2]  # every turn
    assert {e.judge for e in stored} == {"turn-judge@1"}
    assert len(badges(at)) == 3  # beside each turn
    assert at.metric[0].label == "turn-judge@1"
    assert "mean over 3 turns" in [c.value for c in at.caption]


def test_a_judge_that_fails_is_one_message_and_stores_nothing(seed, store, logged_in, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    run = seed("alice", turns=2)
    at = open_run(logged_in, run.id)
    at.selectbox(key="judge_rubric").select("builtin:turn").run()
    at.selectbox(key="judge_provider").select("openai").run()
    assert at.text_input(key="judge_model").value  # the provider's default model
    at.button(key="judge_go").click().run()
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith("The judge failed; nothing was stored:")
    assert store.evaluations.for_run(run.id) == []


def test_a_judge_file_with_a_bad_rubric_says_what_is_wrong(seed, logged_in):
    run = seed("alice", turns=2)
    at = open_run(logged_in, run.id)
    at.segmented_control(key="judge_source").set_value("file").run()
    at.button(key="judge_go").click().run()
    assert [e.value for e in at.error] == ["Choose a judge file first."]


def test_people_rate_turns_beside_them(seed, store, logged_in):
    run = seed("alice", turns=2)
    at = open_run(logged_in, run.id)
    at.toggle(key=RATE_KEY).set_value(True).run()
    at.segmented_control(key=rating_key(run.id, 1)).set_value(8).run()
    assert not at.exception
    [rating] = store.evaluations.ratings_for_run(run.id)
    assert (rating.turn, rating.score, rating.rater) == (1, 8, "alice")
    assert any(":material/person: people 8\\.0/10 \\(alice 8\\)" in m.value for m in at.markdown)
    assert at.metric[0].label == "people"
    at.segmented_control(key=rating_key(run.id, 1)).set_value(6).run()  # replaces hers
    assert [r.score for r in store.evaluations.ratings_for_run(run.id)] == [6]


def test_history_and_compare_show_score_columns(seed, store, logged_in):
    judged = seed("alice", topic="Judged", created_at=T0)
    plain = seed("alice", topic="Plain", created_at=T0 + timedelta(hours=1))
    store.evaluations.add(
        [
            Evaluation(run_id=judged.id, judge="a", score=6),
            Evaluation(run_id=judged.id, judge="b", per="turn", turn=0, score=8),
            Evaluation(run_id=judged.id, judge="b", per="turn", turn=1, score=10),
        ]
    )
    store.evaluations.rate_turn(judged.id, 0, 4, "alice")
    at = logged_in("alice", "history")
    frame = at.dataframe(key="history_table").value.set_index("topic")
    assert frame.loc["Judged", "score"] == 7.5  # each judge once: (6 + 9) / 2
    assert frame.loc["Judged", "rating"] == 4.0
    assert frame.loc["Plain"].isna()[["score", "rating"]].all()
    order = list(at.dataframe(key="history_table").proto.column_order)
    assert order[5:7] == ["score", "rating"]

    at.switch_page("app_pages/compare.py")
    at.query_params["runs"] = f"{judged.id},{plain.id}"
    at.run()
    assert not at.exception
    totals = at.table[0].value
    assert list(totals.loc["score · a"]) == ["6/10", "—"]
    assert list(totals.loc["score · b"]) == ["9.0/10", "—"]
    assert list(totals.loc["people's rating"]) == ["4.0/10", "—"]


def two_runs(seed):
    a = seed("alice", topic="Pets", bots=(bot("Ann", model="model-one"), bot("Bob")))
    b = seed("alice", topic="Pets", bots=(bot("Ann", model="model-two"), bot("Bob")))
    return a, b


def test_a_blind_vote_hides_the_sides_until_it_is_cast(seed, store, logged_in):
    a, b = two_runs(seed)
    at = logged_in("alice", "compare")
    at.query_params["runs"] = f"{a.id},{b.id}"
    at.run()
    assert len(at.tabs) == 2  # side by side, blind vote
    at.session_state["compare_view"] = ":material/how_to_vote: Blind vote"
    at.run()
    assert not at.exception
    page = str(at.main)
    assert "model-one" not in page and "model-two" not in page  # blind
    shown_a, shown_b = at.session_state[ORDERS_KEY][pair_key(a.id, b.id)]
    at.button(key="vote_b").click().run()
    assert not at.exception
    [vote] = store.evaluations.votes()
    assert (vote.run_a, vote.run_b, vote.winner, vote.voter) == (shown_a, shown_b, "b", "alice")
    assert vote.bot_index == 0  # the bot whose model differs
    revealed = at.table[0].value
    models = {a.id: "model-one", b.id: "model-two"}
    assert list(revealed["bot 1's model"]) == [models[shown_a], models[shown_b]]
    assert at.button(key="vote_again")


def test_the_leaderboard_ranks_from_votes_and_filters_by_topic(seed, store, logged_in):
    a, b = two_runs(seed)
    other = seed("alice", topic="Tax", bots=(bot("Ann", model="model-three"), bot("Bob")))
    for _ in range(3):
        cast_vote(store, a.id, b.id, "a", "alice")
    cast_vote(store, a.id, other.id, "tie", "alice")
    at = logged_in("alice", "leaderboard")
    assert not at.exception, at.exception
    board = at.table[0].value
    assert board["name"].iloc[0] == "model-one"
    first = board.set_index("name").loc["model-one"]
    assert (first["wins"], first["losses"], first["ties"]) == (3, 0, 1)
    assert len(at.get("vega_lite_chart")) == 1  # the ratings with their intervals
    at.selectbox(key="board_topic").select("Pets").run()
    board = at.table[0].value
    assert set(board["name"]) == {"model-one", "model-two"}
    assert board.set_index("name").loc["model-one", "ties"] == 0


def test_the_leaderboard_says_where_to_vote_when_there_are_no_votes(logged_in):
    at = logged_in("alice", "leaderboard")
    assert not at.exception
    assert "Blind vote" in at.info[0].value


def test_the_builtin_rubrics_fit_their_mode():
    assert {r.per for r in BUILTIN.values()} == {"run", "turn"}


def test_the_leaderboard_shows_judges_agreement_with_people(seed, store, logged_in):
    run = seed("alice", turns=4)
    for turn, (judge, person) in enumerate(((2, 3), (5, 4), (7, 8), (9, 9))):
        store.evaluations.add(
            [Evaluation(run_id=run.id, judge="strict", per="turn", turn=turn, score=judge)]
        )
        store.evaluations.rate_turn(run.id, turn, person, "alice")
    at = logged_in("alice", "leaderboard")
    assert not at.exception
    agreement = at.table[0].value  # no votes: the agreement table alone
    assert agreement.to_dict("records") == [{"judge": "strict", "turns": 4, "Spearman ρ": "+1.00"}]


def test_a_library_rubric_without_the_transcript_is_one_message(seed, store, logged_in):
    store.prompts.save("vague", [{"role": "human", "content": "Is it good?"}], author="alice")
    run = seed("alice", turns=2)
    at = open_run(logged_in, run.id)
    at.selectbox(key="judge_rubric").select("vague").run()
    at.button(key="judge_go").click().run()
    assert not at.exception
    [error] = at.error
    assert "put {{ transcript }}" in error.value and "vague@1" in error.value
    assert store.evaluations.for_run(run.id) == []


def test_a_judge_file_is_read_as_the_command_line_reads_it():
    yaml_file = (
        b"name: strict\nbot: {provider: demo, model: duet-demo}\nper: turn\n"
        b"rubric_messages:\n  - {role: human, content: 'Judge {{ turn }}'}\n"
    )
    spec = spec_from_file("strict.yaml", yaml_file)
    assert (spec.name, spec.per, spec.bot.provider) == ("strict", "turn", "demo")
    with pytest.raises(ConfigError, match=r"a judge file is \.json, \.yaml or \.yml"):
        spec_from_file("judge.txt", b"{}")
    with pytest.raises(ConfigError, match=r"^judge\.json: "):
        spec_from_file("judge.json", b'{"bot": {}, "per": "run"}')


def test_the_leaderboard_ranks_personas_too(seed, store, logged_in):
    a = seed("alice", bots=(bot("Ann", system_prompt="A careful critic."), bot("Bob")))
    b = seed("alice", bots=(bot("Ann", system_prompt="A cheerful optimist."), bot("Bob")))
    cast_vote(store, a.id, b.id, "b", "alice")
    at = logged_in("alice", "leaderboard")
    at.segmented_control(key="board_by").set_value("persona").run()
    assert not at.exception
    board = at.table[0].value
    assert list(board["name"]) == ["A cheerful optimist.", "A careful critic."]
