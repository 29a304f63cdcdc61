"""The Prompt Lab on many conversations in AppTest: runs, a fixture and an experiment as
sources, one edit, a grid with the original beside each result and a summary row, nothing
written until a branch is saved, and one clear message above ten."""

from __future__ import annotations

from duet_core.batch import control
from duet_core.batch.experiment import experiment_from_data
from duet_core.models import Turn
from duet_core.store.experiments import ExperimentQueue
from tests.ui.lab.conftest import all_rows, lab_as

FIXTURE = "cars-in-cities-demo.json"


def finish_many(at):
    assert at.session_state["_lab_many_shown"].many.join(10)
    return at.run()


def many_view(app, login, facilitator):
    at = lab_as(app, login, "fran", facilitator)
    at.radio(key="lab_scope").set_value("many").run()
    assert not at.exception, at.exception
    return at


def test_two_runs_and_a_fixture_regenerated_with_one_edit(app, login, facilitator, seed, store):
    runs = [
        seed("fran", topic=f"Topic {i}", turns=3, contents=[f"a{i}", f"b{i}", f"c{i}"])
        for i in range(2)
    ]
    at = many_view(app, login, facilitator)
    at.multiselect(key="lab_many_runs").set_value([r.id for r in runs]).run()
    at.multiselect(key="lab_many_fixtures").set_value([FIXTURE]).run()
    assert at.number_input(key="lab_many_turn").value == 2
    assert "3 of 3 conversations will be regenerated" in " ".join(c.value for c in at.caption)
    at.slider(key="lab_vm_temperature").set_value(1.3).run()
    before = all_rows(store)
    assert at.button(key="lab_many_go").label == "Regenerate 3"
    finish_many(at.button(key="lab_many_go").click().run())
    assert not at.exception, at.exception
    assert all_rows(store) == before  # experimenting wrote nothing

    many = at.session_state["_lab_many_shown"].many
    assert [c.original.content for c in many.cells[:2]] == ["b0", "b1"]  # turn 2 of each
    for i in range(3):
        state = many.variant(i)
        assert state.error is None and state.turn.config.temperature == 1.3
        assert state.turn.index == 1
    # the original beside each result, and the summary
    shown = " ".join(m.value for m in at.markdown)
    assert "b0" in shown and "b1" in shown
    (table,) = at.table
    frame = table.value
    assert list(frame.index) == [c.source.label for c in many.cells] + ["All (3)"]
    assert frame.loc["All (3)", "status"] == "3 done"
    assert frame.loc["All (3)", "output tokens"] == sum(
        v.turn.output_tokens for v in many.experiment.variants
    )
    saves = [b.key for b in at.button if b.key and b.key.startswith("lab_many_save_")]
    assert saves == ["lab_many_save_0", "lab_many_save_1", "lab_many_save_2"]
    assert [e.label for e in at.expander if e.label.startswith("Diff against")] != []

    at.button(key="lab_many_save_1").click().run()
    assert not at.exception
    branches = [r for r in store.list_runs().items if r.id not in {x.id for x in runs}]
    assert len(branches) == 1
    branch = store.get_run(branches[0].id)
    assert (branch.parent_id, branch.fork_turn) == (runs[1].id, 1)
    links = [p.proto.label for p in at.get("page_link")]
    assert f"Branch {branch.id} saved: open it" in links


def test_more_than_ten_is_one_clear_message(app, login, facilitator, seed):
    runs = [seed("fran", topic=f"Topic {i}") for i in range(10)]
    at = many_view(app, login, facilitator)
    at.multiselect(key="lab_many_runs").set_value([r.id for r in runs]).run()
    assert not at.error and at.button(key="lab_many_go").label == "Regenerate 10"
    at.multiselect(key="lab_many_fixtures").set_value([FIXTURE]).run()
    assert [e.value for e in at.error] == [
        "11 conversations picked: the Lab runs up to 10 at once. Pick 1 fewer."
    ]
    assert not [b for b in at.button if b.key == "lab_many_go"]


def test_every_run_of_an_experiment_continued(app, login, facilitator, store):
    exp = experiment_from_data(
        {
            "name": "tea sweep",
            "run": {
                "topic": "t",
                "max_turns": 4,
                "bots": [{"name": "Ann", "provider": "demo"}, {"name": "Bob", "provider": "demo"}],
            },
            "topics": ["Tea?", "Coffee?"],
        }
    )
    record = control.submit(store, exp, "fran")
    for run_id in ExperimentQueue(store).run_ids(record.id):
        run = store.get_run(run_id)
        store.save_turn(
            run_id,
            Turn(
                index=0,
                bot_index=0,
                bot_name="Ann",
                content=f"On {run.config.topic}",
                config=run.config.bots[0],
            ),
        )
    at = many_view(app, login, facilitator)
    at.selectbox(key="lab_many_experiment").set_value(record.id).run()
    at.radio(key="lab_many_action").set_value("continue").run()
    before = all_rows(store)
    assert at.button(key="lab_many_go").label == "Continue 2"
    finish_many(at.button(key="lab_many_go").click().run())
    assert not at.exception and not at.error
    assert all_rows(store) == before
    many = at.session_state["_lab_many_shown"].many
    assert [v.turn.bot_name for v in many.experiment.variants] == ["Bob", "Bob"]
    assert [v.turn.index for v in many.experiment.variants] == [1, 1]
    assert list(at.table[0].value.index)[-1] == "All (2)"
