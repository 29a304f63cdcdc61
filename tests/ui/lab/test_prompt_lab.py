"""The Prompt Lab page in AppTest: who may use it, regenerate with variants, the database
untouched until "Save as branch", and the branch opening on the Conversation page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import bot
from tests.ui.lab.conftest import LAB, ROOT, all_rows, finish, lab_as


def test_a_user_neither_sees_nor_reaches_the_lab(logged_in, env, accounts):
    at = logged_in("alice")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(LAB)

    alone = AppTest.from_file(str(ROOT / LAB), default_timeout=30)  # the page on its own
    alone.session_state["authentication_status"] = True
    alone.session_state["username"] = "alice"
    alone.session_state["roles"] = ["user"]
    alone.run()
    assert [e.value for e in alone.error] == ["Access denied: The Prompt Lab is for facilitators."]
    assert not alone.button


def test_facilitator_regenerates_with_two_variants_then_saves_a_branch(
    app, login, facilitator, seed, store
):
    parent = seed("fran", turns=4, bots=(bot("Ann", temperature=0.7), bot("Bob", temperature=0.7)))
    seed("alice", topic="Alice's own run")
    at = lab_as(app, login, "fran", facilitator)
    assert not at.exception

    runs = at.selectbox(key="lab_run")
    assert [o for o in runs.options if "Alice's own run" in o] == []  # only her own runs
    runs.set_value(parent.id).run()
    at.selectbox(key="lab_turn").set_value(1).run()  # "Turn 2 · Bob: ..."
    assert at.number_input(key="lab_variants").value == 2
    for v in (0, 1):
        at.slider(key=f"lab_v{v}_temperature").set_value(1.4)
    at.run()
    before = all_rows(store)
    finish(at.button(key="lab_go").click().run())
    assert not at.exception, at.exception
    assert all_rows(store) == before  # experimenting wrote nothing

    labels = [m.value for m in at.markdown if m.value.startswith("**Variant")]
    assert labels == [
        "**Variant 1 · duet\\-demo · temperature 1\\.4**",
        "**Variant 2 · duet\\-demo · temperature 1\\.4**",
    ]
    saves = [b for b in at.button if b.key and b.key.startswith("lab_save_")]
    assert [b.key for b in saves] == ["lab_save_0", "lab_save_1"]

    at.button(key="lab_save_1").click().run()
    branches = [r for r in store.list_runs().items if r.id != parent.id and r.owner == "fran"]
    assert len(branches) == 1
    branch = store.get_run(branches[0].id)
    assert (branch.parent_id, branch.fork_turn) == (parent.id, 1)
    assert [t.content for t in branch.turns[:1]] == [parent.turns[0].content]
    assert branch.turns[1].config.temperature == 1.4
    assert at.query_params["run"] in (branch.id, [branch.id])  # on the Conversation page
    assert not at.exception


def test_a_fixture_source_and_continue(app, login, facilitator, store):
    at = lab_as(app, login, "fran", facilitator)
    at.radio(key="lab_source_kind").set_value("fixture").run()
    assert "cars-in-cities-demo.json" in at.selectbox(key="lab_fixture").options
    at.selectbox(key="lab_fixture").set_value("cars-in-cities-demo.json").run()
    at.radio(key="lab_action").set_value("continue").run()
    at.number_input(key="lab_variants").set_value(1).run()
    before = all_rows(store)
    finish(at.button(key="lab_go").click().run())
    assert not at.exception and not at.error
    assert all_rows(store) == before
    assert [m.value for m in at.markdown if m.value.startswith("**Variant")] == [
        "**Variant 1 · duet\\-demo · temperature 0\\.7**"
    ]


def test_history_shows_a_runs_branches_and_a_branch_its_parent(
    app, login, facilitator, seed, store
):
    from duet_core.lab.requests import save_branch

    parent = seed("fran", turns=4)
    variant = parent.turns[2].model_copy(update={"content": "Another take."})
    branch = save_branch(store, parent, variant, owner="fran")
    other = save_branch(store, parent, variant, owner="alice")  # not hers: not listed for her
    login(app, "fran", facilitator)
    app.switch_page("app_pages/history.py")
    app.query_params["run"] = parent.id
    app.run()
    assert not app.exception
    links = [p.proto.label for p in app.get("page_link")]
    assert any(label.startswith(f"{branch.id} · from turn 3 · 3 turns") for label in links)
    assert not any(other.id in label for label in links)
    assert "Open in the Prompt Lab" in links

    app.query_params["run"] = branch.id
    app.run()
    links = [p.proto.label for p in app.get("page_link")]
    assert f"Branch of run {parent.id} at turn 3" in links


def test_a_variant_with_a_saved_template_and_its_variables(app, login, facilitator, seed, store):
    parent = seed("fran", turns=2)
    store.prompts.save(
        "critic", [{"role": "system", "content": "You are {{ my_name }}, a {{ mood }} critic."}]
    )
    at = lab_as(app, login, "fran", facilitator)
    at.selectbox(key="lab_run").set_value(parent.id).run()
    at.selectbox(key="lab_turn").set_value(1).run()
    at.number_input(key="lab_variants").set_value(2).run()
    at.radio(key="lab_v1_mode").set_value("template").run()
    assert at.selectbox(key="lab_v1_template").value == "critic"
    at.text_area(key="lab_v1_variables").input('{"mood": "grumpy"}').run()
    finish(at.button(key="lab_go").click().run())
    assert not at.exception and not at.error

    variants = at.session_state["_lab_shown"].experiment.variants
    assert variants[0].request.prompt is None  # untouched: the bot's own (empty) persona
    assert variants[0].request.messages == variants[1].request.messages  # the same conversation
    assert variants[1].request.system == "You are Bob, a grumpy critic."
    assert variants[1].turn.prompt.label == "critic v1"
    labels = [m.value for m in at.markdown if m.value.startswith("**Variant 2")]
    assert labels == ["**Variant 2 · duet\\-demo · temperature 0\\.7 · critic v1**"]

    at.text_area(key="lab_v1_variables").input("{not json").run()
    assert [e.value for e in at.error] == [
        "Variables: not valid JSON (Expecting property name enclosed in double quotes)."
    ]
    assert at.button(key="lab_go").disabled


def test_the_history_table_puts_branches_under_their_parent(logged_in, seed, store):
    from datetime import timedelta

    from duet_core.lab.requests import save_branch
    from tests.ui.conftest import T0

    parent = seed("alice", topic="Parent run", turns=3)
    seed("alice", topic="Later run", created_at=T0 + timedelta(hours=1))
    variant = parent.turns[1].model_copy(update={"content": "Another take."})
    branch = save_branch(store, parent, variant, owner="alice")  # the newest run of all
    at = logged_in("alice", "history")
    frame = at.dataframe(key="history_table").value
    assert list(frame["topic"]) == ["Later run", "Parent run", "↳ Parent run"]
    assert list(frame["run"])[2] == branch.id
    assert list(frame["branches"]) == ["", "1 branch", f"↳ of {parent.id} at turn 2"]


def test_branch_nesting_keeps_every_row():
    from duet_core.lab.branches import nest

    ids = ["c", "b2", "a", "b1", "x"]
    parents = {"b1": "a", "b2": "a", "c": "b1", "x": "gone"}
    assert nest(ids, parents) == ["a", "b2", "b1", "c", "x"]
    assert sorted(nest(ids, {"a": "a"})) == sorted(ids)
