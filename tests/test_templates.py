"""Rendering prompt templates (docs/design.md, "Prompt library"): rules, no mutation, properties."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duet_core.errors import ConfigError
from duet_core.models import BotConfig, PromptMessage
from duet_core.templates import (
    PROVIDER_ROLE,
    check_placeholders,
    malformed_placeholders,
    missing_variables,
    render_messages,
    render_text,
    template_variables,
)


def test_placeholders_with_and_without_spaces():
    assert render_text("Hi {{name}}, {{ name }}, {{   name\t}}!", {"name": "Ada"}) == (
        "Hi Ada, Ada, Ada!"
    )


def test_missing_variable_renders_empty_and_is_reported():
    messages = [{"role": "system", "content": "You are {{ who }} in {{ place }}."}]
    assert render_messages(messages, {"who": "Ada"}) == [
        {"role": "system", "content": "You are Ada in ."}
    ]
    assert missing_variables(messages, {"who": "Ada"}) == ["place"]
    assert missing_variables(messages, None) == ["who", "place"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3, "3"),
        ([1, 2], "[1, 2]"),
        ({"a": 1}, '{"a": 1}'),
        (True, "true"),
        (None, "null"),
        (2.5, "2.5"),
        ("plain {{ not_a_placeholder }}", "plain {{ not_a_placeholder }}"),
        (["café"], '["café"]'),
    ],
)
def test_values_strings_as_they_are_others_as_json(value, text):
    assert render_text("{{ v }}", {"v": value}) == text


def test_a_value_is_never_rendered_again():
    # a value holding a placeholder is inserted as text, not expanded
    assert render_text("{{ a }}", {"a": "{{ b }}", "b": "no"}) == "{{ b }}"


def test_input_is_never_changed_and_new_objects_come_back():
    messages = [
        {"role": "system", "content": "Be {{ mood }}.", "extra": [1]},
        {"role": "human", "content": "{{ q }}"},
    ]
    variables = {"mood": "brief", "q": {"x": [1]}}
    before_m, before_v = copy.deepcopy(messages), copy.deepcopy(variables)
    out = render_messages(messages, variables)
    assert messages == before_m and variables == before_v
    assert out == [
        {"role": "system", "content": "Be brief.", "extra": [1]},
        {"role": "human", "content": '{"x": [1]}'},
    ]
    assert all(a is not b for a, b in zip(out, messages, strict=True))


def test_pydantic_messages_render_to_dicts():
    msgs = [PromptMessage(role="ai", content="I am {{ my_name }}")]
    assert render_messages(msgs, {"my_name": "Bo"}) == [{"role": "ai", "content": "I am Bo"}]
    assert msgs[0].content == "I am {{ my_name }}"


def test_one_role_map():
    assert PROVIDER_ROLE == {"system": "system", "human": "user", "ai": "assistant"}


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("Hello {{ name", ["{{ name"]),
        ("{{ 1x }}", ["{{ 1x }}"]),
        ("{{ a.b }} and {{ ok }}", ["{{ a.b }}"]),
        ("{{}}", ["{{}}"]),
        ("{{ a b }}", ["{{ a b }}"]),
    ],
)
def test_malformed_placeholders_are_named(text, bad):
    assert malformed_placeholders(text) == bad
    message = check_placeholders([text])
    assert all(b in message for b in bad)
    assert render_text(text, {"name": "x", "a": "y", "ok": "z"})  # rendering never refuses


def test_well_formed_text_has_no_complaint():
    assert check_placeholders(["a {{ b }} c", "} {single} }}"]) == ""
    assert template_variables([{"role": "system", "content": "{{ b }} {{ a }} {{ b }}"}]) == [
        "b",
        "a",
    ]


def test_inline_persona_with_a_malformed_placeholder_is_refused():
    with pytest.raises(ValueError, match=r"\{\{ 1x \}\}"):
        BotConfig(persona=[{"role": "system", "content": "You are {{ 1x }}"}])


# --- one persona source --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "names"),
    [
        ({"system_prompt": "Be kind.", "persona": [{"role": "system", "content": "x"}]},
         "system_prompt and persona"),
        ({"system_prompt": "Be kind.", "prompt": {"name": "debater"}},
         "system_prompt and prompt"),
        ({"persona": [{"role": "system", "content": "x"}], "prompt": {"name": "debater"}},
         "persona and prompt"),
        ({"system_prompt": "a", "persona": [{"role": "human", "content": "x"}],
          "prompt": {"name": "d"}}, "system_prompt and persona and prompt"),
    ],
)  # fmt: skip
def test_two_persona_sources_are_refused_naming_both(fields, names):
    with pytest.raises(ValueError, match=names):
        BotConfig(**fields)


def test_one_source_each_is_fine():
    assert BotConfig(system_prompt="Be kind.").persona is None
    assert BotConfig(persona=[{"role": "system", "content": "Be {{ my_name }}."}]).persona
    assert BotConfig(prompt={"name": "debater", "version": 2, "variables": {"x": 1}}).prompt
    assert BotConfig(system_prompt="   ", prompt={"name": "debater"}).prompt  # blank is none


def test_persona_needs_a_message_and_known_roles():
    with pytest.raises(ValueError):
        BotConfig(persona=[])
    with pytest.raises(ValueError):
        BotConfig(persona=[{"role": "user", "content": "x"}])


def test_builtin_variable_names_are_reserved_in_a_bot_prompt():
    with pytest.raises(ValueError, match="turn is built in"):
        BotConfig(prompt={"name": "debater", "variables": {"turn": 3}})


def test_config_error_from_a_file_names_both_sources():
    from duet_core.models import RunConfig, validated

    data = {
        "topic": "t",
        "bots": [
            {"name": "A", "system_prompt": "x", "prompt": {"name": "d"}},
            {"name": "B"},
        ],
    }
    with pytest.raises(ConfigError, match="not both system_prompt and prompt"):
        validated(RunConfig, data)


# --- properties ----------------------------------------------------------------------------

no_placeholder_text = st.text().filter(lambda s: "{{" not in s)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
any_variables = st.dictionaries(
    st.text(), json_values | st.tuples(st.integers()) | st.sets(st.integers()), max_size=6
)
any_text = st.text(alphabet=st.sampled_from(list("{} ab_1\n")) | st.characters(), max_size=80)


@settings(deadline=None)  # a loaded shared CPU must not fail a property
@given(no_placeholder_text, any_variables)
def test_text_without_placeholders_is_returned_unchanged(text, variables):
    assert render_text(text, variables) == text


@settings(deadline=None)  # a loaded shared CPU must not fail a property
@given(any_text, any_variables)
def test_rendering_never_raises(text, variables):
    out = render_messages([{"role": "human", "content": text}], variables)
    assert isinstance(out[0]["content"], str)


@settings(deadline=None)  # a loaded shared CPU must not fail a property
@given(st.lists(no_placeholder_text, min_size=1, max_size=4), any_variables, any_variables)
def test_a_placeholder_free_template_renders_the_same_with_any_variables(texts, a, b):
    roles = ["system", "human", "ai"]
    template = [{"role": roles[i % 3], "content": t} for i, t in enumerate(texts)]
    assert render_messages(template, a) == render_messages(template, b) == template


@settings(deadline=None)  # a loaded shared CPU must not fail a property
@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True), json_values)
def test_a_placeholder_renders_its_value(name, value):
    expected = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    assert render_text(f"<{{{{ {name} }}}}>", {name: value}) == f"<{expected}>"


def test_markdown_names_a_bots_template():
    from duet_core.exports.transcript import transcript_markdown
    from duet_core.models import Run, RunConfig

    bots = [BotConfig(name="Ada", prompt={"name": "debater", "version": 2}), BotConfig(name="Bo")]
    md = transcript_markdown(Run(config=RunConfig(topic="T", bots=bots)))
    assert "template debater v2" in md
