"""The voter's path in a real browser against the real server and worker."""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.conftest import Stack, write_pool
from tests.e2e.xss_payloads import payloads

PER_ANSWER = 10


@pytest.fixture(scope="module")
def pools(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """A plain pool (two models with distinctive names) and a pool of hostile answers."""
    plain = write_pool(
        tmp_path_factory.mktemp("plain"),
        ["Explain recursion in one sentence."],
        {
            "zephyrine-9000": ["Recursion is when a function calls itself on a smaller input."],
            "quokkanet-xl": ["A definition that refers to itself, with a base case to stop."],
        },
    )
    stack.manage("import_answers", str(plain), "--dataset", "plain")
    hostile = payloads()
    chunks = [hostile[i : i + PER_ANSWER] for i in range(0, len(hostile), PER_ANSWER)]
    prompts = [f"XSS probe {n}" for n in range(0, len(chunks), 2)]
    answers = {
        "probe-left": ["\n\n---\n\n".join(c) for c in chunks[0::2]],
        "probe-right": ["\n\n---\n\n".join(c) for c in chunks[1::2]],
    }
    answers["probe-right"] += [""] * (len(prompts) - len(answers["probe-right"]))
    stack.manage(
        "import_answers",
        str(write_pool(tmp_path_factory.mktemp("xss"), prompts, answers)),
        "--dataset",
        "xss",
    )
    return stack


def _open_battle(page, stack: Stack, prompt_text: str) -> None:  # type: ignore[no-untyped-def]
    """Start a battle on the given pool prompt (reloading until it is among the suggestions)."""
    for _ in range(60):
        page.goto(stack.url + "/")
        button = page.locator("[data-testid=pool-prompt]", has_text=prompt_text)
        if button.count():
            button.first.click()
            return
    raise AssertionError(f"prompt {prompt_text!r} never offered")


def test_a_voter_battles_votes_sees_the_reveal_and_starts_again(page, pools: Stack) -> None:
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))

    _open_battle(page, pools, "Explain recursion")
    page.wait_for_selector("[data-testid=vote-a]:not([disabled])", timeout=20_000)
    html_before_vote = page.content()

    answers = (
        page.locator("[data-testid=answer-a]").inner_text()
        + page.locator("[data-testid=answer-b]").inner_text()
    )
    assert "Recursion is when" in answers and "refers to itself" in answers
    names = pools.identity_names() & {
        "zephyrine-9000",
        "Zephyrine-9000",
        "quokkanet-xl",
        "Quokkanet-Xl",
        "Zephyrine-9000 Lab",
        "Quokkanet-Xl Lab",
    }
    assert names
    for name in names:
        assert name not in html_before_vote
        assert all(name not in frame for frame in frames)

    page.locator("[data-testid=vote-a]").click()
    reveal = page.locator("[data-testid=reveal-a]")
    reveal.wait_for(state="visible")
    revealed = reveal.inner_text() + page.locator("[data-testid=reveal-b]").inner_text()
    assert "Zephyrine" in revealed and "Quokkanet" in revealed

    page.locator("[data-testid=new-battle]").click()
    page.wait_for_selector("[data-testid=pool-prompt]")
    assert page.console_errors == []

    # The vote reached the database and a refit in the worker counted it.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = pools.query(
            "SELECT votes_counted FROM ratings_ratingsnapshot ORDER BY id DESC LIMIT 1"
        )
        if rows and rows[0][0] >= 1:
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the worker did not refit after the vote")


def test_no_hostile_answer_runs_script_in_the_page(page, pools: Stack) -> None:
    page.add_init_script("window.__xssCount = 0; window.__xss = () => { window.__xssCount += 1; };")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    probes = sorted(
        {r[0] for r in pools.query("SELECT text FROM arena_poolprompt WHERE dataset = 'xss'")}
    )
    for probe in probes:
        _open_battle(page, pools, probe)
        page.wait_for_selector("[data-testid=vote-a]:not([disabled])", timeout=20_000)
        for side in ("a", "b"):
            answer = page.locator(f"[data-testid=answer-{side}]")
            answer.hover()
            answer.click(position={"x": 5, "y": 5})
        page.keyboard.press("Tab")
        page.wait_for_timeout(200)
        assert page.evaluate("window.__xssCount") == 0, probe
        # Dangerous markup never reached the DOM as elements.
        assert (
            page.locator(
                ".answer-text script, .answer-text img, .answer-text iframe, "
                ".answer-text svg, .answer-text [onerror], .answer-text [style]"
            ).count()
            == 0
        )
        hrefs = page.eval_on_selector_all(".answer-text a", "els => els.map(e => e.href)")
        assert not [h for h in hrefs if not re.match(r"^(https?:|mailto:)", h)], hrefs
    assert dialogs == []
    assert len(payloads()) >= 100


def test_a_voter_types_a_prompt_and_two_live_models_stream(
    page, stack: Stack, local_model_server: str
) -> None:
    for slug in ("gemma-local-left", "gemma-local-right"):
        stack.manage(
            "shell",
            "-c",
            "from arena import localmodel; "
            f"localmodel.register({local_model_server!r}, slug={slug!r}, "
            f"display_name={slug.replace('-', ' ').title()!r})",
        )
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))
    page.goto(stack.url + "/")
    page.locator("[data-testid=prompt-input]").fill("Count from one to ten: one, two,")
    page.locator("[data-testid=prompt-input]").press("Enter")
    page.wait_for_selector("[data-testid=vote-a]:not([disabled])", timeout=60_000)
    assert page.locator("[data-testid=answer-a]").inner_text().strip()
    assert page.locator("[data-testid=answer-b]").inner_text().strip()
    before = page.content() + "".join(frames)
    for name in ("gemma-local-left", "gemma-local-right", "Gemma Local", "Google"):
        assert name not in before

    page.locator("[data-testid=vote-b]").click()
    page.locator("[data-testid=reveal-b]").wait_for(state="visible")
    revealed = page.locator("[data-testid=reveal-a]").inner_text()
    revealed += page.locator("[data-testid=reveal-b]").inner_text()
    assert "Gemma Local Left" in revealed and "Gemma Local Right" in revealed
    assert "tokens" in revealed
    page.locator("[data-testid=new-battle]").click()
    page.wait_for_selector("[data-testid=prompt-input]")
    assert page.console_errors == []
