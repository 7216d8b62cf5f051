"""Complete answer-pool battles, ready to be voted on, for `bench/load.py --mode votes`.

    python bench/_prepared_battles.py <voters> <battles per voter> <seed>   (in the stack's env)

Prints JSON: one entry per voter, with the voter's signed cookie value (as the arena sets it)
and the ids of the battles opened in that voter's name. The battles are what battle_create and
battle_finish leave behind for a pool prompt (two models that answered it, random sides, the
opening turn, both stored answers, status complete, answered a few seconds ago), written with
bulk inserts so that tens of thousands are ready in seconds: the load then measures the vote
requests alone. tests/faults/test_load.py checks that a vote on such a battle is taken like a
vote on a battle streamed through the websocket.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import secrets
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

BATCH = 2_000


def prepare(voters: int, per_voter: int, seed: int) -> list[dict[str, object]]:
    from django.core import signing
    from django.db import connection, transaction
    from django.utils import timezone

    from arena import voters as voter_ids
    from arena.identity import find_identity
    from arena.models import Answer, Battle, PoolAnswer, Turn

    rng = random.Random(seed)
    answers: dict[int, list[PoolAnswer]] = {}
    for answer in PoolAnswer.objects.exclude(text="").select_related("prompt", "model"):
        answers.setdefault(answer.prompt_id, []).append(answer)
    prompts = sorted(p for p, given in answers.items() if len(given) >= 2)
    signer = signing.get_cookie_signer(salt=voter_ids.COOKIE_NAME + "arena.voter")
    answered_at = timezone.now() - datetime.timedelta(seconds=5)
    crowd = []
    battles: list[Battle] = []
    turns: list[Turn] = []
    stored: list[Answer] = []
    for _ in range(voters):
        token = secrets.token_urlsafe(24)
        mine = []
        for _ in range(per_voter):
            side_a, side_b = rng.sample(answers[rng.choice(prompts)], 2)
            battle = Battle(
                source=Battle.Source.POOL,
                status=Battle.Status.COMPLETE,
                model_a_id=side_a.model_id,
                model_b_id=side_b.model_id,
                pool_prompt_id=side_a.prompt_id,
                voter_id=voter_ids.pseudonym(token),
                identity_leak=find_identity([side_a.text, side_b.text]),
                answered_at=answered_at,
            )
            turn = Turn(battle=battle, index=0, prompt=side_a.prompt.text)
            for side, pool in (("a", side_a), ("b", side_b)):
                answer = Answer(
                    turn=turn,
                    side=side,
                    text=pool.text,
                    status=Answer.Status.OK,
                    finish_reason="stop",
                    completion_tokens=pool.completion_tokens,
                    latency_ms=pool.latency_ms,
                )
                answer.cost_usd = pool.model.cost_usd(None, pool.completion_tokens)
                stored.append(answer)
            battles.append(battle)
            turns.append(turn)
            mine.append(str(battle.pk))
        crowd.append({"cookie": signer.sign(token), "battles": mine})
    with transaction.atomic():
        Battle.objects.bulk_create(battles, batch_size=BATCH)
        for turn in turns:
            turn.battle_id = turn.battle.pk
        Turn.objects.bulk_create(turns, batch_size=BATCH)
        for answer in stored:
            answer.turn_id = answer.turn.pk
        Answer.objects.bulk_create(stored, batch_size=BATCH)
    # Fresh statistics, as autovacuum would gather them after so many new rows: without them
    # the planner takes the tables for empty and scans them whole.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE arena_battle, arena_turn, arena_answer")
    return crowd


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    voters, per_voter, seed = (int(arg) for arg in sys.argv[1:4])
    json.dump(prepare(voters, per_voter, seed), sys.stdout)


if __name__ == "__main__":
    main()
