"""Judging Lab variants with a rubric from the prompt library (scores in the cards, nothing
stored) and a blind vote between two variants (recorded with who voted) in AppTest."""

from __future__ import annotations

from tests.ui.lab.conftest import all_rows, finish, lab_as

RUBRIC = [
    {"role": "system", "content": "You judge one turn of a debate on {{ topic }}."},
    {"role": "human", "content": "{{ transcript }}\n\nJudge this turn:\n{{ turn }}"},
]


def regenerated(app, login, facilitator, seed, count: int = 3):
    parent = seed("fran", turns=4)
    at = lab_as(app, login, "fran", facilitator)
    at.selectbox(key="lab_run").set_value(parent.id).run()
    at.selectbox(key="lab_turn").set_value(1).run()
    at.number_input(key="lab_variants").set_value(count).run()
    finish(at.button(key="lab_go").click().run())
    assert not at.exception, at.exception
    return at, parent


def test_judging_the_variants_shows_scores_and_stores_nothing(app, login, facilitator, seed, store):
    store.prompts.save("civility", RUBRIC)
    at, _ = regenerated(app, login, facilitator, seed)
    at.radio(key="lab_judge_source").set_value("library").run()
    assert at.selectbox(key="lab_judge_rubric").value == "civility"
    at.radio(key="lab_judge_per").set_value("turn").run()
    at.selectbox(key="lab_judge_provider").set_value("demo").run()
    before = all_rows(store)
    at.button(key="lab_judge_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert all_rows(store) == before

    scores = at.session_state["_lab_shown"].scores
    assert sorted(scores) == [0, 1, 2]
    assert all(o.ok and 1 <= o.evaluations[0].score <= 10 for o in scores.values())
    shown = [m.value for m in at.markdown if "/10**" in m.value]
    assert shown == [
        f":material/gavel: **civility@1: {o.evaluations[0].score}/10**" for o in scores.values()
    ]
    # each judge request held its variant as the turn judged
    for v, outcome in scores.items():
        variant = at.session_state["_lab_shown"].experiment.variants[v].turn
        sent = outcome.evaluations[0].request["messages"][-1]["content"]
        assert sent.endswith(variant.content)


def test_a_rubric_that_does_not_fit_is_one_message(app, login, facilitator, seed, store):
    store.prompts.save("whole", [{"role": "human", "content": "Judge: {{ transcript }}"}])
    at, _ = regenerated(app, login, facilitator, seed, count=2)
    at.radio(key="lab_judge_per").set_value("turn").run()
    at.button(key="lab_judge_go").click().run()
    assert [e.value for e in at.error] == [
        "rubric whole@1: judging per turn needs {{ turn }} in the rubric"
    ]
    assert at.session_state["_lab_shown"].scores == {}


def test_a_blind_vote_between_two_variants(app, login, facilitator, seed, store):
    at, parent = regenerated(app, login, facilitator, seed, count=3)
    shown = at.session_state["_lab_shown"]
    at.selectbox(key="lab_vote_pair").set_value((0, 2)).run()
    at.button(key="lab_vote_start").click().run()
    blind = shown.blind
    assert sorted(blind.sides) == [0, 2] and blind.winner is None
    # the sides show the replies without saying which variant is which
    sides = [m.value for m in at.markdown if m.value in ("**A**", "**B**")]
    assert sides == ["**A**", "**B**"]
    assert not [s for s in at.success if "was" in s.value]
    before = all_rows(store)
    at.button(key="lab_vote_b").click().run()
    assert not at.exception and not at.error
    after = all_rows(store)
    assert {k for k in after if after[k] != before[k]} == {"votes"}  # the one write
    (vote,) = store.evaluations.votes()
    assert (vote.winner, vote.voter, vote.run_a) == ("b", "fran", None)
    variants = shown.experiment.variants
    assert vote.lab["a"]["text"] == variants[blind.sides[0]].turn.content
    assert vote.lab["b"]["text"] == variants[blind.sides[1]].turn.content
    assert vote.lab["source_run"] == parent.id and vote.lab["turn"] == 1
    (said,) = [s.value for s in at.success if "Vote recorded" in s.value]
    assert f"A was Variant {blind.sides[0] + 1}" in said
    assert f"B was Variant {blind.sides[1] + 1}" in said
