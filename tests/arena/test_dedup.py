"""Prompt de-duplication: normalised exact repeats and MinHash near-duplicates, and their cap."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from arena import dedup, services
from arena.backends import Finished
from arena.models import Battle, LanguageModel, PromptBand, PromptFingerprint, Vote

QUESTION = (
    "Explain the difference between a process and a thread in an operating system, "
    "with a short example in Python."
)
NEAR_QUESTION = QUESTION.replace("Python", "Rust")
OTHER = "Write a haiku about autumn leaves falling on a quiet pond at dusk."


def _shingles(text: str) -> set[str]:
    norm = dedup.normalise(text)
    return {norm[i : i + dedup.SHINGLE] for i in range(len(norm) - dedup.SHINGLE + 1)}


def _jaccard(a: str, b: str) -> float:
    x, y = _shingles(a), _shingles(b)
    return len(x & y) / len(x | y)


# --- The pure part ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "hello world",
        "Hello, World!",
        "  HELLO\tworld\n\n",
        "ＨＥＬＬＯ　ｗｏｒｌｄ！",  # full-width forms (NFKC)
        "Hello... world?!",
    ],
)
def test_spelling_variants_normalise_to_one_prompt(variant: str) -> None:
    assert dedup.normalise(variant) == "hello world"
    assert dedup.fingerprint(variant).hash == dedup.fingerprint("hello world").hash


def test_chinese_punctuation_is_folded_too() -> None:
    assert dedup.normalise("你好，世界！") == dedup.normalise("你好 世界")


def test_different_prompts_hash_differently() -> None:
    assert dedup.fingerprint("hello world").hash != dedup.fingerprint("hello word").hash


def test_signatures_are_stable_across_processes_and_releases() -> None:
    # Stored signatures are compared with new ones: the hash family must never drift.
    fp = dedup.fingerprint("Hello, World!")
    assert fp.hash == "b94d27b9934d3e08a52e52d7da7dabfa"
    assert fp.signature[:4].tolist() == [436984741, 885883848, 487380640, 7599251]
    assert dedup.from_bytes(dedup.to_bytes(fp.signature)).tolist() == fp.signature.tolist()


def test_the_minhash_estimate_tracks_the_true_jaccard_similarity() -> None:
    rng = np.random.default_rng(7)
    vocabulary = [f"word{i}" for i in range(400)]
    errors = []
    for _ in range(150):
        words = list(rng.choice(vocabulary, 40))
        edited = list(words)
        for j in rng.choice(40, int(rng.integers(0, 12)), replace=False):
            edited[j] = str(rng.choice(vocabulary))
        a, b = " ".join(words), " ".join(edited)
        estimate = dedup.similarity(
            dedup.fingerprint(a).signature, dedup.fingerprint(b).signature[None, :]
        )[0]
        errors.append(estimate - _jaccard(a, b))
    # 64 hashes: standard error at most 0.0625; the mean error must be near zero.
    assert abs(np.mean(errors)) < 0.02
    assert np.std(errors) < 0.07


def test_near_duplicates_share_a_band_and_strangers_do_not() -> None:
    assert _jaccard(QUESTION, NEAR_QUESTION) > 0.8
    question, near, other = (dedup.fingerprint(t) for t in (QUESTION, NEAR_QUESTION, OTHER))
    assert set(question.bands) & set(near.bands)
    assert not set(question.bands) & set(other.bands)
    assert dedup.similarity(question.signature, other.signature[None, :])[0] < 0.2


# --- Clusters in the database -------------------------------------------------------------------


def test_a_repeat_joins_the_first_prompts_cluster(db: None) -> None:
    first_hash, first_cluster = services.prompt_cluster_assign(QUESTION)
    again = services.prompt_cluster_assign(QUESTION.upper() + "!!")
    assert again == (first_hash, first_cluster)
    assert PromptFingerprint.objects.count() == 1  # one row per distinct prompt
    assert PromptBand.objects.count() == dedup.BANDS


def test_a_near_duplicate_joins_the_cluster_and_a_stranger_starts_one(db: None) -> None:
    _hash, cluster = services.prompt_cluster_assign(QUESTION)
    near_hash, near_cluster = services.prompt_cluster_assign(NEAR_QUESTION)
    other_hash, other_cluster = services.prompt_cluster_assign(OTHER)
    assert near_hash != _hash and near_cluster == cluster
    assert other_cluster == other_hash != cluster


def test_the_similarity_threshold_is_a_setting(db: None, settings) -> None:
    settings.ARENA_NEAR_DUPLICATE_JACCARD = 0.99
    _hash, cluster = services.prompt_cluster_assign(QUESTION)
    assert services.prompt_cluster_assign(NEAR_QUESTION)[1] != cluster


@pytest.fixture
def live(models: list[LanguageModel]) -> list[LanguageModel]:
    LanguageModel.objects.update(endpoint_base_url="http://127.0.0.1:9/v1")
    return models


def _voted(prompt: str, voter: str, at: datetime.datetime | None = None) -> Vote:
    """A live battle on `prompt`, answered, and the voter's vote on it (optionally back-dated)."""
    battle = services.battle_create(voter_id=voter, prompt=prompt)
    services.battle_claim_stream(battle.pk)
    battle = services.battle_finish(
        battle=battle,
        turn=battle.turns.get(),
        answers={s: (f"answer {s}", Finished("ok"), 10, 20) for s in "ab"},
    )
    vote = services.vote_cast(battle=battle, outcome="tie", voter_id=voter)
    if at is not None:
        Vote.objects.filter(pk=vote.pk).update(created_at=at)
        vote.refresh_from_db()
    return vote


def test_a_live_battle_carries_its_prompt_fingerprint(live: list) -> None:
    battle = services.battle_create(voter_id="v", prompt=QUESTION)
    assert battle.prompt_hash == dedup.fingerprint(QUESTION).hash
    assert battle.prompt_cluster == battle.prompt_hash


def test_answer_pool_battles_are_not_fingerprinted(pool_prompt) -> None:
    battle = services.battle_create(voter_id="v", pool_prompt=pool_prompt)
    assert (battle.prompt_hash, battle.prompt_cluster) == ("", "")
    assert not PromptFingerprint.objects.exists()


def test_votes_beyond_the_cap_on_one_prompt_are_kept_but_excluded(live: list, settings) -> None:
    settings.ARENA_DUPLICATE_PROMPT_MAX_VOTES = 2
    votes = [
        _voted(QUESTION, "ann"),
        _voted(QUESTION.lower(), "bob"),
        _voted(NEAR_QUESTION, "cat"),
        _voted(OTHER, "dan"),
    ]
    assert [v.excluded_reason for v in votes] == ["", "", "duplicate_prompt", ""]
    assert Vote.objects.count() == 4


def test_one_voter_repeating_a_prompt_is_capped_sooner(live: list, settings) -> None:
    settings.ARENA_DUPLICATE_PROMPT_MAX_PER_VOTER = 1
    votes = [_voted(QUESTION, "ann"), _voted(QUESTION, "ann"), _voted(QUESTION, "bob")]
    assert [v.excluded_reason for v in votes] == ["", "duplicate_prompt", ""]


def test_votes_older_than_the_window_do_not_count(live: list, settings) -> None:
    settings.ARENA_DUPLICATE_PROMPT_MAX_VOTES = 1
    settings.ARENA_DUPLICATE_PROMPT_WINDOW_DAYS = 30
    _voted(QUESTION, "ann", at=timezone.now() - datetime.timedelta(days=31))
    assert _voted(QUESTION, "bob").counted


def test_excluded_votes_do_not_use_up_a_prompts_share(live: list, settings) -> None:
    settings.ARENA_DUPLICATE_PROMPT_MAX_VOTES = 1
    first = _voted(QUESTION, "ann")
    services.votes_exclude(vote_ids=[first.pk], reason=Vote.ExcludedReason.ANOMALOUS_VOTER)
    assert _voted(QUESTION, "bob").counted


def test_the_recheck_replays_the_rule_after_a_settings_change(live: list, settings) -> None:
    votes = [_voted(QUESTION, voter) for voter in ("ann", "bob", "cat", "dan")]
    assert all(v.counted for v in votes)
    settings.ARENA_DUPLICATE_PROMPT_MAX_VOTES = 2

    dry = services.prompts_recheck(apply=False)
    assert dry.excluded == [votes[2].pk, votes[3].pk] and dry.restored == []
    assert Vote.objects.filter(excluded_reason="").count() == 4  # nothing written

    services.prompts_recheck(apply=True)
    assert list(Vote.objects.order_by("pk").values_list("excluded_reason", flat=True)) == [
        "",
        "",
        "duplicate_prompt",
        "duplicate_prompt",
    ]

    settings.ARENA_DUPLICATE_PROMPT_MAX_VOTES = 3
    again = services.prompts_recheck(apply=True)
    assert again.restored == [votes[2].pk] and again.excluded == []
    assert Vote.objects.filter(excluded_reason="").count() == 3
    assert Vote.objects.get(pk=votes[2].pk).needs_tally


def test_the_recheck_leaves_other_exclusions_alone(live: list, settings) -> None:
    votes = [_voted(QUESTION, voter) for voter in ("ann", "bob")]
    services.votes_exclude(vote_ids=[votes[0].pk], reason=Vote.ExcludedReason.OPERATOR)
    settings.ARENA_DUPLICATE_PROMPT_MAX_VOTES = 1
    result = services.prompts_recheck(apply=True)
    assert result.excluded == [] and result.restored == []
    assert Vote.objects.get(pk=votes[0].pk).excluded_reason == "operator"


def test_the_recheck_fingerprints_battles_from_before_fingerprints(live: list, settings) -> None:
    votes = [_voted(QUESTION, voter) for voter in ("ann", "bob")]
    Battle.objects.update(prompt_hash="", prompt_cluster="")
    Vote.objects.update(prompt_cluster=None)
    settings.ARENA_DUPLICATE_PROMPT_MAX_VOTES = 1

    result = services.prompts_recheck(apply=True)

    assert result.fingerprinted == 2
    assert set(Battle.objects.values_list("prompt_cluster", flat=True)) == {
        dedup.fingerprint(QUESTION).hash
    }
    assert result.excluded == [votes[1].pk]


def test_the_recheck_command_reports_and_applies(live: list, settings, capsys) -> None:
    for voter in ("ann", "bob", "cat"):
        _voted(QUESTION, voter)
    settings.ARENA_DUPLICATE_PROMPT_MAX_VOTES = 1

    call_command("recheck_duplicates")
    assert "2 votes would be excluded as duplicate_prompt" in capsys.readouterr().out
    assert Vote.objects.filter(excluded_reason="").count() == 3

    call_command("recheck_duplicates", "--apply")
    assert "2 votes excluded as duplicate_prompt" in capsys.readouterr().out
    assert Vote.objects.filter(excluded_reason="duplicate_prompt").count() == 2
