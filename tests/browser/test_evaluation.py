"""Evaluation in a real browser: a run judged from its History page shows its score (the
judge is the fake LLM server, answering JSON through the OpenAI SDK); a blind vote in Compare
updates the Leaderboard page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn, utcnow
from duet_core.store import Store
from tests.browser import ui
from tests.browser.conftest import AppServer, dev_server
from tests.browser.fake_llm import JUDGE_SCORE, FakeLLM

pytestmark = pytest.mark.browser
JUDGED_MODEL = "gpt-4.1-mini"


def saved_run(topic: str, model: str, said: str) -> Run:
    bots = [
        BotConfig(name="Ada", provider="openai", model=model),
        BotConfig(name="Bo", provider="openai", model=JUDGED_MODEL),
    ]
    start = utcnow() - timedelta(hours=1)
    run = Run(
        owner="dev",
        config=RunConfig(topic=topic, max_turns=2, bots=bots),
        status=RunStatus.COMPLETED,
        created_at=start,
        finished_at=start + timedelta(minutes=1),
    )
    run.turns = [
        Turn(index=i, bot_index=i, bot_name=bots[i].name, config=bots[i],
             content=f"{said}, turn {i + 1}.", started_at=start, finished_at=start)
        for i in range(2)
    ]  # fmt: skip
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeLLM) -> Iterator[tuple]:
    """The app on a database holding three finished runs: one to judge, two to vote on
    (their first bot's model differs)."""
    tmp = tmp_path_factory.mktemp("evaluation")
    server = dev_server(tmp, fake_llm)
    made = (
        saved_run("Should cities ban cars?", JUDGED_MODEL, "Cars crowd the streets"),
        saved_run("Tea or coffee?", "model-left", "Tea is calmer"),
        saved_run("Tea or coffee?", "model-right", "Coffee is bolder"),
    )
    with Store(server.env["DUET_DATABASE_URL"]) as store:
        for run in made:
            store.create_run(run)
    server.start()
    yield server, made
    server.stop()


def test_a_run_judged_from_its_page_shows_its_score(
    page: Page, runs: tuple[AppServer, tuple[Run, ...]], fake_llm: FakeLLM
) -> None:
    server, (judged, *_) = runs
    page.goto(f"{server.url}/history?run={judged.id}")
    expect(page.get_by_text("Cars crowd the streets, turn 2.")).to_be_visible()
    ui.wait_idle(page)
    page.get_by_text("Judge this run").click()
    expect(ui.combobox(page, "judge_provider")).to_have_value("OpenAI")  # the run's bot's
    expect(page.locator(ui.key("judge_model")).locator("input")).to_have_value(JUDGED_MODEL)
    before = len(fake_llm.bodies("/chat/completions"))
    page.locator(ui.key("judge_go")).get_by_role("button").click()

    scores = page.locator(ui.key("run_scores"))
    expect(scores).to_contain_text("overall")
    expect(scores).to_contain_text(f"{JUDGE_SCORE}/10")
    expect(page.get_by_text("overall: 1 score stored.")).to_be_visible()
    sent = fake_llm.bodies("/chat/completions")[before:]
    assert len(sent) == 1
    assert sent[0]["response_format"]["type"] == "json_schema"  # JSON asked for
    prompt = "\n".join(str(m["content"]) for m in sent[0]["messages"])
    assert "Ada: Cars crowd the streets, turn 1." in prompt  # the transcript, by bot name
    assert JUDGED_MODEL not in prompt  # never which model spoke
    with Store(server.env["DUET_DATABASE_URL"]) as store:
        [stored] = store.evaluations.for_run(judged.id)
    assert (stored.score, stored.judge, stored.model) == (JUDGE_SCORE, "overall", JUDGED_MODEL)


def test_a_blind_vote_in_compare_updates_the_leaderboard(
    page: Page, runs: tuple[AppServer, tuple[Run, ...]]
) -> None:
    server, (_, left, right) = runs
    page.goto(f"{server.url}/leaderboard")
    expect(page.get_by_text("No votes between two different models")).to_be_visible()

    page.goto(f"{server.url}/compare?runs={left.id},{right.id}")
    ui.wait_idle(page)
    page.get_by_role("tab", name="Blind vote").click()
    side_a = page.locator(ui.key("vote_side_a"))
    expect(side_a).to_contain_text("turn 1.")
    expect(page.get_by_text("model-left")).to_have_count(0)  # blind: no model shown
    expect(page.get_by_text("model-right")).to_have_count(0)
    page.locator(ui.key("vote_a")).get_by_role("button").click()
    expect(page.get_by_text("Vote saved (A was better).")).to_be_visible()

    with Store(server.env["DUET_DATABASE_URL"]) as store:
        [vote] = store.evaluations.votes()
    assert vote.voter == "dev" and vote.winner == "a"
    said = {left.id: "Tea is calmer", right.id: "Coffee is bolder"}
    assert said[vote.run_a] in side_a.inner_text()  # what A showed is what was voted for
    expect(page.get_by_text(vote.model_a).first).to_be_visible()  # revealed after the vote

    page.goto(f"{server.url}/leaderboard")
    rows = page.locator(ui.key("board_table")).locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(vote.model_a)  # the winner first, 1 win, 0 losses
    expect(rows.first.locator("td").nth(5)).to_have_text("1")
    expect(rows.nth(1)).to_contain_text(vote.model_b)
    expect(page.get_by_text("1 vote between different models")).to_be_visible()
