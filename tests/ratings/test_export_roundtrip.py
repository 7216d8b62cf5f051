"""Exported votes re-import to the same counts: on small data, and on the 140k real votes."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.test import Client

from arena.catalog import import_catalog
from arena.importers import import_votes, import_votes_file
from arena.models import LanguageModel, Vote, VoteDomain
from ratings.selectors import leaderboard_get
from ratings.services import refit


def _census() -> dict[str, object]:
    return {
        "votes": Vote.objects.count(),
        "outcomes": Counter(Vote.objects.values_list("outcome", flat=True)),
        "excluded": Counter(Vote.objects.values_list("excluded_reason", flat=True)),
        "labels": Counter(VoteDomain.objects.values_list("domain__slug", flat=True)),
        "pairs": Counter(Vote.objects.values_list("model_a__slug", "model_b__slug")),
    }


def _export(client: Client) -> str:
    return b"".join(client.get("/export/votes.csv").streaming_content).decode()


def _roundtrip(client: Client) -> tuple[dict[str, object], dict[str, object]]:
    before = _census()
    exported = _export(client)
    VoteDomain.objects.all().delete()
    Vote.objects.all().delete()
    import_votes(io.StringIO(exported), dataset="reimport")
    return before, _census()


def test_the_export_round_trips(client: Client, complete_battle, domains) -> None:
    from arena import services

    services.vote_cast(battle=complete_battle, outcome="model_b", voter_id="voter-alice")
    import_votes(
        io.StringIO(
            "id,model_a,model_b,winner,category_tag.math_v0.1.math\n"
            "r1,alpha-7b,bravo-70b,tie,1.0\nr2,alpha-7b,alpha-7b,model_a,0.0\n"
        ),
        dataset="lmarena",
    )


@pytest.mark.shared_data
def test_the_real_votes_import_fit_the_published_top_10_and_round_trip(
    client: Client, domains, shared_data, tmp_path, capsys
) -> None:
    result = import_votes_file(shared_data / "arena-140k" / "votes.csv", dataset="lmarena")
    assert (result.created, result.excluded) == (135_634, {"self_battle": 10})
    with open(shared_data / "model_catalog.csv", newline="", encoding="utf-8-sig") as handle:
        import_catalog(handle)

    snapshot, _ = refit()
    board = leaderboard_get(domain_slug="overall", snapshot_id=snapshot.pk)
    with open(shared_data / "arena-140k" / "published_top10.csv", newline="") as handle:
        published = list(csv.DictReader(handle))
    ours = board.entries[: len(published)]
    assert [e.model for e in ours] == [p["competitor"] for p in published]
    for entry, row in zip(ours, published, strict=True):
        # Within 1 point; the ~0.3 shift is the converged 2-vote model (see data/README.md).
        assert abs(entry.rating - float(row["rating"])) < 1.0, entry.model
        assert abs(entry.rating_lower - float(row["rating_lower"])) < 1.0, entry.model
        assert abs(entry.rating_upper - float(row["rating_upper"])) < 1.0, entry.model

    # The whole published table (every model, ratings and bounds) from the export alone.
    path = tmp_path / "votes.csv"
    path.write_text(_export(client))
    call_command("reproduce", "--votes", str(path), "--snapshot", str(snapshot.pk))
    out = capsys.readouterr().out
    assert "53 models recomputed from 135624 counted votes" in out
    assert "pairs' wins, ties and both-bad counts match exactly" in out  # the matrix too
    # A tier's ranks too: its members as the snapshot recorded them, re-ranked among themselves.
    assert LanguageModel.objects.filter(open_weights=True).count() == 18
    for tier, domain, expected in (
        ("open-weights", "overall", "domain overall, tier open-weights: 18 models"),
        ("large", "coding", "domain coding, tier large: "),
    ):
        call_command(
            "reproduce", "--votes", str(path), "--snapshot", str(snapshot.pk),
            "--tier", tier, "--domain", domain,
        )  # fmt: skip
        out = capsys.readouterr().out
        assert expected in out and "every number matches within 1e-06" in out

    before, after = _roundtrip(client)
    assert after == before
