from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena import services
from arena.identity import find_identity, normalise
from arena.models import Battle, LanguageModel, Organisation
from tests.conftest import ALICE

NAMES = ["Claude", "GPT-4", "通义千问", "Acme Labs", "alpha-7b"]


@pytest.mark.parametrize(
    "text",
    [
        "I am Claude, an AI assistant.",
        "As CLAUDE I cannot do that.",
        "I'm based on gpt-4.",
        "我是通义千问，由阿里云开发。",
        "我是ＣＬＡＵＤＥ。",  # full-width letters
        "Built by acme   labs.",
        "This is alpha-7b speaking.",
    ],
)
def test_it_finds_names_whatever_the_case_width_or_script(text: str) -> None:
    assert find_identity([text], NAMES)


@pytest.mark.parametrize(
    "text",
    [
        "Claudette went to the market.",  # a name inside a longer word is not the name
        "def run_command(): pass",
        "The results were good.",
        "",
    ],
)
def test_it_leaves_ordinary_text_alone(text: str) -> None:
    assert find_identity([text], NAMES) == ""


def test_catalogue_names_and_aliases_are_used_but_not_plain_words(models) -> None:
    Organisation.objects.filter(slug="acme").update(aliases="AcmeBot, 阿克米")
    LanguageModel.objects.create(slug="command", display_name="Command")
    assert find_identity(["Hi from AcmeBot"]) == "acmebot"
    assert find_identity(["我是阿克米的模型"]) == "阿克米"
    assert find_identity(["I am Bravo 70B"]) == "bravo 70b"
    assert find_identity(["Run this command in a shell"]) == ""  # a one-word name: alias only


def test_a_vote_on_a_leaking_battle_is_kept_but_not_counted(pool_prompt, client) -> None:
    pool_prompt.answers.update(text="Hello! I am Claude, made by Anthropic.")
    battle = services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
    services.battle_claim_stream(battle.pk)
    from arena.backends import Finished

    battle = services.battle_finish(
        battle=battle,
        turn=battle.turns.get(),
        answers={
            s: (services.pool_answer_for(battle, s).text, Finished("ok"), None, 0) for s in "ab"
        },
    )
    assert battle.identity_leak == "claude"

    vote = services.vote_cast(battle=battle, outcome="model_a", voter_id=ALICE)
    assert vote.excluded_reason == "identity_leak"
    assert Battle.objects.get(pk=battle.pk).vote.pk == vote.pk


def _plain_alternation(names: list[str]) -> re.Pattern[str]:
    """The obvious pattern, one branch per name (longest first): the trie must agree with it."""
    parts = []
    for name in sorted({normalise(n) for n in names}, key=len, reverse=True):
        escaped = re.escape(name).replace(r"\ ", r"[\s\-_]*")
        cjk = any("\u3040" <= ch <= "\u9fff" for ch in name)
        parts.append(escaped if cjk else rf"(?<![a-z0-9]){escaped}(?![a-z0-9])")
    return re.compile("|".join(parts))


WORDS = ["gpt", "gpt-4", "gpt-4o", "claude", "claudette", "通义", "通义千问", "acme labs", "4o"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6),
    st.lists(
        st.sampled_from([*WORDS, " ", "-", "_", "x", "我是", "。", "4", "o", "labs"]),
        max_size=12,
    ),
)
def test_the_trie_finds_what_a_plain_alternation_finds(names: list[str], parts: list[str]) -> None:
    text = "".join(parts)
    match = _plain_alternation(names).search(normalise(text))
    assert find_identity([text], names) == (match.group(0) if match else "")
