from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from arena.importers import ImportFailed, import_votes
from arena.models import LanguageModel, Vote, VoteDomain

HEADER = (
    "id,model_a,model_b,winner,category_tag.math_v0.1.math,category_tag.if_v0.1.if,"
    "category_tag.criteria_v0.1.complexity,category_tag.criteria_v0.1.creativity,"
    "category_tag.criteria_v0.1.domain_knowledge,category_tag.criteria_v0.1.problem_solving,"
    "category_tag.criteria_v0.1.real_world,category_tag.criteria_v0.1.specificity,"
    "category_tag.criteria_v0.1.technical_accuracy\n"
)
ROWS = (
    "v1,alpha,bravo,model_a,1.0,0.0,1.0,1.0,1.0,1.0,1.0,1.0,0.0\n"
    "v2,bravo,charlie,tie,0.0,1.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0\n"
    "v3,alpha,alpha,both_bad,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0\n"
)


def test_it_imports_votes_models_and_domains(domains) -> None:
    result = import_votes(io.StringIO(HEADER + ROWS), dataset="lmarena")

    assert (result.rows, result.created, result.models_created) == (3, 3, 3)
    assert set(LanguageModel.objects.values_list("slug", flat=True)) == {
        "alpha",
        "bravo",
        "charlie",
    }
    labels = {
        (ext, slug)
        for ext, slug in VoteDomain.objects.values_list("vote__external_id", "domain__slug")
    }
    # v1: maths, and 6 of the 7 criteria make it a hard prompt; v2: instruction following.
    assert labels == {("v1", "math"), ("v1", "hard-prompts"), ("v2", "instruction-following")}


def test_a_self_battle_is_kept_but_not_counted(domains) -> None:
    import_votes(io.StringIO(HEADER + ROWS), dataset="lmarena")
    assert Vote.objects.get(external_id="v3").excluded_reason == "self_battle"
    assert Vote.objects.filter(excluded_reason="").count() == 2


def test_importing_twice_adds_nothing(domains) -> None:
    import_votes(io.StringIO(HEADER + ROWS), dataset="lmarena")
    again = import_votes(io.StringIO(HEADER + ROWS), dataset="lmarena")
    assert (again.created, again.skipped_existing) == (0, 3)
    assert Vote.objects.count() == 3
    assert VoteDomain.objects.count() == 3


def test_the_same_ids_in_another_data_set_are_other_votes(domains) -> None:
    import_votes(io.StringIO(HEADER + ROWS), dataset="lmarena")
    import_votes(io.StringIO(HEADER + ROWS), dataset="mirror")
    assert Vote.objects.count() == 6


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b,c\n1,2,3\n", "Missing column(s) model_a, model_b, winner"),
        ("id,model_a,model_b,winner\nx,alpha,bravo,left\n", "line 2: winner 'left' is not one of"),
        ("id,model_a,model_b,winner\nx,,bravo,tie\n", "line 2: empty model name"),
        ("id,model_a,model_b,winner\nx,<script>,bravo,tie\n", "invalid model name '<script>'"),
        ("id,model_a,model_b,winner\nx,a,b,tie\nx,a,b,tie\n", "line 3: duplicate id 'x'"),
    ],
)
def test_a_bad_file_is_refused_whole_with_the_rows_at_fault(domains, content, message) -> None:
    import_votes(io.StringIO(HEADER + ROWS), dataset="lmarena")
    with pytest.raises(ImportFailed) as excinfo:
        import_votes(io.StringIO(content + "y,alpha,bravo,tie\n"), dataset="lmarena")
    assert message in str(excinfo.value)
    assert Vote.objects.count() == 3  # nothing written, nothing lost


def test_the_command_reports_a_missing_file_clearly(domains, tmp_path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_votes", str(tmp_path / "nope.csv"))


def test_the_command_prints_a_summary(domains, tmp_path, capsys) -> None:
    path = tmp_path / "votes.csv"
    path.write_text(HEADER + ROWS)
    call_command("import_votes", str(path), "--format", "lmarena")
    out = capsys.readouterr().out
    assert "3 rows read: 3 votes imported (1 self_battle excluded)" in out


def test_a_generic_pairwise_csv_maps_its_columns_and_values(domains, tmp_path, capsys) -> None:
    path = tmp_path / "prefs.csv"
    path.write_text(
        "row,left_model,right_model,preferred,annotator\n"
        "1,alpha,bravo,left,ann-1\n2,alpha,bravo,right,ann-2\n3,bravo,alpha,same,ann-1\n"
    )
    call_command(
        "import_votes",
        str(path),
        "--format",
        "pairwise",
        "--model-a",
        "left_model",
        "--model-b",
        "right_model",
        "--winner",
        "preferred",
        "--winner-values",
        "left=model_a,right=model_b,same=tie",
        "--id",
        "row",
        "--voter",
        "annotator",
    )
    assert "3 rows read: 3 votes imported" in capsys.readouterr().out
    votes = list(Vote.objects.order_by("external_id").values_list("outcome", "voter_id", "dataset"))
    assert votes == [
        ("model_a", "ann-1", "pairwise"),
        ("model_b", "ann-2", "pairwise"),
        ("tie", "ann-1", "pairwise"),
    ]


def test_a_pairwise_value_with_no_mapping_is_a_clear_error(domains, tmp_path) -> None:
    path = tmp_path / "prefs.csv"
    path.write_text("a,b,w\nx,y,left\nx,y,maybe\n")
    with pytest.raises(CommandError, match="line 3: winner 'maybe'"):
        call_command(
            "import_votes",
            str(path),
            "--format",
            "pairwise",
            "--model-a",
            "a",
            "--model-b",
            "b",
            "--winner",
            "w",
            "--winner-values",
            "left=model_a",
        )
    with pytest.raises(CommandError, match="Bad winner mapping"):
        call_command("import_votes", str(path), "--format", "pairwise", "--winner-values", "x=y")


def test_formula_like_cells_round_trip_without_becoming_formulas(domains, client) -> None:
    cells = ['=HYPERLINK("http://evil.example","x")', "+1", "-1", "@x"]
    text = "id,model_a,model_b,winner,voter_id\n" + "".join(
        f'"{c.replace(chr(34), chr(34) * 2)}",alpha,bravo,tie,"{c.replace(chr(34), chr(34) * 2)}"\n'
        for c in cells
    )
    import_votes(io.StringIO(text), dataset="lmarena")
    assert sorted(Vote.objects.values_list("voter_id", flat=True)) == sorted(cells)

    exported = b"".join(client.get("/export/votes.csv").streaming_content).decode()
    import csv as csv_module

    rows = list(csv_module.DictReader(io.StringIO(exported)))
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value  # no formula cells
    Vote.objects.all().delete()
    import_votes(io.StringIO(exported), dataset="lmarena")
    assert sorted(Vote.objects.values_list("voter_id", flat=True)) == sorted(cells)
    assert sorted(Vote.objects.values_list("external_id", flat=True)) == sorted(cells)
