"""The Account page: a person makes an API token (shown once) and revokes it."""

from __future__ import annotations

from duet_core.services import services
from duet_core.store.tokens import ApiTokens


def test_make_and_revoke_a_token(logged_in):
    at = logged_in("alice", "account")
    assert not at.exception
    assert "alice" in at.markdown[0].value
    at.text_input(key="token_name").input("notebook")
    at.button(key="make_token_submit").click().run()
    secret = at.code[0].value
    assert secret.startswith("duet_")
    tokens = ApiTokens(services().store)
    found = tokens.find(secret)
    assert found is not None and found.username == "alice" and found.name == "notebook"
    assert list(at.dataframe[0].value["name"]) == ["notebook"]

    at.run()  # shown once: gone on the next run of the page
    assert not at.code

    at.selectbox(key="revoke_id").select(found.id)
    at.button(key="revoke_token_submit").click().run()
    assert tokens.find(secret) is None
    assert not at.exception


def test_tokens_are_ones_own(logged_in):
    _, bobs = ApiTokens(services().store).create("bob", "bob's")
    at = logged_in("alice", "account")
    assert not at.dataframe  # alice sees none of bob's tokens
    assert ApiTokens(services().store).find(bobs) is not None
