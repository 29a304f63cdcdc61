"""Who may do what over HTTP: tokens, HTTP Basic, dev mode, roles, other users' runs."""

from __future__ import annotations

import io

import pytest

from duet_core.cli.main import main
from duet_core.providers.scripted import Hold
from duet_core.store.connect import DatabaseUnavailable
from duet_core.store.tokens import ApiTokens
from tests.api.conftest import (
    PASSWORD,
    Api,
    data_events,
    read_until,
    run_config,
    served_app,
    serving,
)


def start(api: Api, user: str = "alice", turns: int = 1) -> str:
    r = api.client(user).post("/run", json=run_config(turns=turns))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_no_or_wrong_credentials_are_401_with_a_challenge(api: Api):
    for client in (
        api.client(None),
        api.client(None, Authorization="Bearer duet_not-a-real-token-at-all"),
        api.client(None, Authorization="Bearer x"),
        api.client(None, Authorization="Token abc"),
        api.client(None, Authorization="Basic !!!"),
        api.basic("alice", "wrong password"),
        api.basic("nobody", PASSWORD),
    ):
        r = client.get("/runs")
        assert r.status_code == 401, r.text
        assert "Bearer" in r.headers["www-authenticate"]
        assert "Basic" in r.headers["www-authenticate"]
        assert isinstance(r.json()["detail"], str)
    assert api.basic("alice").get("/runs").status_code == 200


def test_health_needs_no_credentials(api: Api):
    import httpx2

    r = httpx2.get(api.root + "/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "active_runs": 0}
    assert api.client(None).get("/health").json()["database"] == "ok"


def test_health_when_the_database_is_gone():
    import httpx2

    def broken():
        raise DatabaseUnavailable("Cannot open the database: connection refused")

    with serving(served_app(broken)) as root:
        r = httpx2.get(root + "/health")
        assert r.status_code == 503 and r.json()["database"] == "unreachable"
        r = httpx2.get(root + "/api/runs")  # every other path: 503 with the reason
        assert r.status_code == 503 and "connection refused" in r.json()["detail"]


def test_another_users_run_is_not_found(api: Api):
    hold = Hold()
    api.scripted.enqueue(["Alice's", hold])
    run_id = start(api, "alice", turns=3)
    bob = api.client("bob")
    for method, path, body in (
        ("GET", f"/run/{run_id}", None),
        ("GET", f"/stream/{run_id}", None),
        ("GET", f"/export/{run_id}.csv", None),
        ("PATCH", f"/run/{run_id}/bot/0", {"temperature": 1}),
        ("POST", f"/run/{run_id}/stop", None),
        ("POST", f"/run/{run_id}/pause", None),
        ("POST", f"/run/{run_id}/resume", None),
        ("POST", f"/run/{run_id}/interject", {"text": "hi"}),
    ):
        r = bob.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["detail"].startswith("No run")
    assert bob.get("/runs").json()["total"] == 0
    assert api.services.manager.get(run_id).status.live  # bob's stop did nothing

    root = api.client("root")  # an admin sees and steers everyone's runs
    assert root.get("/runs").json()["items"][0]["owner"] == "alice"
    assert root.get(f"/run/{run_id}").status_code == 200
    with root.stream("GET", f"/stream/{run_id}") as r:
        events = data_events(r.iter_lines())
        assert next(events).type == "snapshot"
        assert root.post(f"/run/{run_id}/stop").status_code == 200
        assert read_until(events, "end")[-2].data["status"] == "stopped"


def test_the_prompt_lab_is_for_facilitators_and_admins(api: Api):
    r = api.client("alice").get("/promptlab/fixtures")
    assert r.status_code == 403 and "facilitators" in r.json()["detail"]
    body = {"source": "cars-in-cities-demo", "turn": 0}
    assert api.client("bob").post("/promptlab/regenerate", json=body).status_code == 403
    assert api.client("fran").get("/promptlab/fixtures").status_code == 200
    assert api.client("root").get("/promptlab/fixtures").status_code == 200


def test_tokens_over_http(api: Api):
    alice = api.client("alice")
    r = alice.post("/tokens", json={"name": "notebook"})
    assert r.status_code == 201
    made = r.json()
    assert made["token"].startswith("duet_") and made["user"] == "alice"
    assert made["id"].startswith("t") and made["last_used_at"] is None
    fresh = api.client(None, Authorization=f"Bearer {made['token']}")
    assert fresh.get("/runs").status_code == 200
    listed = {t["id"]: t for t in alice.get("/tokens").json()}
    assert listed[made["id"]]["last_used_at"] is not None and "token" not in listed[made["id"]]
    stored = api.store.engine.connect().exec_driver_sql("SELECT token_hash FROM api_tokens")
    assert made["token"] not in {row[0] for row in stored}  # only a hash is kept

    assert api.client("bob").delete(f"/tokens/{made['id']}").status_code == 404
    assert alice.post("/tokens", json={"user": "bob"}).status_code == 403
    r = alice.delete(f"/tokens/{made['id']}")
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert fresh.get("/runs").status_code == 401
    assert alice.delete(f"/tokens/{made['id']}").status_code == 200  # again: no change

    r = api.client("root").post("/tokens", json={"user": "bob", "name": "for bob"})
    assert r.status_code == 201 and r.json()["user"] == "bob"
    assert api.client("root").post("/tokens", json={"user": "ghost"}).status_code == 404


def test_tokens_from_the_command_line(api: Api, monkeypatch, capsys):
    monkeypatch.setenv("DUET_AUTH_FILE", str(api.services.settings.auth_file))
    db = api.services.settings.database_url
    out = io.StringIO()
    assert main(["tokens", "create", "Bob", "--name", "cli", "--db", db], out=out) == 0
    secret = out.getvalue().strip()
    assert secret.startswith("duet_") and "shown this once" in capsys.readouterr().err
    bob = api.client(None, Authorization=f"Bearer {secret}")
    assert bob.get("/runs").status_code == 200
    out = io.StringIO()
    assert main(["tokens", "list", "bob", "--db", db], out=out) == 0
    token_id = out.getvalue().splitlines()[1].split()[0]
    assert token_id.startswith("t")
    assert main(["tokens", "revoke", token_id, "--db", db], out=io.StringIO()) == 0
    assert bob.get("/runs").status_code == 401
    assert main(["tokens", "create", "ghost", "--db", db], out=io.StringIO()) == 2
    assert "no account 'ghost'" in capsys.readouterr().err


@pytest.mark.parametrize("settings_overrides", [{"dev_mode": True}])
def test_dev_mode_needs_no_credentials(api: Api):
    anyone = api.client(None)
    r = anyone.post("/run", json=run_config(turns=1))
    assert r.status_code == 201
    assert anyone.get("/runs").json()["items"][0]["owner"] == "dev"
    assert anyone.get("/promptlab/fixtures").status_code == 200


def test_accounts_from_the_command_line_reach_the_api(api: Api, tmp_path, monkeypatch, capsys):
    auth = tmp_path / "auth.yaml"
    monkeypatch.setenv("DUET_AUTH_FILE", str(auth))
    monkeypatch.setenv("DUET_DATABASE_URL", api.services.settings.database_url)  # its tokens
    api.services.settings.__dict__["auth_file"] = auth  # the served API reads this file too
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert main(["accounts", "add", "Carol", "--role", "user", "--password-stdin"]) == 0
    assert "carol added (user)" in capsys.readouterr().out
    carol = api.basic("carol", "a-long-password")
    assert carol.get("/runs").status_code == 200
    assert carol.get("/promptlab/fixtures").status_code == 403
    assert main(["accounts", "role", "carol", "facilitator"]) == 0
    assert carol.get("/promptlab/fixtures").status_code == 200  # the role as it is now
    out = io.StringIO()
    assert main(["accounts", "list"], out=out) == 0
    assert "carol" in out.getvalue() and "facilitator" in out.getvalue()
    assert main(["accounts", "disable", "carol"]) == 0
    assert carol.get("/runs").status_code == 401  # disabled: refused at once
    out = io.StringIO()
    assert main(["accounts", "list"], out=out) == 0
    assert "(disabled)" in next(line for line in out.getvalue().splitlines() if "carol" in line)
    assert main(["accounts", "enable", "carol"]) == 0
    assert carol.get("/runs").status_code == 200
    _, secret = ApiTokens(api.store).create("carol", "cli")
    assert main(["accounts", "remove", "carol"]) == 0
    assert carol.get("/runs").status_code == 401
    assert ApiTokens(api.store).find(secret) is None  # its tokens revoked with it
    assert main(["accounts", "remove", "admin"]) == 2  # the last administrator stays
    assert "last administrator" in capsys.readouterr().err


def test_a_disabled_accounts_token_and_password_get_401(api: Api, tmp_path):
    """Disabled on the Admin page (another reader of the same file, as the pages hold their
    own): the API refuses its token and password at once, and takes them again when enabled.
    Removed: its tokens are revoked, so an account made again under that name does not get
    them."""
    from duet_core.accounts import AccountsFile

    auth = tmp_path / "auth.yaml"
    api.services.settings.__dict__["auth_file"] = auth  # the served API reads this file
    admin_page = AccountsFile(auth, on_create=lambda *_: None)
    admin_page.add_user("dora", PASSWORD)
    dora = api.client("dora")
    dora_basic = api.basic("dora")
    assert dora.get("/runs").status_code == 200
    assert dora_basic.get("/runs").status_code == 200

    admin_page.disable_user("dora", by="admin")
    r = dora.get("/runs")
    assert r.status_code == 401 and "not valid" in r.json()["detail"]
    assert dora_basic.get("/runs").status_code == 401

    admin_page.enable_user("dora")
    assert dora.get("/runs").status_code == 200

    admin_page.remove_user("dora", by="admin")
    assert ApiTokens(api.store).revoke_all("dora") == 1
    admin_page.add_user("dora", PASSWORD)  # a new account, same name: the old token is dead
    assert dora.get("/runs").status_code == 401
    assert dora_basic.get("/runs").status_code == 200


def test_a_token_of_someone_signed_in_through_an_identity_provider_acts_as_them(
    api: Api, auth_file
):
    """Their record in the accounts file (written by the login gate at each sign-in) gives
    the token its owner and roles; a later refusal (record gone) stops it."""
    from duet_core.accounts import AccountsFile
    from duet_core.identity import RoleMapping, identity_from_claims

    mapping = RoleMapping(facilitator_groups=("lab",))
    person = identity_from_claims(
        {"iss": "https://idp.example.org", "sub": "u-17", "name": "Jane Doe", "groups": ["lab"]},
        mapping,
    )
    assert person is not None
    accounts = AccountsFile(auth_file)
    accounts.remember_identity(person)
    try:
        jane = api.client(person.key)
        run_id = start(api, person.key)
        assert api.store.get_run(run_id).owner == person.key
        assert [r["id"] for r in jane.get("/runs").json()["items"]] == [run_id]
        assert api.client("alice").get(f"/run/{run_id}").status_code == 404
        accounts.forget_identity(person.key)
        r = jane.get("/runs")
        assert r.status_code == 401 and "account is gone" in r.json()["detail"]
    finally:
        accounts.forget_identity(person.key)


@pytest.mark.parametrize("settings_overrides", [{"local_accounts": False}])
def test_without_local_accounts_basic_is_refused_and_tokens_work(api: Api):
    r = api.basic("alice").get("/runs")
    assert r.status_code == 401
    assert "DUET_LOCAL_ACCOUNTS=0" in r.json()["detail"]
    assert api.client("alice").get("/runs").status_code == 200
