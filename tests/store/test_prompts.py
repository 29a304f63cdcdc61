"""The prompt library on SQLite and PostgreSQL: versions, no-duplicate save, history, diff."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from duet_core.errors import ConfigError
from duet_core.store.prompts import PromptNotFound
from duet_core.store.schema import prompt_versions

V1 = [
    {"role": "system", "content": "You are {{ my_name }}, a careful debater."},
    {"role": "human", "content": "Is tea better than coffee?"},
    {"role": "ai", "content": "Evidence first: {{ style }}."},
]
V2 = [{**V1[0], "content": "You are {{ my_name }}, a bold debater."}, *V1[1:]]


def count_versions(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(prompt_versions)).scalar_one()


def test_save_numbers_versions_with_author_note_and_time(store):
    v1, created = store.prompts.save("debater", V1, author="alice", note="first try")
    assert created and v1.version == 1
    assert (v1.author, v1.note) == ("alice", "first try")
    assert v1.created_at.tzinfo is not None
    v2, created = store.prompts.save("debater", V2, author="bob", note="bolder")
    assert created and v2.version == 2
    got = store.prompts.get("debater", 1)
    assert got.message_dicts() == V1 and got.author == "alice" and got.note == "first try"
    assert store.prompts.get("debater").version == 2


def test_saving_the_latest_messages_again_creates_nothing(store):
    store.prompts.save("debater", V1, note="one")
    again, created = store.prompts.save("debater", [dict(m) for m in V1], note="ignored")
    assert not created and again.version == 1 and again.note == "one"
    assert count_versions(store) == 1
    store.prompts.save("debater", V2)
    # equal to an *older* version, not the latest: that is a new version (a revert)
    back, created = store.prompts.save("debater", V1)
    assert created and back.version == 3
    assert count_versions(store) == 3


def test_a_saved_version_never_changes(store):
    store.prompts.save("debater", V1, note="one")
    store.prompts.save("debater", V2, note="two")
    assert store.prompts.get("debater", 1).message_dicts() == V1
    assert [v.version for v in store.prompts.history("debater")] == [2, 1]


def test_list_history_and_diff(store):
    store.prompts.save("zeta", V1)
    store.prompts.save("Alpha", V1, author="carol", note="a")
    store.prompts.save("Alpha", V2, author="dan", note="b")
    listed = store.prompts.list()
    assert [(s.name, s.latest_version, s.author, s.note) for s in listed] == [
        ("Alpha", 2, "dan", "b"),
        ("zeta", 1, "local", ""),
    ]
    diff = store.prompts.diff("Alpha", 1, 2)
    assert "-You are {{ my_name }}, a careful debater." in diff
    assert "+You are {{ my_name }}, a bold debater." in diff
    assert store.prompts.diff("Alpha", 2, 2) == []


def test_template_file_shape_with_messages_key(store):
    v, _ = store.prompts.save("wrapped", {"messages": V1})
    assert v.message_dicts() == V1


@pytest.mark.parametrize(
    ("messages", "needle"),
    [
        ([{"role": "system", "content": "Hi {{ name"}], "{{ name"),
        ([{"role": "system", "content": "ok"}, {"role": "ai", "content": "{{ 1x }}"}],
         "Message 2 (ai): malformed placeholder '{{ 1x }}'"),
        ([], "non-empty list"),
        ([{"role": "user", "content": "x"}], "Message 1"),
        ("just text", "non-empty list"),
    ],
)  # fmt: skip
def test_bad_templates_are_refused_with_a_message(store, messages, needle):
    with pytest.raises(ConfigError, match=None) as e:
        store.prompts.save("bad", messages)
    assert needle in str(e.value)
    assert count_versions(store) == 0


@pytest.mark.parametrize("name", ["", "has space", "-dash", "a@b", "x" * 101])
def test_bad_names_are_refused(store, name):
    message = "Give the template a name" if not name else "Template name"
    with pytest.raises(ConfigError, match=message):
        store.prompts.save(name, V1)


def test_unknown_template_or_version(store):
    with pytest.raises(PromptNotFound, match="No saved template named 'nope'"):
        store.prompts.get("nope")
    store.prompts.save("debater", V1)
    with pytest.raises(PromptNotFound, match=r"no version 7 \(latest: v1\)"):
        store.prompts.get("debater", 7)


def test_concurrent_first_saves_make_one_template(open_store):
    stores = [open_store(), open_store()]
    results: list = []
    errors: list = []
    gate = threading.Barrier(2)

    def save(i: int) -> None:
        gate.wait()
        try:
            results.append(stores[i].prompts.save("raced", V1 if i == 0 else V2))
        except Exception as e:  # pragma: no cover - shown by the assert
            errors.append(e)

    threads = [threading.Thread(target=save, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(v.version for v, _ in results) == [1, 2]
    assert [v.version for v in stores[0].prompts.history("raced")] == [2, 1]


def test_an_empty_template_name_asks_for_one():
    from duet_core.store.prompts import check_name

    for blank in ("", "   "):
        with pytest.raises(ConfigError, match=r"^Give the template a name\.$"):
            check_name(blank)
    assert check_name(" debater ") == "debater"
