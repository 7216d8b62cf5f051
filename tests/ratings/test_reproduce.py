from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from arena.models import Vote, VoteDomain
from ratings.models import DomainFit
from ratings.services import refit
from tests.conftest import ROUND_ROBIN

PATTERN = [*ROUND_ROBIN, (0, 2, "model_a")] * 4


@pytest.fixture
def exported(client: Client, models, domains, tmp_path):  # type: ignore[no-untyped-def]
    for i, (a, b, outcome) in enumerate(PATTERN):
        vote = Vote.objects.create(model_a=models[a], model_b=models[b], outcome=outcome)
        if i % 2:
            VoteDomain.objects.create(vote=vote, domain=domains["coding"], source="import")
    Vote.objects.create(
        model_a=models[0], model_b=models[0], outcome="tie", excluded_reason="self_battle"
    )
    snapshot, _ = refit()
    # A vote after the snapshot: the export has it, the reproduction must leave it out.
    Vote.objects.create(model_a=models[2], model_b=models[0], outcome="model_a")
    path = tmp_path / "votes.csv"
    path.write_bytes(b"".join(client.get("/export/votes.csv").streaming_content))
    return snapshot, path


@pytest.mark.parametrize("domain", ["overall", "coding"])
def test_every_published_number_is_recomputed_from_the_export(exported, domain, capsys) -> None:
    snapshot, path = exported
    call_command(
        "reproduce", "--votes", str(path), "--snapshot", str(snapshot.pk), "--domain", domain
    )
    out = capsys.readouterr().out
    assert "every number matches within 1e-06" in out
    assert "pairs' wins, ties and both-bad counts match exactly" in out


def test_a_tampered_matrix_is_reported_pair_by_pair(exported, capsys) -> None:
    snapshot, path = exported
    fit = DomainFit.objects.get(snapshot=snapshot, domain__slug="coding")
    pairs = [list(p) for p in fit.pairs]
    pairs[0][4] += 1  # one more tie than the votes hold
    # Bypass the model on purpose: this is what the check exists to catch.
    DomainFit.objects.filter(pk=fit.pk).update(pairs=pairs)
    with pytest.raises(CommandError, match=r"0 difference\(s\) .*, 1 pair\(s\) of the matrix"):
        call_command(
            "reproduce", "--votes", str(path), "--snapshot", str(snapshot.pk), "--domain", "coding"
        )
    assert "DIFFERENT PAIR" in capsys.readouterr().err


def test_a_snapshot_without_pair_counts_still_reproduces_its_table(exported, capsys) -> None:
    snapshot, path = exported
    DomainFit.objects.filter(snapshot=snapshot).update(pairs=None)
    call_command("reproduce", "--votes", str(path), "--snapshot", str(snapshot.pk))
    out = capsys.readouterr().out
    assert "predates stored pair counts: matrix not checked" in out
    assert "every number matches" in out


def test_a_tampered_export_is_reported(exported) -> None:
    snapshot, path = exported
    text = path.read_text().replace(",model_a,coding,", ",model_b,coding,", 1)
    path.write_text(text)
    with pytest.raises(CommandError, match=r"difference.*pair\(s\) of the matrix different"):
        call_command(
            "reproduce", "--votes", str(path), "--snapshot", str(snapshot.pk), "--domain", "coding"
        )


def test_a_file_that_is_not_an_export_gets_a_clear_message(exported, tmp_path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CommandError, match="missing column"):
        call_command("reproduce", "--votes", str(path))
